import asyncio

from graph_svc.server import main

asyncio.run(main())
