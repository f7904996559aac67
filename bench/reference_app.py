"""
The benchmark's outside reference (`uvicorn bench.reference_app:app`): the same upstream calls
through views_demo/upstream.py's client, opened and closed by a lifespan as asyncdemo/asgi.py does,
with no Django in the request path. It trusts its query: only the benchmark calls it.
"""

import contextlib
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

# upstream.py reads its limits and URL from Django's settings; nothing else of Django runs.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")

from views_demo import clients, upstream


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"result": {"message": "Hello from a view"}})


async def one_call(request: Request) -> JSONResponse:
    ms = int(request.query_params.get("delay", 100))
    return JSONResponse({"params": {"delay": ms}, "result": await upstream.adelay(ms=ms)})


async def fanout(request: Request) -> JSONResponse:
    n, ms = int(request.query_params.get("n", 10)), int(request.query_params.get("delay", 100))
    return JSONResponse({"params": {"n": n, "delay": ms}, "result": await upstream.afanout(n=n, ms=ms)})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    await clients.aopen_client()
    yield
    await clients.aclose_client()


routes = [Route("/hello", hello), Route("/upstream", one_call), Route("/fanout", fanout)]
app = Starlette(routes=routes, lifespan=lifespan)
