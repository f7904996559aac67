"""
Lent threads that are unfit to lend (tuned/threads.py, docs/tuned.md "Lent threads").

A thread whose database connection is left in a transaction, closed inside one, marked for
rollback or errored ends instead of going back to the pool; a failing check ends the thread
without losing the call's answer; a forked child lends fresh threads. Then a real server:
a client that leaves mid-transaction does not break the requests after it.
"""

import multiprocessing
import sqlite3
import threading

import httpx
import psycopg
import pytest
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import DatabaseError

from tests import servers
from tuned import threads
from tuned.threads import ThreadPool


@pytest.fixture
def pool():
    pool = ThreadPool(max_idle=2, name="test-hardening")
    yield pool
    pool.close_idle()


def thread_of(executor, fn=lambda: None) -> threading.Thread:
    """Run fn through the executor; return the thread it ran on.

    The Thread object, not its ident: Linux reuses the ident of a thread that has ended.
    """
    return executor.submit(lambda: (fn(), threading.current_thread())[1]).result(timeout=5)


def in_atomic_block() -> bool:
    """Whether this thread's default connection is inside an atomic block."""
    return connections["default"].in_atomic_block


def transaction_left_open(wrapper: BaseDatabaseWrapper) -> bool:
    """Whether another thread's connection is still inside a transaction on the database."""
    raw = wrapper.connection
    if raw is None:
        return False
    if wrapper.vendor == "sqlite":
        try:
            return raw.in_transaction
        except sqlite3.ProgrammingError:  # closed
            return False
    return not raw.closed and raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE


def leave_atomic_block_open() -> None:
    """Begin a transaction, query in it and return without ending it."""
    transaction.atomic().__enter__()
    # A query that takes no table lock, so that a transaction left open cannot block the
    # test database's flush on PostgreSQL.
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def close_inside_atomic_block() -> None:
    """Begin a transaction and close the connection inside it, as request_finished does.

    (Django ignores close() on an in-memory SQLite database, the tests' default; the servers
    below use a file.)
    """
    leave_atomic_block_open()
    connections["default"].close()


def roll_back_later() -> None:
    """Begin a transaction and mark it for rollback, as catching a query's error inside it does."""
    leave_atomic_block_open()
    transaction.set_rollback(True)


def fail_a_query() -> None:
    """Run a query the database rejects, outside any transaction."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_at_all")
    except DatabaseError:
        pass
    assert connections["default"].errors_occurred


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "leave_behind",
    [leave_atomic_block_open, close_inside_atomic_block, roll_back_later, fail_a_query],
    ids=["in_atomic_block", "closed_in_transaction", "needs_rollback", "errors_occurred"],
)
def test_a_thread_with_an_unfit_connection_ends_instead_of_being_lent(pool, leave_behind):
    """Ends the thread when its request ends; the next request gets a fresh one, outside any transaction."""
    executor = pool.executor()
    wrapper = executor.submit(lambda: (leave_behind(), connections["default"])[1]).result(timeout=5)
    unfit = thread_of(executor)
    executor.end()
    assert servers.settles(unfit.is_alive, False), "the unfit thread was kept alive"
    # The thread rolled back what its request left open before it ended.
    assert not transaction_left_open(wrapper)
    other = pool.executor()
    assert thread_of(other) is not unfit
    assert not other.submit(in_atomic_block).result(timeout=5)
    other.end()


@pytest.mark.django_db(transaction=True)
def test_a_call_that_closes_its_connection_inside_a_transaction_does_not_lend_its_thread(pool):
    """Ends the thread when a call returns with its connection gone mid-transaction (PostgreSQL's pool)."""
    executor = pool.executor()

    def close_and_forget():
        close_inside_atomic_block()
        # PostgreSQL's pool drops the wrapper's connection on close, even inside an atomic
        # block; the thread then holds no connection yet is still inside the transaction.
        connections["default"].connection = None

    unfit = thread_of(executor, close_and_forget)
    other = pool.executor()
    assert thread_of(other) is not unfit
    assert not other.submit(in_atomic_block).result(timeout=5)
    executor.end(), other.end()
    assert servers.settles(unfit.is_alive, False)


def test_a_failing_check_ends_the_thread_and_still_answers(pool, monkeypatch):
    """Resolves the call's future when the connection check raises, and ends that thread cleanly."""

    def broken_check():
        raise RuntimeError("the check itself failed")

    executor = pool.executor()
    with monkeypatch.context() as patch:
        patch.setattr(threads, "holds_database_connection", broken_check)
        call = executor.submit(lambda: (threading.current_thread(), "answer"))
        broken, answer = call.result(timeout=5)
    assert answer == "answer"
    assert servers.settles(broken.is_alive, False)
    # The request and the pool go on, on another thread.
    assert thread_of(executor) is not broken
    assert thread_of(pool.executor()) is not broken
    executor.end()


def call_in_forked_child(pool: ThreadPool, answers) -> None:
    """Run one call on the pool, in the forked child; raise if it does not answer within 2 s."""
    answers.put(pool.executor().submit(lambda: "child").result(timeout=2))


# fork() in a process with threads is what this test is about; Python 3.12 warns of it.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_runs_calls_on_fresh_threads(pool):
    """Runs a forked child's first call, rather than hand it to an idle thread lost in the fork."""
    executor = pool.executor()
    thread_of(executor)
    executor.end()  # the thread now waits in the pool, idle
    context = multiprocessing.get_context("fork")
    answers = context.SimpleQueue()
    child = context.Process(target=call_in_forked_child, args=(pool, answers))
    child.start()
    child.join(5)
    if child.is_alive():
        child.kill()
        child.join()
    assert child.exitcode == 0
    assert answers.get() == "child"


# A real server


@pytest.mark.server
def test_a_client_leaving_mid_transaction_does_not_break_later_requests(tmp_path):
    """Answers 200 to the 8 plain database requests after clients leave mid-transaction."""
    env = {"DJANGO_SETTINGS_MODULE": "tests.tuned.hardening_settings"}
    with servers.uvicorn_server(tmp_path, env=env) as (url, process):
        with httpx.Client(timeout=5) as client:
            for _ in range(2):
                with pytest.raises(httpx.ReadTimeout):
                    client.get(f"{url}/test/transaction_across_await/", timeout=0.5)
            responses = [
                client.get(f"{url}/demo/{kind}_question/", params={"question": 1})
                for _ in range(4)
                for kind in ("sync", "async")
            ]
        log = process.log()
    assert [response.status_code for response in responses] == [200] * 8, log
    assert all("abandoned transaction" not in response.text for response in responses)
