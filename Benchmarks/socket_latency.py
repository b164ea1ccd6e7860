#!/usr/bin/env python3
"""Round-trip time of the daemon's cache hit, as a client on the socket sees it.

    socket_latency.py SOCKET RESOURCE [COUNT]

Prints three numbers in microseconds per call, best of five rounds of COUNT calls each
(default 2000): `token/get` sequentially on one connection, `token/get` on a new
connection each time (what `tokenbroker token` pays), and `broker/info` on one
connection (the socket round trip with no broker work). Never prints a token.
Standard library only.
"""

import json
import socket
import sys
import time


def request(resource: str, call_id: int) -> bytes:
    params = {"resource": resource, "interactive": False, "application": "benchmark"}
    return (json.dumps({"jsonrpc": "2.0", "id": call_id, "method": "token/get", "params": params}) + "\n").encode()


def read_line(sock: socket.socket, pending: bytearray) -> bytes:
    while b"\n" not in pending:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the daemon closed the connection")
        pending += chunk
    line, _, rest = bytes(pending).partition(b"\n")
    pending[:] = rest
    return line


def check(line: bytes) -> None:
    if b'"result"' not in line:
        # The error object carries no secret (an error never holds a token).
        raise SystemExit(f"not a cache hit: {line.decode()[:300]}")


def one_connection(path: str, payloads: list[bytes]) -> float:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        pending = bytearray()
        start = time.perf_counter()
        for payload in payloads:
            sock.sendall(payload)
            check(read_line(sock, pending))
        return (time.perf_counter() - start) / len(payloads)


def new_connections(path: str, payloads: list[bytes]) -> float:
    start = time.perf_counter()
    for payload in payloads:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(path)
            sock.sendall(payload)
            check(read_line(sock, bytearray()))
    return (time.perf_counter() - start) / len(payloads)


def main() -> int:
    path, resource = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    tokens = [request(resource, i) for i in range(count)]
    infos = [(json.dumps({"jsonrpc": "2.0", "id": i, "method": "broker/info"}) + "\n").encode() for i in range(count)]
    same = min(one_connection(path, tokens) for _ in range(5))
    fresh = min(new_connections(path, tokens) for _ in range(5))
    info = min(one_connection(path, infos) for _ in range(5))
    print(f"{same * 1e6:.0f} {fresh * 1e6:.0f} {info * 1e6:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
