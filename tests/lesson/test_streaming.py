"""Streaming: what each twin sends, how it streams under ASGI and WSGI, and what a disconnect stops."""

import sys
import time

import httpx
import pytest
from django.urls import reverse

from tests import servers
from tests.readers import body_text
from tests.servers import free_port
from views_demo.errors import UpstreamError

STREAMS = ["sync_stream", "async_stream"]
EVENTS = ["sync_events", "async_events"]


# Under the test client (WSGI)


@pytest.mark.parametrize("name", STREAMS)
def test_stream_relays_every_upstream_chunk(client, name):
    """The stream is the upstream's drip, chunk for chunk, as plain text."""
    response = client.get(reverse(f"views_demo:{name}"), {"chunks": 4, "interval": 10})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/plain"
    assert body_text(response) == "chunk 0\nchunk 1\nchunk 2\nchunk 3\n"


@pytest.mark.parametrize("name", EVENTS)
def test_events_are_server_sent_events(client, name):
    """The event stream is text/event-stream, not cached, one numbered `tick` per event."""
    response = client.get(reverse(f"views_demo:{name}"), {"events": 3, "interval": 10})
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    events = body_text(response).split("\n\n")
    assert events[-1] == ""
    assert events[:-1] == [f'id: {n}\nevent: tick\ndata: {{"n": {n}, "of": 3}}' for n in (1, 2, 3)]


@pytest.mark.parametrize("name", EVENTS)
def test_events_come_one_interval_apart(client, name):
    """Three events 100 ms apart take at least 300 ms to read."""
    started = time.perf_counter()
    body_text(client.get(reverse(f"views_demo:{name}"), {"events": 3, "interval": 100}))
    assert time.perf_counter() - started >= 0.3


@pytest.mark.parametrize("name", STREAMS)
def test_refused_upstream_breaks_the_stream(client, settings, name):
    """The upstream is called when the body is read, after the 200: a fault ends the stream with an error."""
    settings.UPSTREAM_URL = f"http://127.0.0.1:{free_port()}"
    response = client.get(reverse(f"views_demo:{name}"), {"chunks": 2, "interval": 0})
    assert response.status_code == 200
    with pytest.raises(UpstreamError, match="upstream refused the connection"):
        body_text(response)


# Under a real uvicorn, with the upstream mounted in the same process


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with servers.uvicorn_server(tmp_path_factory.mktemp("streaming")) as (url, process):
        yield url, process


def open_drips(url: str) -> int:
    return httpx.get(f"{url}/upstream/stats", timeout=5).json()["open_drips"]


def tasks(url: str) -> int:
    return httpx.get(url + reverse("lab:tasks"), timeout=5).json()["tasks"]


def eventually(check, timeout: float) -> bool:
    """Poll `check` until it is true or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def first_chunk_after(url: str, name: str, chunks: int, interval: int) -> tuple[float, str]:
    """Return the seconds until the first body bytes arrived, and the whole body."""
    started = time.perf_counter()
    query = {"chunks": chunks, "interval": interval}
    with httpx.stream("GET", url + reverse(f"views_demo:{name}"), params=query, timeout=10) as response:
        parts = response.iter_text()
        first = next(parts)
        waited = time.perf_counter() - started
        return waited, first + "".join(parts)


@pytest.mark.server
def test_async_stream_sends_each_chunk_as_it_comes(server):
    """Under ASGI the async twin's first chunk arrives long before its last (5 chunks, 500 ms apart)."""
    url, _ = server
    waited, body = first_chunk_after(url, "async_stream", chunks=5, interval=500)
    assert body.count("chunk") == 5
    assert waited < 2.0


@pytest.mark.server
def test_sync_stream_under_asgi_arrives_all_at_once(server):
    """Under ASGI Django reads the sync twin's generator whole before sending it, and warns."""
    url, process = server
    waited, body = first_chunk_after(url, "sync_stream", chunks=5, interval=100)
    assert body.count("chunk") == 5
    assert waited >= 0.5
    assert "StreamingHttpResponse must consume synchronous iterators" in process.log()


@pytest.mark.server
def test_disconnect_cancels_the_async_stream_and_its_upstream_call(server):
    """A client leaving mid-stream cancels the async view: its upstream drip closes, no task is left."""
    url, process = server
    before = tasks(url)
    query = {"chunks": 100, "interval": 100}  # 10 s if left to run
    with httpx.stream("GET", url + reverse("views_demo:async_stream"), params=query, timeout=10) as response:
        # Keep the iterator: dropping it would close the connection at once.
        chunks = response.iter_text()
        assert next(chunks).startswith("chunk 0")
        assert open_drips(url) == 1
    # The client has gone: the view is cancelled and closes the upstream response at once.
    assert eventually(lambda: open_drips(url) == 0, timeout=5)
    assert eventually(lambda: tasks(url) == before, timeout=5)
    assert "stream closed before its end: the upstream response is closed" in process.log()


@pytest.mark.server
def test_sync_stream_under_asgi_reads_on_after_a_disconnect(server):
    """The sync twin's thread cannot be cancelled: it reads the upstream to the end of the drip."""
    url, _ = server
    query = {"chunks": 30, "interval": 100}  # 3 s
    with httpx.stream("GET", url + reverse("views_demo:sync_stream"), params=query, timeout=10):
        assert eventually(lambda: open_drips(url) == 1, timeout=5)
    time.sleep(0.5)
    assert open_drips(url) == 1, "the upstream drip should still be read by the held thread"
    assert eventually(lambda: open_drips(url) == 0, timeout=5)


@pytest.mark.server
def test_upstream_fault_under_uvicorn_cuts_the_stream(tmp_path):
    """With the upstream down, both twins start a 200 and drop it: the client sees an incomplete body."""
    broken = {"UPSTREAM_URL": f"http://127.0.0.1:{free_port()}"}
    with servers.uvicorn_server(tmp_path, env=broken) as (url, _):
        for name in STREAMS:
            with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
                httpx.get(
                    url + reverse(f"views_demo:{name}"), params={"chunks": 2, "interval": 0}, timeout=10
                )


# Under runserver (WSGI), it is the other way round


@pytest.fixture(scope="module")
def wsgi_server(tmp_path_factory):
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"UPSTREAM_URL": f"{url}/upstream", "SQLITE_PATH": str(tmp_path_factory.mktemp("wsgi") / "db")}
    args = [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"]
    with servers.running(args, probe=f"{url}/demo/sync_hello/", env=env) as process:
        yield url, process


@pytest.mark.server
def test_sync_stream_under_wsgi_streams(wsgi_server):
    """Under runserver the sync twin sends each chunk as it comes."""
    url, _ = wsgi_server
    waited, body = first_chunk_after(url, "sync_stream", chunks=5, interval=500)
    assert body.count("chunk") == 5
    assert waited < 2.0


@pytest.mark.server
def test_async_stream_under_wsgi_arrives_all_at_once(wsgi_server):
    """Under runserver Django reads the async twin's iterator whole, in a loop of its own, and warns."""
    url, process = wsgi_server
    waited, body = first_chunk_after(url, "async_stream", chunks=5, interval=100)
    assert body.count("chunk") == 5
    assert waited >= 0.5
    assert "StreamingHttpResponse must consume asynchronous iterators" in process.log()


@pytest.mark.server
def test_disconnect_under_wsgi_closes_the_sync_stream(wsgi_server):
    """A client leaving makes runserver's next write fail; it closes the generator and the upstream call."""
    url, process = wsgi_server
    query = {"chunks": 100, "interval": 100}  # 10 s if left to run
    with httpx.stream("GET", url + reverse("views_demo:sync_stream"), params=query, timeout=10) as response:
        chunks = response.iter_text()
        assert next(chunks).startswith("chunk 0")
        assert open_drips(url) == 1
    assert eventually(lambda: open_drips(url) == 0, timeout=5)
    assert "stream closed before its end: the upstream response is closed" in process.log()
