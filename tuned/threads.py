"""
Threads for each ASGI request's sync code, lent by a shared pool one call at a time and kept
while the request holds a database connection. A thread whose connections a request left in
a transaction, marked for rollback or errored ends instead of being lent again, as Django's
own thread per request would. Why, and what it costs: docs/tuned.md, "Lent threads".
"""

import collections
import contextlib
import functools
import itertools
import logging
import os
import queue
import threading
import weakref
from concurrent.futures import Executor, Future

from asgiref.sync import ThreadSensitiveContext
from django.db import connections

logger = logging.getLogger(__name__)


def holds_database_connection() -> bool:
    """Whether this thread has a database connection open (Django's are per thread)."""
    return any(conn.connection is not None for conn in connections.all(initialized_only=True))


def unfit_to_lend() -> bool:
    """Whether a connection of this thread is in a state the next request must not inherit."""
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block or conn.closed_in_transaction or conn.needs_rollback or conn.errors_occurred:
            return True
        # Autocommit turned off by hand: a transaction Django does not track may be open.
        if conn.connection is not None and conn.autocommit != conn.settings_dict["AUTOCOMMIT"]:
            return True
    return False


# What a thread may do once a call returns (_inspect).
CLEAN, HOLDS, UNFIT, BROKEN = "clean", "holds", "unfit", "broken"


def _inspect() -> str:
    """Classify this thread's connections: free to lend, held open, unfit, or not known."""
    try:
        if unfit_to_lend():
            return UNFIT
        return HOLDS if holds_database_connection() else CLEAN
    except BaseException:
        # Whatever the check raised, the thread's state is unknown: it must not be lent, and the
        # exception must neither end the thread abruptly nor keep the call's answer back.
        logger.exception("Checking a lent thread's database connections failed; ending the thread")
        return BROKEN


def _close_connections() -> None:
    """Roll back and close this thread's connections, whatever state they are in."""
    for conn in connections.all(initialized_only=True):
        with contextlib.suppress(Exception):
            # close() alone leaves the transaction to the driver, and on an in-memory SQLite
            # database does nothing at all; roll it back first.
            if conn.connection is not None and (conn.in_atomic_block or not conn.autocommit):
                conn.connection.rollback()
        with contextlib.suppress(Exception):
            conn.close()


class _Worker:
    """One thread, running the calls put on its queue in order."""

    def __init__(self, name: str):
        self.calls: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (call := self.calls.get()) is not None:
            call()
        # Connections belong to this thread: only it can close them, and none may outlive it.
        _close_connections()

    def stop(self) -> None:
        self.calls.put(None)


_pools: "weakref.WeakSet[ThreadPool]" = weakref.WeakSet()


def _forget_threads_after_fork() -> None:
    # A forked child has only the thread that forked: the idle workers' threads are gone, and
    # a call put on their queues would wait forever. A lock held by another thread at fork()
    # would never be released either.
    for pool in list(_pools):
        pool._forget_idle()


os.register_at_fork(after_in_child=_forget_threads_after_fork)


class ThreadPool:
    """Threads lent to requests; up to `max_idle` wait for the next one, the rest end."""

    def __init__(self, *, max_idle: int = 32, name: str = "django-sync"):
        self.max_idle = max_idle
        self.name = name
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        _pools.add(self)

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

    def take_back(self, worker: _Worker, state: str) -> None:
        """Lend `worker` again if its connections are fit, else end it; call on its own thread."""
        if state in (CLEAN, HOLDS):
            self.give_back(worker)
            return
        # Roll back and close now, before the caller hears back: the next request must not
        # wait on (or read through) what this one left behind.
        _close_connections()
        worker.stop()

    def _forget_idle(self) -> None:
        self._lock = threading.Lock()
        self._idle = []

    def close_idle(self) -> None:
        """End the threads waiting for work (at shutdown); the pool can still lend new ones."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()


class RequestExecutor(Executor):
    """One request's sync calls: one at a time, on a lent thread (see docs/tuned.md)."""

    def __init__(self, pool: ThreadPool):
        self._pool = pool
        self._lock = threading.Lock()
        self._worker: _Worker | None = None  # lent for the running call, or kept for a connection
        self._running = False
        self._waiting: collections.deque = collections.deque()  # calls made while one runs
        self._ended = False
        self._kept = CLEAN  # what the last call left on the kept thread: HOLDS or UNFIT

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
        try:
            self._pass_thread_on()
        finally:
            if outcome is not None:
                result, error = outcome
                if error is None:
                    future.set_result(result)
                else:
                    future.set_exception(error)

    def _pass_thread_on(self) -> None:
        """On the lent thread, after a call: run the next call, keep the thread, or let it go.

        The thread is passed on before the caller hears back, so its next call never finds it
        still lent to this one.
        """
        state = _inspect()
        returned = next_call = None
        with self._lock:
            worker = self._worker  # this thread's
            if state == BROKEN:
                # The request's next call, if any, goes to another thread.
                returned, self._worker = worker, None
                if self._waiting:
                    next_call, self._worker = self._waiting.popleft(), self._pool.borrow()
                else:
                    self._running = False
            elif self._waiting:
                next_call = self._waiting.popleft()
            else:
                self._running = False
                # A connection left open or in a transaction keeps the thread with its request:
                # its next call must find them where this one left them.
                if self._ended or state == CLEAN:
                    returned, self._worker = worker, None
                self._kept = state
            next_worker = self._worker
        if next_call is not None:
            next_worker.calls.put(next_call)
        if returned is not None:
            self._pool.take_back(returned, state)

    def end(self) -> None:
        """The request is over: give its thread back, now or when its last call returns."""
        with self._lock:
            self._ended = True
            if self._running:
                return
            worker, self._worker = self._worker, None
        if worker is None:
            return
        # Kept after a call that left its connection open (HOLDS) or unfit (UNFIT); nothing has
        # run on the thread since, so that verdict still holds.
        if self._kept == HOLDS:
            self._pool.give_back(worker)
        else:
            # Its connections are closed on its own thread as it ends (_Worker._run).
            worker.stop()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.end()


class LentThreadsContext(ThreadSensitiveContext):
    """asgiref's context with a request's executor, that a task outliving the request may still use.

    asgiref refuses a thread-sensitive call from a task that inherited a context with an
    executor and outlived it ("ThreadSensitiveContext has exited"). Django's own context has no
    executor: such a call starts a single-thread executor for the context, as asgiref's default
    does. This context lets it do the same, so a background task that calls sync code after its
    response runs as under Django as it ships, on a thread of its own, not the request's lent one.
    """

    async def __aexit__(self, exc, value, tb):
        await super().__aexit__(exc, value, tb)
        # asgiref's own mark, read by its sync_to_async; this context is never entered again.
        self._exited = False


def lend_threads(app, pool: ThreadPool):
    """Run each HTTP request's sync calls on threads lent by `pool`; end its idle threads at shutdown.

    asgiref takes the executor through its public API, an outer ThreadSensitiveContext, which
    Django's own inner context then uses.
    """

    async def app_with_lent_threads(scope, receive, send):
        if scope["type"] == "lifespan":
            return await app(scope, receive, _closing_idle_threads(send, pool))
        if scope["type"] != "http":
            return await app(scope, receive, send)
        executor = pool.executor()
        try:
            async with LentThreadsContext(executor=executor):
                return await app(scope, receive, send)
        finally:
            executor.end()

    return app_with_lent_threads


def _closing_idle_threads(send, pool: ThreadPool):
    """Wrap a lifespan's `send` so that the pool's idle threads end before shutdown completes."""

    async def send_after_closing(message):
        if message["type"] == "lifespan.shutdown.complete":
            pool.close_idle()
        await send(message)

    return send_after_closing
