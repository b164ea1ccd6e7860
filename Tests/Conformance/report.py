#!/usr/bin/env python3
"""The conformance report: one row per scenario run, with its checks and its result.

    report.py [--results DIR] [--verbose]
        prints the verdicts the last `swift test` wrote (ConformanceTests writes one
        file per scenario run to DIR, default .build/conformance-results).

    report.py --daemon PATH/TO/tokenbrokerd [--scenario NAME]... [--results DIR]
        runs the scenarios itself against the real executable: for each run a fresh
        daemon (temporary socket, database and config file with --allow-http-loopback,
        browser.py as --browser-command, the scenario's pre-registered client or
        metadata document URL), the fixture and the driver; then prints the table.
        Readiness comes from the daemon's sd_notify READY=1, not from waiting.

Exit status 0 when every reported run passed. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_RESULTS = ROOT / ".build" / "conformance-results"


def toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def run_with_daemon(daemon: str, scenario: str, version: str, results: Path) -> dict[str, Any]:
    fixture = subprocess.Popen(
        [sys.executable, str(HERE / "fixture.py"), scenario, "--spec-version", version, "--results", str(results)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fixture.stdin and fixture.stdout
    handshake = json.loads(fixture.stdout.readline())
    with tempfile.TemporaryDirectory(prefix="tokenbroker-conformance-") as directory:
        socket_path = os.path.join(directory, "socket")
        config = [
            "allow_http_loopback = true",
            f"browser_command = [{toml_string(sys.executable)}, {toml_string(str(HERE / 'browser.py'))}]",
        ]
        hints = handshake.get("daemon") or {}
        if hints.get("metadataDocumentClientID"):
            config += ["[client_metadata]", f"client_id = {toml_string(hints['metadataDocumentClientID'])}"]
        for client in hints.get("preregistered", []):
            config += [
                "[[client]]",
                f"issuer = {toml_string(client['issuer'])}",
                f"client_id = {toml_string(client['clientId'])}",
            ]
            if client.get("clientSecret"):
                config.append(f"client_secret = {toml_string(client['clientSecret'])}")
            if client.get("method"):
                config.append(f"token_endpoint_auth_method = {toml_string(client['method'])}")
        config_path = os.path.join(directory, "config.toml")
        Path(config_path).write_text("\n".join(config) + "\n")
        os.chmod(config_path, 0o600)

        notify_path = os.path.join(directory, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(30)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        process = subprocess.Popen(
            [daemon, "--socket", socket_path, "--database", os.path.join(directory, "broker.sqlite3"), "--config", config_path, "--log-level", "error"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while notify.recv(4096).decode().find("READY=1") < 0:
                pass
            fixture.stdin.write(json.dumps({"run": {"socket": socket_path}}) + "\n")
            fixture.stdin.flush()
            verdict = json.loads(fixture.stdout.readline())
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            notify.close()
            fixture.stdin.close()
            fixture.wait(timeout=30)
    return verdict


def load(results: Path) -> list[dict[str, Any]]:
    verdicts = []
    for path in sorted(results.glob("*.json")):
        try:
            verdicts.append(json.loads(path.read_text()))
        except ValueError:
            continue
    return verdicts


def table(verdicts: list[dict[str, Any]], order: list[tuple[str, str]], verbose: bool) -> str:
    position = {run: index for index, run in enumerate(order)}
    verdicts = sorted(verdicts, key=lambda v: position.get((v["scenario"], v["specVersion"]), len(position)))
    rows = [("scenario", "spec", "checks", "result")]
    for verdict in verdicts:
        checks = verdict["checks"]
        scored = [c for c in checks if c["status"] != "INFO"]
        passed = sum(1 for c in scored if c["status"] == "SUCCESS")
        distinct = []
        for check in checks:
            if check["id"] not in distinct and check["id"] not in ("valid-bearer-token",):
                distinct.append(check["id"])
        summary = f"{passed}/{len(scored)} ok: " + ", ".join(distinct)
        result = verdict["result"]
        if verdict["failures"]:
            result += " (" + ", ".join(verdict["failures"]) + ")"
        rows.append((verdict["scenario"], verdict["specVersion"], summary, result))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for index, row in enumerate(rows):
        lines.append(" | ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)))
        if index == 0:
            lines.append("-|-".join("-" * w for w in widths) + "-|-------")
        if verbose and index > 0:
            for check in verdicts[index - 1]["checks"]:
                lines.append(f"      {check['status']:<8} {check['id']}: {check['description']}")
    passed = sum(1 for v in verdicts if v["result"] == "PASS")
    lines.append(f"\n{passed}/{len(verdicts)} scenario runs passed")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path(os.environ.get("TOKENBROKER_CONFORMANCE_RESULTS") or DEFAULT_RESULTS))
    parser.add_argument("--daemon", help="run the scenarios against this tokenbrokerd executable")
    parser.add_argument("--scenario", action="append", default=[], help="only this scenario (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="list every check")
    args = parser.parse_args()

    sys.path.insert(0, str(HERE))
    from scenarios import runs  # noqa: E402

    order = runs()
    if args.daemon:
        args.results.mkdir(parents=True, exist_ok=True)
        verdicts = []
        for scenario, version in order:
            if args.scenario and scenario not in args.scenario:
                continue
            verdict = run_with_daemon(args.daemon, scenario, version, args.results)
            verdicts.append(verdict)
            print(f"{verdict['result']}  {scenario} @ {version}", file=sys.stderr, flush=True)
    else:
        verdicts = load(args.results)
        if args.scenario:
            verdicts = [v for v in verdicts if v["scenario"] in args.scenario]
        if not verdicts:
            print(f"no results in {args.results}; run `swift test --filter Conformance` or pass --daemon", file=sys.stderr)
            return 1
    print(table(verdicts, order, args.verbose))
    return 0 if all(v["result"] == "PASS" for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
