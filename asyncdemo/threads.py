"""
Threads for each ASGI request's sync code: lent for one call at a time, kept while the
request holds a database connection.

Django runs every ASGI request inside asgiref's ThreadSensitiveContext, and the first
sync_to_async call of a request starts a thread for that request alone, which lives until
the request ends and is then joined by yet another thread. Every request makes such a call
(the request_started signal's receivers, and response.close() at the end), so every async
request pays for two threads, even one that never touches the database, and 10,000
requests waiting on an upstream hold 10,000 threads.

Django keeps a request's sync code on one thread because its database connections belong
to a thread: a transaction begun in one call must be committed from the same thread. This
module keeps that promise more cheaply. Each request gets a RequestExecutor that:

- runs the request's sync calls one at a time, as asgiref requires of such an executor;
- borrows a thread from a shared ThreadPool for each call, and gives it back when the call
  returns, unless the call left a database connection open on it: the request then keeps
  that thread until it ends, so its connection and transaction never change threads.

asgiref takes it through its public API, an outer ThreadSensitiveContext(executor=...),
which Django's own inner context then uses (asgi.py). So an async view that never touches
the database borrows a thread for microseconds, twice per request, and 10,000 of them
waiting on the upstream hold a handful of threads; a sync view holds one for as long as it
runs, as under WSGI, and no other request waits for it. CONN_MAX_AGE stays 0 (settings):
with persistent connections every thread would hold one, and every request would keep its
thread to the end, which is still correct, just no cheaper than Django's own way.
"""

import collections
import functools
import itertools
import queue
import threading
from concurrent.futures import Executor, Future

from django.db import connections


def holds_database_connection() -> bool:
    """Whether this thread has a database connection open (Django's are per thread)."""
    return any(conn.connection is not None for conn in connections.all(initialized_only=True))


class _Worker:
    """One thread, running the calls put on its queue in order."""

    def __init__(self, name: str):
        self.calls: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (call := self.calls.get()) is not None:
            call()

    def stop(self) -> None:
        self.calls.put(None)


class ThreadPool:
    """Threads lent to requests; up to `max_idle` wait for the next one, the rest end."""

    def __init__(self, *, max_idle: int = 32, name: str = "django-sync"):
        self.max_idle = max_idle
        self.name = name
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    def executor(self) -> "RequestExecutor":
        """An executor for one request's sync calls."""
        return RequestExecutor(self)

    def borrow(self) -> _Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return _Worker(f"{self.name}-{next(self._numbers)}")

    def give_back(self, worker: _Worker) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(worker)
                return
        worker.stop()

    def close_idle(self) -> None:
        """End the threads waiting for work (at shutdown); the pool can still lend new ones."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()


class RequestExecutor(Executor):
    """One request's sync calls: one at a time, on a lent thread (see the module docstring)."""

    def __init__(self, pool: ThreadPool):
        self._pool = pool
        self._lock = threading.Lock()
        self._worker: _Worker | None = None  # lent for the running call, or kept for a connection
        self._running = False
        self._waiting: collections.deque = collections.deque()  # calls made while one runs
        self._ended = False

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        call = functools.partial(self._run, future, functools.partial(fn, *args, **kwargs))
        with self._lock:
            if self._ended:
                raise RuntimeError("this request has ended: it cannot run more sync code")
            if self._running:
                self._waiting.append(call)
                return future
            self._running = True
            if self._worker is None:
                self._worker = self._pool.borrow()
            worker = self._worker
        worker.calls.put(call)
        return future

    def _run(self, future: Future, call) -> None:
        """Run one call on the lent thread, then pass the thread on before answering."""
        outcome = None
        if future.set_running_or_notify_cancel():
            try:
                outcome = (call(), None)
            except BaseException as error:  # handed to the awaiting coroutine, as asgiref expects
                outcome = (None, error)
        keep = holds_database_connection()
        returned = next_call = None
        with self._lock:
            if self._waiting:
                next_call, worker = self._waiting.popleft(), self._worker
            else:
                self._running = False
                if self._ended or not keep:
                    returned, self._worker = self._worker, None
        # The thread is passed on before the caller hears back, so its next call never finds
        # it still lent to this one.
        if next_call is not None:
            worker.calls.put(next_call)
        if returned is not None:
            self._pool.give_back(returned)
        if outcome is not None:
            result, error = outcome
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

    def end(self) -> None:
        """The request is over: give its thread back, now or when its last call returns."""
        with self._lock:
            self._ended = True
            if self._running:
                return
            worker, self._worker = self._worker, None
        if worker is not None:
            self._pool.give_back(worker)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.end()
