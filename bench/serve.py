"""
`uvicorn --workers N` with Nagle's algorithm off on every connection (uvicorn issue #3149).

uvicorn's supervisor binds with `proto` 0, and asyncio sets TCP_NODELAY only on sockets that say
IPPROTO_TCP: each two-part response then waits ~40 ms for the client's delayed ACK. This gives
the supervisor the same socket relabelled as TCP (docs/benchmark/README.md has the measurements).

    python -m bench.serve asyncdemo.asgi:application --port 8001 --workers 2
"""

import argparse
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backlog", type=int, default=2048)
    args = parser.parse_args(argv)
    options = {"workers": args.workers, "backlog": args.backlog, "access_log": False, "log_level": "warning"}
    config = uvicorn.Config(args.app, host=args.host, port=args.port, **options)
    sock = config.bind_socket()
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    Multiprocess(config, sockets=[tcp]).run()


if __name__ == "__main__":
    main()
