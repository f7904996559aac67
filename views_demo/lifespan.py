"""
The ASGI lifespan, which Django's ASGIHandler does not answer: open the async views' shared
upstream client at startup, close it and the sync twins' client at shutdown. In your asgi.py:

    application = with_lifespan(get_asgi_application())

A server that sends no lifespan (daphne, `uvicorn --lifespan off`) still works: each loop
then gets clients.aget_client()'s client without keep-alive. The first request says so, once
per process, as a warning (docs/servers.md compares the servers).
"""

import asyncio
import weakref

from asgiref.sync import sync_to_async

from views_demo import clients

NO_LIFESPAN = (
    "no ASGI lifespan: this server sent no lifespan.startup on the event loop serving requests, "
    "so the async views' upstream client keeps no idle connections (a new connection for every "
    "call) and nothing closes it at shutdown; serve with uvicorn, hypercorn or granian "
    "--interface asgi to pool them, see docs/servers.md"
)


def with_lifespan(app):
    """Wrap an ASGI app so lifespan events open and close the upstream clients."""

    started: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()  # loops the lifespan opened
    checked = False

    async def lifespan_app(scope, receive, send):
        nonlocal checked
        if scope["type"] != "lifespan":
            if not checked:
                # Once per process: the first request tells whether the lifespan ran on its loop.
                checked = True
                if asyncio.get_running_loop() not in started:
                    clients.logger.warning(NO_LIFESPAN)
            return await app(scope, receive, send)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await clients.aopen_client()
                except Exception as exc:  # e.g. a bad UPSTREAM_TRANSPORT: the server says why and stops
                    clients.logger.exception("the upstream client could not open")
                    await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                started.add(asyncio.get_running_loop())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await clients.aclose_client()
                await sync_to_async(clients.close_client)()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return lifespan_app
