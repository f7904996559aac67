"""The shared upstream clients keep no cookies: one user's upstream cookie never reaches the next call."""

import http.server
import json
import threading

import pytest
from asgiref.sync import sync_to_async

from views_demo import clients, upstream


class CookieSettingUpstream(http.server.BaseHTTPRequestHandler):
    """Sets a cookie on every answer, and notes the Cookie header each request came with."""

    seen: list[str | None]

    def do_GET(self):
        self.seen.append(self.headers.get("Cookie"))
        body = json.dumps({"delay_ms": 0}).encode()
        self.send_response(200)
        self.send_header("Set-Cookie", "session=alice; Path=/")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def cookie_upstream(settings, monkeypatch):
    """An upstream that sets cookies; the project's clients are pointed at it by name."""
    seen: list[str | None] = []
    handler = type("Handler", (CookieSettingUpstream,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # By name: aiohttp's default jar refuses cookies from a bare IP address, not from a host.
    settings.UPSTREAM_URL = f"http://localhost:{server.server_address[1]}"
    monkeypatch.setattr(clients, "_sync_client", None)
    yield seen
    clients.close_client()
    server.shutdown()
    server.server_close()


@pytest.mark.asyncio
@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_the_lifespan_client_sends_no_cookie_the_upstream_set(cookie_upstream, settings, transport):
    """calls twice through the pooled AsyncClient; neither call carries the upstream's cookie."""
    settings.UPSTREAM_TRANSPORT = transport
    await clients.aopen_client()
    try:
        assert await upstream.adelay(ms=0) == {"delay_ms": 0}
        assert await upstream.adelay(ms=0) == {"delay_ms": 0}
    finally:
        await clients.aclose_client()
    assert cookie_upstream == [None, None]


@pytest.mark.asyncio
async def test_the_per_loop_and_sync_clients_send_no_cookie_the_upstream_set(cookie_upstream):
    """calls twice through the client made for a loop with no lifespan, and twice from a sync twin."""
    assert await upstream.adelay(ms=0) == {"delay_ms": 0}
    assert await upstream.adelay(ms=0) == {"delay_ms": 0}
    assert await sync_to_async(upstream.delay)(ms=0) == {"delay_ms": 0}
    assert await sync_to_async(upstream.delay)(ms=0) == {"delay_ms": 0}
    assert cookie_upstream == [None, None, None, None]
