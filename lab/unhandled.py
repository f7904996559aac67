"""
Keep the event loop's unhandled errors ("Task exception was never retrieved", say) for the lab.

They otherwise reach only the server's console; /lab/unhandled/ shows them on the lost-task page.
The lab middleware starts keeping them on each loop it serves a request on (middleware.py).
"""

import asyncio
import collections
import itertools
import time
import weakref

# Newest last.
UNHANDLED_KEPT = 20
unhandled: collections.deque[dict] = collections.deque(maxlen=UNHANDLED_KEPT)
_unhandled_ids = itertools.count(1)
# The loops whose errors are kept: under WSGI there is none, and the lab says so.
watched: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def keep_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Record the loop's unhandled errors, then hand each to the handler that was there before."""
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        exception = context.get("exception")
        unhandled.append(
            {
                "id": next(_unhandled_ids),
                "at": time.time(),
                "message": context.get("message", ""),
                "exception": repr(exception) if exception is not None else None,
            }
        )
        # Still logged as before: the page shows the error, the console keeps its traceback.
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    watched.add(loop)
