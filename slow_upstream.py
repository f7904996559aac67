"""
A slow upstream service for the demo views to call, so nothing needs the internet.

Mounted in-process at /upstream by asyncdemo/asgi.py and wsgi.py, or run alone:
`python -m slow_upstream --port 8001`. Its endpoints are listed in docs/slow-upstream.md.
"""

import argparse
import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs

MAX_MS = 120_000
MAX_CHUNKS = 1_000
MAX_KB = 64 * 1024


@dataclass(frozen=True)
class Reply:
    """What to answer, written once for both the ASGI and the WSGI server."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    wait: float = 0.0  # seconds before the headers are sent
    chunks: tuple[bytes, ...] = ()  # sent one per `interval` after the body
    interval: float = 0.0
    reset: bool = False  # drop the connection after the body
    headers: list[tuple[bytes, bytes]] = field(init=False)

    def __post_init__(self):
        length = [] if self.chunks or self.reset else [(b"content-length", b"%d" % len(self.body))]
        object.__setattr__(self, "headers", [(b"content-type", self.content_type.encode()), *length])


class BadQuery(ValueError):
    pass


class Gauge:
    """How many of something are going on right now (ASGI tasks and WSGI threads alike)."""

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def open(self):
        with self._lock:
            self.count += 1
        try:
            yield
        finally:
            with self._lock:
                self.count -= 1


OPEN_DRIPS = Gauge()  # drips being sent
OPEN_WAITS = Gauge()  # ASGI requests waiting out their delay


def _int(query: dict[str, list[str]], name: str, default: int, maximum: int) -> int:
    raw = query.get(name, [str(default)])[-1]
    # Only the significant digits, and no more than the maximum has, go to int(): it raises
    # ValueError past 4,300 digits, leading zeros included.
    significant = raw.lstrip("0") or "0"
    if (
        not raw.isascii()
        or not raw.isdigit()
        or len(significant) > len(str(maximum))
        or int(significant) > maximum
    ):
        raise BadQuery(f"{name} must be a whole number from 0 to {maximum}")
    return int(significant)


def _json(status: int, data: object, wait: float = 0.0) -> Reply:
    return Reply(status=status, body=json.dumps(data).encode(), wait=wait)


def plan(path: str, query_string: str) -> Reply:
    """Return the reply for a request, without doing any waiting.

    The first path segment chooses the behaviour and the rest is ignored, so pointing
    a client's base URL at /status/503 or /invalid-json makes every call it makes fail
    that way: that is how the fault tests break the upstream.
    """
    query = parse_qs(query_string)
    try:
        match path.strip("/").split("/"):
            case ["delay"]:
                ms = _int(query, "ms", 0, MAX_MS)
                return _json(200, {"delay_ms": ms}, wait=ms / 1000)
            case ["status"]:
                return _status(_int(query, "code", 200, 599), _int(query, "ms", 0, MAX_MS))
            case ["status", code, *_]:
                return _status(_int({"code": [code]}, "code", 200, 599), _int(query, "ms", 0, MAX_MS))
            case ["drip", *_]:
                count = _int(query, "chunks", 5, MAX_CHUNKS)
                interval = _int(query, "interval_ms", 200, MAX_MS) / 1000
                chunks = tuple(b"chunk %d\n" % i for i in range(count))
                return Reply(content_type="text/plain", chunks=chunks, interval=interval)
            case ["big", *_]:
                kb = _int(query, "kb", 1024, MAX_KB)
                return _json(200, {"padding": "x" * (kb * 1024)})
            case ["stats"]:
                return _json(200, {"open_drips": OPEN_DRIPS.count, "open_waits": OPEN_WAITS.count})
            case ["invalid-json", *_]:
                return Reply(body=b"<html>not json</html>")
            case ["reset", *_]:
                return Reply(body=b'{"partial": "', wait=_int(query, "ms", 0, MAX_MS) / 1000, reset=True)
            case _:
                return _json(404, {"error": f"no upstream endpoint at {path}"})
    except BadQuery as exc:
        return _json(400, {"error": str(exc)})


def _status(code: int, ms: int) -> Reply:
    if code < 200:
        raise BadQuery("code must be from 200 to 599")
    return _json(code, {"status": code}, wait=ms / 1000)


# ASGI


async def app(scope, receive, send):
    """Serve the simulator over ASGI (HTTP and lifespan)."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    reply = plan(scope["path"], scope["query_string"].decode("latin-1"))
    if reply.wait:
        with OPEN_WAITS.open():
            if not await _unless_disconnected(asyncio.sleep(reply.wait), receive):
                return
    await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
    await send({"type": "http.response.body", "body": reply.body, "more_body": True})
    if reply.reset:
        raise ConnectionResetError("the slow upstream dropped the connection on purpose")
    if reply.chunks:
        with OPEN_DRIPS.open():
            await _unless_disconnected(_send_chunks(reply, send), receive)
    await send({"type": "http.response.body", "body": b""})


async def _send_chunks(reply: Reply, send) -> None:
    for chunk in reply.chunks:
        await asyncio.sleep(reply.interval)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _unless_disconnected(work, receive) -> bool:
    """Run `work`, stopping as soon as the client disconnects; return whether it finished."""

    async def disconnected():
        # uvicorn silently drops what is sent to a departed client, so ask: after the request
        # body, receive() returns only when the client has gone (or the response is complete).
        while (await receive())["type"] != "http.disconnect":
            pass

    sender = asyncio.create_task(work)
    watcher = asyncio.create_task(disconnected())
    try:
        await asyncio.wait([sender, watcher], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, watcher):
            task.cancel()
        await asyncio.gather(sender, watcher, return_exceptions=True)
    if not sender.cancelled() and sender.exception() is not None:
        raise sender.exception()
    return not sender.cancelled()


def mount(prefix: str, app_for_prefix, other_app):
    """Return an ASGI app sending paths under `prefix` to one app and the rest to another."""

    async def dispatch(scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == prefix or path.startswith(prefix + "/")):
            scope = {**scope, "path": path.removeprefix(prefix), "root_path": prefix}
            return await app_for_prefix(scope, receive, send)
        return await other_app(scope, receive, send)

    return dispatch


# WSGI: the same replies, waiting with time.sleep in the server's worker thread.


def wsgi_app(environ, start_response) -> Iterator[bytes]:
    """Serve the simulator over WSGI."""
    reply = plan(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
    time.sleep(reply.wait)
    headers = [(name.decode(), value.decode()) for name, value in reply.headers]
    start_response(f"{reply.status} {'OK' if reply.status < 400 else 'Error'}", headers)
    yield reply.body
    if reply.reset:
        raise ConnectionResetError("the slow upstream dropped the connection on purpose")
    if reply.chunks:
        # The server closes this generator when a write to a departed client fails.
        with OPEN_DRIPS.open():
            for chunk in reply.chunks:
                time.sleep(reply.interval)
                yield chunk


def wsgi_mount(prefix: str, app_for_prefix, other_app):
    """Return a WSGI app sending paths under `prefix` to one app and the rest to another."""

    def dispatch(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == prefix or path.startswith(prefix + "/"):
            environ = {**environ, "PATH_INFO": path.removeprefix(prefix)}
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
            return app_for_prefix(environ, start_response)
        return other_app(environ, start_response)

    return dispatch


def main(argv: list[str] | None = None) -> None:
    """Run the simulator alone under uvicorn."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    uvicorn.run(
        "slow_upstream:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        backlog=16384,
        # Like nginx's default: a client pool expires idle connections after 5 s, and a
        # server that hangs up first races with a client reusing that connection.
        timeout_keep_alive=75,
    )


if __name__ == "__main__":
    main()
