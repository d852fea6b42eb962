import asyncio

from media_svc.server import main

asyncio.run(main())
