import asyncio

from feed_svc.server import main

asyncio.run(main())
