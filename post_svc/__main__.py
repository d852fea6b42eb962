import asyncio

from post_svc.server import main

asyncio.run(main())
