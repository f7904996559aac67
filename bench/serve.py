"""
Serve an ASGI app with N uvicorn worker processes, as `uvicorn --workers N` does, but with
Nagle's algorithm off on every connection.

`uvicorn --workers N` (0.54) binds the listening socket itself with `proto` left at 0;
accepted connections inherit it, and asyncio turns TCP_NODELAY on only for sockets that
say IPPROTO_TCP. Each response written in two pieces (headers, then body) then waits for
the client's delayed ACK: about 40 ms per request on Linux, whatever the app does
(uvicorn issue #3149; a single process binds through asyncio and is not affected). uvloop
sets TCP_NODELAY whatever the socket says, so `--loop uvloop` avoids it too: measured here
with one connection and a two-message hello app, 22 req/s on asyncio against 5,000 on
uvloop (same h11 parser). This launcher gives uvicorn's own supervisor the same socket,
relabelled as TCP, so every event loop is measured without the stall.

    python -m bench.serve asyncdemo.asgi:application --port 8001 --workers 2
"""

import argparse
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


def tcp_listener(config: uvicorn.Config) -> socket.socket:
    """Bind the socket as uvicorn does, then relabel it IPPROTO_TCP so asyncio sets TCP_NODELAY."""
    sock = config.bind_socket()
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    return tcp


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--http", default="auto")
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        args.app,
        host=args.host,
        port=args.port,
        workers=args.workers,
        backlog=args.backlog,
        loop=args.loop,
        http=args.http,
        access_log=False,
        log_level="warning",
    )
    Multiprocess(config, sockets=[tcp_listener(config)]).run()


if __name__ == "__main__":
    main()
