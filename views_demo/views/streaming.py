"""
Streaming pairs: relay the upstream's slow drip, and push server-sent events.

Under ASGI only the async iterator streams; under WSGI only the sync one (docs/lesson.md).
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable, Iterator

from django.http import HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_safe

from views_demo import params, upstream
from views_demo.errors import json_errors

# Streaming: relay the upstream's drip as it arrives


@json_errors
@require_safe
def sync_stream(request: HttpRequest) -> StreamingHttpResponse:
    args = params.parse(request, params.CHUNKS, params.INTERVAL)
    chunks = upstream.drip(chunks=args["chunks"], interval_ms=args["interval"])
    return StreamingHttpResponse(chunks, content_type="text/plain")


@json_errors
@require_safe
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


@json_errors
@require_safe
def sync_events(request: HttpRequest) -> StreamingHttpResponse:
    args = params.parse(request, params.EVENTS, params.INTERVAL)
    return event_stream(ticks(events=args["events"], interval_ms=args["interval"]))


@json_errors
@require_safe
async def async_events(request: HttpRequest) -> StreamingHttpResponse:
    args = params.parse(request, params.EVENTS, params.INTERVAL)
    return event_stream(aticks(events=args["events"], interval_ms=args["interval"]))
