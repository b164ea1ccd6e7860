#!/usr/bin/env python3
"""8 busy clients' latency with and without a crowd of idle connections, side by side.

    idle_crowd.py SOCKET [--crowd 1100] [--requests 2000] [--clients 8]

Each busy client holds one connection and sends `broker/info` (answered on the daemon's
event loop, like a cache hit) and waits for each answer. First without a crowd, then
with CROWD idle connections open that never send anything (a leaking host). Prints the
busy clients' p50 and p99 in microseconds and their throughput for both, and one JSON
line. Standard library only.
"""

import argparse
import json
import resource
import socket
import threading
import time


def busy_client(path: str, requests: int, latencies: list, start: threading.Barrier) -> None:
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(path)
        reader = client.makefile("rb")
        start.wait()
        for number in range(requests):
            began = time.perf_counter_ns()
            client.sendall(b'{"jsonrpc":"2.0","id":%d,"method":"broker/info"}\n' % number)
            if not reader.readline():
                raise RuntimeError("the daemon closed a busy client's connection")
            latencies.append((time.perf_counter_ns() - began) / 1000)


def measure(path: str, clients: int, requests: int) -> dict:
    results = [[] for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    threads = [threading.Thread(target=busy_client, args=(path, requests, results[i], start)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies = sorted(value for result in results for value in result)
    if len(latencies) != clients * requests:
        raise SystemExit("idle_crowd: a busy client failed")
    return {
        "p50_us": round(latencies[len(latencies) // 2]),
        "p99_us": round(latencies[int(len(latencies) * 0.99)]),
        "per_second": round(len(latencies) / elapsed),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("socket")
    parser.add_argument("--crowd", type=int, default=1100)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    without = measure(args.socket, args.clients, args.requests)
    crowd = []
    for _ in range(args.crowd):
        idle = socket.socket(socket.AF_UNIX)
        idle.connect(args.socket)
        crowd.append(idle)
    with_crowd = measure(args.socket, args.clients, args.requests)
    for idle in crowd:
        idle.close()

    print(f"{'busy clients (' + str(args.clients) + ')':<34} {'p50 µs':>8} {'p99 µs':>8} {'req/s':>8}")
    for name, result in (("no idle crowd", without), (f"{args.crowd} idle connections", with_crowd)):
        print(f"{name:<34} {result['p50_us']:>8} {result['p99_us']:>8} {result['per_second']:>8}")
    print(json.dumps({"without_crowd": without, "with_crowd": with_crowd, "crowd": args.crowd}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
