"""
The ASGI lifespan, which Django's ASGIHandler does not answer: open the async views' shared
upstream client at startup, close it and the sync twins' client at shutdown.

It also starts the lab's watchers (loop lag, the loop's unhandled errors) and ends the tuned
profile's idle threads.
"""

import asyncio

from asgiref.sync import sync_to_async

from lab import looplag, unhandled
from views_demo import clients


def with_lifespan(app, request_threads=None):
    """Wrap an ASGI app so lifespan events open and close the upstream clients."""

    async def lifespan_app(scope, receive, send):
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await clients.aopen_client()
                looplag.start()
                unhandled.keep_errors(asyncio.get_running_loop())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await looplag.stop()
                await clients.aclose_client()
                await sync_to_async(clients.close_client)()
                if request_threads is not None:
                    request_threads.close_idle()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return lifespan_app
