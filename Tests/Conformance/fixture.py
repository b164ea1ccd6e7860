#!/usr/bin/env python3
"""Conformance fixture: one scenario of the MCP client-auth conformance suite, on loopback.

    fixture.py --list
        prints every (scenario, spec version) run as JSON and exits.

    fixture.py SCENARIO [--spec-version V] [--results DIR] [--command CMD] [--timeout S]
        starts the scenario's fake authorization server(s) and MCP server and prints one
        JSON line on stdout (the handshake):
          {"scenario", "specVersion", "serverUrl", "allowClientError", "context", "daemon"}
        `daemon` says how tokenbrokerd must be configured for the scenario
        (`preregistered` clients, `metadataDocumentClientID`).

        With --command, runs the client like the official runner does (the command split on
        spaces, the server URL appended, MCP_CONFORMANCE_SCENARIO, _PROTOCOL_VERSION and
        _CONTEXT in its environment) and prints the verdict. Without it, waits for one JSON
        line on stdin:
          {"run": {"socket": PATH[, "command": [ARGV...]][, "timeout": S]}}
              runs the client (default: driver.py next to this file, with
              TOKENBROKER_SOCKET=PATH), then prints the verdict;
          {"finish": {"exitCode": N, "timedOut": BOOL[, "stdout": TEXT]}}
              the client was run elsewhere: just judge.
        The verdict is one JSON line: {"scenario", "specVersion", "result": "PASS"|"FAIL",
        "checks": [{"id", "status", "description"}], "failures": [...], "driver": {...}}.
        With --results DIR it is also written to DIR/<scenario>@<version>.json.

Standard library only (see fakes.py for why). No sleeps: the handshake is printed once the
servers listen, and the client's end is awaited, with the suite's 30 s timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakes import FAILURE, WARNING  # noqa: E402
from scenarios import BY_NAME, Run, dumps, fixture_errors, runs, wire_check  # noqa: E402

HERE = Path(__file__).resolve().parent


def run_client(command: list[str], run: Run, scenario: Any, socket_path: str | None, timeout: float) -> dict[str, Any]:
    env = dict(os.environ)
    env["MCP_CONFORMANCE_SCENARIO"] = scenario.name
    env["MCP_CONFORMANCE_PROTOCOL_VERSION"] = run.spec_version
    context = scenario.context(run)
    if context is not None:
        env["MCP_CONFORMANCE_CONTEXT"] = json.dumps({"name": scenario.name, **context})
    if socket_path:
        env["TOKENBROKER_SOCKET"] = socket_path
    try:
        completed = subprocess.run(
            command + [run.server_url], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
        return {"exitCode": completed.returncode, "timedOut": False, "stdout": completed.stdout, "stderr": completed.stderr}
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout.decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        err = expired.stderr.decode() if isinstance(expired.stderr, bytes) else (expired.stderr or "")
        return {"exitCode": -1, "timedOut": True, "stdout": out, "stderr": err}


def judge(run: Run, scenario: Any, outcome: dict[str, Any]) -> dict[str, Any]:
    for line in (outcome.get("stdout") or "").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and "event" in event:
                run.driver_events.append(event)
    run.driver_exit = outcome.get("exitCode")
    run.timed_out = bool(outcome.get("timedOut"))
    scenario.finish(run)
    wire_check(run)
    fixture_errors(run)
    checks = run.checks.items()
    failures = sorted({c["id"] for c in checks if c["status"] in (FAILURE, WARNING)})
    problems = []
    if run.timed_out:
        problems.append("client timed out")
    if run.driver_exit not in (0, None) and not scenario.allow_client_error:
        problems.append(f"client exited with {run.driver_exit}")
    return {
        "scenario": scenario.name,
        "specVersion": run.spec_version,
        "description": scenario.description,
        "result": "PASS" if not failures and not problems else "FAIL",
        "checks": checks,
        "failures": failures + problems,
        "allowClientError": scenario.allow_client_error,
        "driver": {
            "exitCode": run.driver_exit,
            "timedOut": run.timed_out,
            "events": run.driver_events,
            # The driver never writes a secret; its stderr explains a failure.
            "stderr": (outcome.get("stderr") or "")[-4000:],
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", nargs="?")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--spec-version", default=None)
    parser.add_argument("--results", default=None)
    parser.add_argument("--command", default=None, help="client command, run like the official runner")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    if args.list:
        print(json.dumps([{"scenario": name, "specVersion": version} for name, version in runs()]))
        return 0
    scenario = BY_NAME.get(args.scenario or "")
    if scenario is None:
        parser.error(f"unknown scenario {args.scenario!r}; see --list")
    spec_version = args.spec_version or scenario.versions[0]
    if spec_version not in scenario.versions:
        parser.error(f"{scenario.name} is not run at {spec_version} (runs at {', '.join(scenario.versions)})")

    run = Run(spec_version)
    scenario.setup(run)
    run.start()
    try:
        handshake = {
            "scenario": scenario.name,
            "specVersion": spec_version,
            "serverUrl": run.server_url,
            "allowClientError": scenario.allow_client_error,
            "context": scenario.context(run),
            "daemon": scenario.daemon(run),
        }
        print(dumps(handshake), flush=True)

        if args.command:
            outcome = run_client(args.command.split(" "), run, scenario, os.environ.get("TOKENBROKER_SOCKET"), args.timeout)
        else:
            line = sys.stdin.readline()
            if not line:
                return 0
            order = json.loads(line)
            if "run" in order:
                spec = order["run"]
                command = spec.get("command") or [sys.executable, str(HERE / "driver.py")]
                outcome = run_client(command, run, scenario, spec.get("socket"), float(spec.get("timeout", args.timeout)))
            else:
                outcome = order.get("finish", {})
        verdict = judge(run, scenario, outcome)
    finally:
        run.stop()

    if args.results:
        directory = Path(args.results)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{scenario.name.replace('/', '_')}@{spec_version}.json").write_text(json.dumps(verdict, indent=2) + "\n")
    print(dumps(verdict), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
