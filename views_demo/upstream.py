"""
The calls the views make to the slow upstream: each sync helper with its async twin below it.

The clients, timeouts and error translation live in clients.py; here is only what differs
between the modes: a blocking call or an awaited one, a thread pool or a TaskGroup, a sync
iterator or an async one.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx

from views_demo import clients, conf

logger = logging.getLogger(__name__)


# One call


def delay(*, ms: int) -> dict:
    """Call the upstream once; it answers after `ms` milliseconds."""
    return clients.get_json("delay", {"ms": ms})


async def adelay(*, ms: int) -> dict:
    """See delay()."""
    return await clients.aget_json("delay", {"ms": ms})


def status(*, code: int, ms: int) -> dict:
    """Call the upstream once; it answers with status `code` after `ms` milliseconds."""
    return clients.get_json("status", {"code": code, "ms": ms})


async def astatus(*, code: int, ms: int) -> dict:
    """See status()."""
    return await clients.aget_json("status", {"code": code, "ms": ms})


# Fan-out: K calls


def fanout(*, n: int, ms: int) -> list[dict]:
    """Call the upstream `n` times, one after another: about n * ms in all."""
    return [delay(ms=ms) for _ in range(n)]


def fanout_threaded(*, n: int, ms: int) -> list[dict]:
    """Call the upstream `n` times, at most FANOUT_CONCURRENCY at once, from a pool of threads."""
    with ThreadPoolExecutor(max_workers=min(n, conf.FANOUT_CONCURRENCY), thread_name_prefix="fanout") as pool:
        calls = [pool.submit(delay, ms=ms) for _ in range(n)]
    return [call.result() for call in calls]


async def afanout(*, n: int, ms: int) -> list[dict]:
    """Call the upstream `n` times, at most FANOUT_CONCURRENCY at once, on the event loop."""
    # The semaphore caps what one request may open; the client's pool caps the process.
    slots = asyncio.Semaphore(conf.FANOUT_CONCURRENCY)

    async def call() -> dict:
        async with slots:
            return await adelay(ms=ms)

    try:
        # A TaskGroup cancels the other calls as soon as one fails, so none is left running.
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call()) for _ in range(n)]
    except ExceptionGroup as failures:
        # Answer like the sync twins, which stop at their first failure.
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]


# Streams: the upstream's slow drip, relayed chunk by chunk


def drip(*, chunks: int, interval_ms: int) -> Iterator[bytes]:
    """Yield the upstream's drip as it arrives: `chunks` chunks, one per `interval_ms`.

    The request goes out when the body is first read, not when drip() is called; closing the
    generator closes the upstream response. A fault can only cut the stream short: the 200
    has gone out, so the client sees an incomplete body, never a complete wrong one.
    """
    query = {"chunks": chunks, "interval_ms": interval_ms}
    try:
        with clients.stream("drip", query) as response:
            yield from response.iter_bytes()
    except GeneratorExit:
        # A WSGI server closes the generator when writing to a departed client fails.
        logger.info("stream closed before its end: the upstream response is closed")
        raise


async def adrip(*, chunks: int, interval_ms: int) -> AsyncIterator[bytes]:
    """See drip(). When the client disconnects, Django (5.0+) cancels the task reading this."""
    query = {"chunks": chunks, "interval_ms": interval_ms}
    try:
        async with clients.astream("drip", query) as response:
            async for chunk in response.aiter_bytes():
                yield chunk
    except (asyncio.CancelledError, GeneratorExit):
        # CancelledError arrives at the `await` inside aiter_bytes(); leaving `async with` has
        # closed the upstream response. Re-raise: a swallowed cancellation would leave Django's
        # request task running.
        logger.info("stream closed before its end: the upstream response is closed")
        raise


# Pitfall


async def adelay_with_new_client_badly(*, ms: int) -> dict:
    """adelay() the wrong way: with a client built for this one call (views/pitfalls.py says why)."""
    # Pitfall: every call builds an AsyncClient: a new SSL context (the CA bundle parsed
    # again, the bulk of the cost), a new connection pool and a new TCP connection, all
    # thrown away when the call returns. clients.aget_client() pays that once per event loop.
    async with httpx.AsyncClient(limits=clients.limits(keepalive=False)) as client:
        return await clients.aget_json("delay", {"ms": ms}, client=client)
