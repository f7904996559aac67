"""
Streaming pairs: relay the upstream's slow drip, and push server-sent events.

A StreamingHttpResponse takes a sync iterator or an async one, and the server's mode decides
how well each streams:

- under ASGI (uvicorn) an async iterator streams chunk by chunk on the event loop. When the
  client disconnects, Django (5.0+) cancels the task: asyncio.CancelledError is raised at the
  iterator's current `await`, its `finally`/`async with` blocks run (upstream.adrip closes the
  upstream response there), and nothing is left running.
- under ASGI a sync iterator does not stream at all: Django warns "StreamingHttpResponse must
  consume synchronous iterators" and reads it whole, in a thread, before sending anything. If
  the client leaves meanwhile, that thread cannot be cancelled and is held until the generator
  finishes, still reading the upstream.
- under WSGI (runserver, gunicorn) a sync iterator streams, holding a worker thread for as long
  as the stream lasts; when the client has gone, the server's next write fails and it closes the
  generator (GeneratorExit), which closes the upstream response. An async iterator is read whole
  in an event loop of its own, with the mirror-image warning.

So the async twin is the one that streams under ASGI, and the sync twin the one for WSGI.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable, Iterator

from django.http import HttpRequest, StreamingHttpResponse

from views_demo import params, upstream

# Streaming: relay the upstream's drip as it arrives


def sync_stream(request: HttpRequest) -> StreamingHttpResponse:
    args = params.parse(request, params.CHUNKS, params.INTERVAL)
    chunks = upstream.drip(chunks=args["chunks"], interval_ms=args["interval"])
    return StreamingHttpResponse(chunks, content_type="text/plain")


async def async_stream(request: HttpRequest) -> StreamingHttpResponse:
    args = params.parse(request, params.CHUNKS, params.INTERVAL)
    chunks = upstream.adrip(chunks=args["chunks"], interval_ms=args["interval"])
    return StreamingHttpResponse(chunks, content_type="text/plain")


# Streaming: server-sent events, one every interval


def event(number: int, total: int) -> str:
    """Format one server-sent event (https://html.spec.whatwg.org/#server-sent-events)."""
    return f"id: {number}\nevent: tick\ndata: {json.dumps({'n': number, 'of': total})}\n\n"


def event_stream(events: Iterable[str] | AsyncIterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # ask nginx not to buffer the stream
    return response


def ticks(*, events: int, interval_ms: int) -> Iterator[str]:
    """Yield `events` events, one every `interval_ms`."""
    for number in range(1, events + 1):
        time.sleep(interval_ms / 1000)
        yield event(number, events)


async def aticks(*, events: int, interval_ms: int) -> AsyncIterator[str]:
    """See ticks(). A disconnect cancels it at `await asyncio.sleep`: it holds nothing to close."""
    for number in range(1, events + 1):
        await asyncio.sleep(interval_ms / 1000)
        yield event(number, events)


def sync_events(request: HttpRequest) -> StreamingHttpResponse:
    args = params.parse(request, params.EVENTS, params.INTERVAL)
    return event_stream(ticks(events=args["events"], interval_ms=args["interval"]))


async def async_events(request: HttpRequest) -> StreamingHttpResponse:
    args = params.parse(request, params.EVENTS, params.INTERVAL)
    return event_stream(aticks(events=args["events"], interval_ms=args["interval"]))
