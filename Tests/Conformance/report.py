#!/usr/bin/env python3
"""The conformance report: one row per scenario run, with its checks and its result.

    report.py [--results DIR] [--verbose | --by-scenario]
        prints the verdicts the last `swift test` wrote (ConformanceTests writes one
        file per scenario run to DIR, default .build/conformance-results): scenario,
        spec version, scored checks passed, result, and the scenario's own check ids
        (beyond those every authorization flow produces).

    report.py --daemon PATH/TO/tokenbrokerd [--scenario NAME]... [--results DIR]
        runs the scenarios itself against the real executable: for each run a fresh
        daemon (temporary socket, database and config file with --allow-http-loopback,
        browser.py as --browser-command, the scenario's pre-registered client or
        metadata document URL), the fixture and the driver; then prints the table.
        Readiness comes from the daemon's sd_notify READY=1, not from waiting.
        --memory-deny-write-execute starts each daemon as systemd's
        MemoryDenyWriteExecute=yes does on Linux 6.3 and later (prctl PR_SET_MDWE):
        no memory may become both writable and executable.

Exit status 0 when every reported run passed. Standard library only.
"""

from __future__ import annotations

import argparse
import ctypes
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


PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1


def deny_write_execute() -> None:
    """In the child before exec: what MemoryDenyWriteExecute=yes applies (inherited by exec)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE) failed; this kernel lacks it (Linux 6.3+)")


def run_with_daemon(daemon: str, scenario: str, version: str, results: Path, mdwe: bool = False) -> dict[str, Any]:
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
            preexec_fn=deny_write_execute if mdwe else None,  # noqa: PLW1509 - a prctl, then exec
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


# Checks every authorization flow produces; the table names the others.
COMMON_CHECKS = {
    "prm-pathbased-requested",
    "authorization-server-metadata",
    "client-registration",
    "sep-837-application-type-present",
    "authorization-request",
    "pkce-code-challenge-sent",
    "pkce-s256-method-used",
    "token-request",
    "pkce-code-verifier-sent",
    "pkce-verifier-matches-challenge",
    "valid-bearer-token",
    "wire-schema-valid",
}


def summary(verdict: dict[str, Any]) -> tuple[str, str]:
    """("13/13", "PASS") or ("12/13", "FAIL (ids)"): scored checks passed, and the result."""
    scored = [c for c in verdict["checks"] if c["status"] != "INFO"]
    passed = sum(1 for c in scored if c["status"] == "SUCCESS")
    result = verdict["result"] + (" (" + ", ".join(verdict["failures"]) + ")" if verdict["failures"] else "")
    return f"{passed}/{len(scored)}", result


def key_checks(verdicts: list[dict[str, Any]]) -> str:
    ids: list[str] = []
    for verdict in verdicts:
        for check in verdict["checks"]:
            if check["id"] not in COMMON_CHECKS and check["id"] not in ids:
                ids.append(check["id"])
    return ", ".join(ids) or "discovery, registration, PKCE and token checks"


def render(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for index, row in enumerate(rows):
        lines.append(" | ".join([cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]))
        if index == 0:
            lines.append("-|-".join("-" * w for w in widths) + "-|-" + "-" * len(row[-1]))
    return lines


def table(verdicts: list[dict[str, Any]], order: list[tuple[str, str]], verbose: bool, by_scenario: bool) -> str:
    position = {run: index for index, run in enumerate(order)}
    verdicts = sorted(verdicts, key=lambda v: position.get((v["scenario"], v["specVersion"]), len(position)))
    if by_scenario:
        versions = sorted({v["specVersion"] for v in verdicts})
        names: list[str] = []
        for verdict in verdicts:
            if verdict["scenario"] not in names:
                names.append(verdict["scenario"])
        rows: list[tuple[str, ...]] = [("scenario", *versions, "scenario checks")]
        for name in names:
            mine = [v for v in verdicts if v["scenario"] == name]
            cells = []
            for version in versions:
                found = [v for v in mine if v["specVersion"] == version]
                if found:
                    count, result = summary(found[0])
                    cells.append(f"{result} {count}")
                else:
                    cells.append("-")
            rows.append((name, *cells, key_checks(mine)))
        lines = render(rows)
    else:
        rows = [("scenario", "spec", "checks", "result", "scenario checks")]
        for verdict in verdicts:
            count, result = summary(verdict)
            rows.append((verdict["scenario"], verdict["specVersion"], count, result, key_checks([verdict])))
        lines = render(rows)
        if verbose:
            lines = lines[:2]
            for verdict, row in zip(verdicts, render(rows)[2:]):
                lines.append(row)
                for check in verdict["checks"]:
                    lines.append(f"      {check['status']:<8} {check['id']}: {check['description']}")
    passed = sum(1 for v in verdicts if v["result"] == "PASS")
    lines.append(f"\n{passed}/{len(verdicts)} scenario runs passed")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path(os.environ.get("TOKENBROKER_CONFORMANCE_RESULTS") or DEFAULT_RESULTS))
    parser.add_argument("--daemon", help="run the scenarios against this tokenbrokerd executable")
    parser.add_argument("--memory-deny-write-execute", action="store_true", help="with --daemon: run it under PR_SET_MDWE")
    parser.add_argument("--scenario", action="append", default=[], help="only this scenario (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="list every check")
    parser.add_argument("--by-scenario", action="store_true", help="one row per scenario, one column per spec version")
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
            verdict = run_with_daemon(args.daemon, scenario, version, args.results, args.memory_deny_write_execute)
            verdicts.append(verdict)
            print(f"{verdict['result']}  {scenario} @ {version}", file=sys.stderr, flush=True)
    else:
        # Only runs the suite still has (a renamed scenario's old file is ignored).
        verdicts = [v for v in load(args.results) if (v.get("scenario"), v.get("specVersion")) in set(order)]
        if args.scenario:
            verdicts = [v for v in verdicts if v["scenario"] in args.scenario]
        if not verdicts:
            print(f"no results in {args.results}; run `swift test --filter Conformance` or pass --daemon", file=sys.stderr)
            return 1
    print(table(verdicts, order, args.verbose, args.by_scenario))
    return 0 if all(v["result"] == "PASS" for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
