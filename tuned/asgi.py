"""Wrap an ASGI application so each HTTP request's sync code runs on threads lent by a pool."""

from asgiref.sync import ThreadSensitiveContext

from tuned.threads import ThreadPool


def lend_threads(app, pool: ThreadPool):
    """Run each HTTP request's sync calls on threads lent by `pool` (tuned/threads.py).

    asgiref takes the executor through its public API, an outer ThreadSensitiveContext, which
    Django's own inner context then uses.
    """

    async def app_with_lent_threads(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        executor = pool.executor()
        try:
            async with ThreadSensitiveContext(executor=executor):
                return await app(scope, receive, send)
        finally:
            executor.end()

    return app_with_lent_threads
