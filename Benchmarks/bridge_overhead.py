#!/usr/bin/env python3
"""What a stdio bridge adds to an MCP tool call: the MCP Python SDK client calls the same
tool through the bridge (stdio) and directly (Streamable HTTP with a bearer token), one
session each, side by side in one run.

    bridge_overhead.py --url URL --token-command "tokenbroker token URL" [--calls 500]
                       [--tool read] -- COMMAND [ARGS...]

COMMAND ARGS is the bridge (`tokenbroker proxy URL`). The token for the direct client is
the output of --token-command, run once and never printed. The two ways alternate in
rounds of 50 calls, after a warm-up of each, so drift hits both alike. Prints median and
p90 per call in microseconds, the ratio bridge ÷ direct, and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

import httpx2 as httpx  # the SDK's own HTTP client
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

ROUND = 50


async def timed_calls(session: ClientSession, tool: str, count: int, into: list[float]) -> None:
    for _ in range(count):
        began = time.perf_counter_ns()
        result = await session.call_tool(tool, {})
        into.append((time.perf_counter_ns() - began) / 1000)
        if result.is_error:
            raise SystemExit(f"bridge_overhead: {tool} failed")


async def run(args: argparse.Namespace, token: str) -> dict[str, dict[str, float]]:
    bridged: list[float] = []
    direct: list[float] = []
    server = StdioServerParameters(command=args.command[0], args=args.command[1:], env=dict(os.environ))
    headers = {"Authorization": f"Bearer {token}"}
    with open(os.devnull, "w") as quiet:
        async with stdio_client(server, errlog=quiet) as (bridge_read, bridge_write), \
                httpx.AsyncClient(headers=headers, timeout=60) as http, \
                streamable_http_client(args.url, http_client=http) as streams:
            direct_read, direct_write = streams[0], streams[1]
            async with ClientSession(bridge_read, bridge_write) as through_bridge, \
                    ClientSession(direct_read, direct_write) as straight:
                await through_bridge.initialize()
                await straight.initialize()
                await timed_calls(through_bridge, args.tool, ROUND, [])  # warm-up
                await timed_calls(straight, args.tool, ROUND, [])
                remaining = args.calls
                while remaining > 0:
                    count = min(ROUND, remaining)
                    await timed_calls(through_bridge, args.tool, count, bridged)
                    await timed_calls(straight, args.tool, count, direct)
                    remaining -= count

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {"median_us": round(statistics.median(ordered)), "p90_us": round(ordered[int(len(ordered) * 0.9)])}

    return {"bridge": summary(bridged), "direct": summary(direct)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token-command", required=True)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--tool", default="read")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()

    token = subprocess.run(shlex.split(args.token_command), check=True, capture_output=True, text=True).stdout.strip()
    results = asyncio.run(run(args, token))
    ratio = results["bridge"]["median_us"] / results["direct"]["median_us"]
    print(f"{'tools/call ' + args.tool + ', ' + str(args.calls) + ' calls each':<44} {'median µs':>10} {'p90 µs':>8}")
    print(f"{'through tokenbroker proxy (stdio)':<44} {results['bridge']['median_us']:>10} {results['bridge']['p90_us']:>8}")
    print(f"{'direct Streamable HTTP, same token':<44} {results['direct']['median_us']:>10} {results['direct']['p90_us']:>8}")
    print(f"bridge ÷ direct (median): {ratio:.2f}")
    print(json.dumps({**results, "ratio": round(ratio, 3), "calls": args.calls}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
