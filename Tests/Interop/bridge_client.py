#!/usr/bin/env python3
"""The MCP Python SDK's own client, as an MCP host runs a stdio server: for testing
`tokenbroker proxy` with the real thing.

    bridge_client.py --stderr-file PATH [--steps initialize,list,read,...]
                     [--wait-notifications SECONDS] [--step-timeout SECONDS] -- COMMAND [ARGS...]

Starts COMMAND ARGS with the SDK's `stdio_client` (its stderr to PATH) and a `ClientSession`,
and runs the steps in order. A step is `initialize`, `list` (tools/list), `ping`, or a tool
name (tools/call of that tool with no arguments). No step stops the run: each is recorded
as its result, its JSON-RPC error, or a timeout. `--wait-notifications N` then waits, up to
N seconds, for a `notifications/tools/list_changed` (on an event, not a sleep). Then it
closes the session (the command's stdin ends), waits for the command to exit (the SDK
gives it 2 s, then SIGTERMs its process group, then SIGKILLs), and prints ONE JSON line:

    {"protocolVersion": "2025-11-25" | null,
     "steps": [{"step": "read", "result": {"text": "read-ok", "isError": false}}
               | {"step": ..., "result": {"tools": ["read", ...]}}
               | {"step": ..., "error": {"code": -32603, "message": ..., "data": ...}}
               | {"step": ..., "timeout": true}],
     "notifications": [{"method": "notifications/message", "params": {...}}, ...],
     "exitCode": 0 | -15 (killed by that signal) | null (not known)}

Exit status 0 whenever it could print that line; 2 when COMMAND could not be started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import mcp.client.stdio as sdk_stdio
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError


def method_of(message: Any) -> str | None:
    """The JSON-RPC method of an SDK notification model, wherever this SDK version keeps it."""
    for candidate in (message, getattr(message, "root", None)):
        method = getattr(candidate, "method", None)
        if isinstance(method, str):
            return method
    return None


def dump(model: Any) -> Any:
    dumper = getattr(model, "model_dump", None)
    return dumper(by_alias=True, mode="json", exclude_none=True) if dumper else model


def capture_spawned(into: list[Any]) -> None:
    """`stdio_client` does not hand out the process it starts; its exit code is read from the
    process the SDK's spawn helper returns. Without the helper (another SDK layout) the exit
    code is reported as null."""
    spawn = getattr(sdk_stdio, "_create_platform_compatible_process", None)
    if spawn is None:
        return

    async def recording_spawn(*args: Any, **kwargs: Any) -> Any:
        process = await spawn(*args, **kwargs)
        into.append(process)
        return process

    sdk_stdio._create_platform_compatible_process = recording_spawn


async def run(args: argparse.Namespace) -> dict[str, Any]:
    notifications: list[dict[str, Any]] = []
    list_changed = asyncio.Event()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        notifications.append({"method": "notifications/message", "params": dump(params)})

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            notifications.append({"method": None, "exception": type(message).__name__})
            return
        method = method_of(message)
        if method == "notifications/message":
            return  # recorded by on_log
        params = getattr(message, "params", None) or getattr(getattr(message, "root", None), "params", None)
        notifications.append({"method": method, "params": dump(params)})
        if method == "notifications/tools/list_changed":
            list_changed.set()

    server = StdioServerParameters(command=args.command[0], args=args.command[1:], env=dict(os.environ))
    outcome: dict[str, Any] = {"protocolVersion": None, "steps": [], "notifications": notifications, "exitCode": None}
    spawned: list[Any] = []
    capture_spawned(spawned)
    with open(args.stderr_file, "w") as errlog:
        async with stdio_client(server, errlog=errlog) as (read, write):
            async with ClientSession(read, write, logging_callback=on_log, message_handler=on_message) as session:
                for step in args.steps:
                    outcome["steps"].append(await run_step(session, step, args.step_timeout, outcome))
                if args.wait_notifications:
                    try:
                        await asyncio.wait_for(list_changed.wait(), args.wait_notifications)
                    except asyncio.TimeoutError:
                        pass
    # stdio_client has closed stdin and waited for (or ended) the process by now.
    if spawned:
        outcome["exitCode"] = spawned[0].returncode
    return outcome


async def run_step(session: ClientSession, step: str, timeout: float, outcome: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {"step": step}
    try:
        if step == "initialize":
            result = await asyncio.wait_for(session.initialize(), timeout)
            outcome["protocolVersion"] = result.protocol_version
            record["result"] = {"protocolVersion": result.protocol_version}
        elif step == "list":
            result = await asyncio.wait_for(session.list_tools(), timeout)
            record["result"] = {"tools": [tool.name for tool in result.tools]}
        elif step == "ping":
            await asyncio.wait_for(session.send_ping(), timeout)
            record["result"] = {}
        else:
            result = await asyncio.wait_for(session.call_tool(step, {}), timeout)
            text = "".join(getattr(block, "text", "") for block in result.content)
            record["result"] = {"text": text, "isError": bool(result.is_error)}
    except asyncio.TimeoutError:
        record["timeout"] = True
    except MCPError as error:
        record["error"] = {"code": error.error.code, "message": error.error.message, "data": error.error.data}
    except Exception as error:  # anything else the SDK raises: recorded, never fatal
        record["exception"] = f"{type(error).__name__}: {error}"
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stderr-file", required=True)
    parser.add_argument("--steps", type=lambda text: [s for s in text.split(",") if s], default=["initialize"])
    parser.add_argument("--wait-notifications", type=float, default=0)
    parser.add_argument("--step-timeout", type=float, default=60)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()

    try:
        outcome = asyncio.run(run(args))
    except OSError as error:  # COMMAND (or the --stderr-file) could not be opened: no line to print
        print(f"bridge_client: {error}", file=sys.stderr)
        return 2
    print(json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
