#!/usr/bin/env python3
"""The daemon holding many grants next to the same daemon holding one, in one run (issue 16).

    scale.py --daemon BIN --cli BIN --work DIR --resource URL [--resources N]

Run by Benchmarks/scale.sh, which starts the conformance fixture (the server at URL) and
writes DIR/config.toml. This script owns the daemon: it starts tokenbrokerd on an empty
database, signs in once with `tokenbroker login`, restarts it and measures it holding
that one grant; then stops it, copies the grant in SQLite to N-1 more resources under
URL (URL/tenant-1 ... URL/tenant-(N-1)), restarts it and measures the same things again.
It prints a table with the goals of issue 16 next to each number, and exits non-zero
only when something breaks (a command fails, a count is wrong), never on a time.

The daemon's pid is kept in DIR/daemon.pid so the shell's trap can stop it too. Never
prints a token. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

MIB = 1024 * 1024


class Broken(Exception):
    """Something did not work: the benchmark's numbers would mean nothing."""


# --- the socket -------------------------------------------------------------------------


class Connection:
    """One JSON-RPC connection to the daemon, newline-delimited."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.pending = bytearray()
        self.next_id = 0
        self.longest_line = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def send(self, payload: bytes) -> None:
        self.sock.sendall(payload)

    def read_line(self) -> bytes:
        start = 0
        while (end := self.pending.find(b"\n", start)) < 0:
            start = len(self.pending)
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise Broken("the daemon closed the connection")
            self.pending += chunk
        line = bytes(self.pending[:end])
        del self.pending[: end + 1]
        self.longest_line = max(self.longest_line, len(line))
        return line

    def call(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        self.send(encode(self.next_id, method, params))
        answer = json.loads(self.read_line())
        if "result" not in answer:
            # An error object never holds a token (docs/protocol.md, Errors).
            raise Broken(f"{method} failed: {json.dumps(answer.get('error'))[:300]}")
        return answer["result"]


def encode(call_id: int, method: str, params: dict | None) -> bytes:
    message: dict = {"jsonrpc": "2.0", "id": call_id, "method": method}
    if params is not None:
        message["params"] = params
    return (json.dumps(message) + "\n").encode()


def token_params(resource: str) -> dict:
    return {"resource": resource, "interactive": False, "application": "scale-benchmark"}


# --- the daemon -------------------------------------------------------------------------


class Daemon:
    """tokenbrokerd on the work directory's socket and database."""

    def __init__(self, binary: str, work: Path) -> None:
        self.binary = binary
        self.work = work
        self.socket = str(work / "socket")
        self.database = str(work / "broker.sqlite3")
        self.process: subprocess.Popen | None = None
        self.log = work / "daemon.log"

    def start(self) -> float:
        """Starts it and returns the milliseconds from exec until `broker/info` answers."""
        log = open(self.log, "ab")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [self.binary, "--socket", self.socket, "--database", self.database, "--key-file", str(self.work / "key"),
             "--config", str(self.work / "config.toml"), "--log-level", "error"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        (self.work / "daemon.pid").write_text(f"{self.process.pid}\n")
        deadline = started + 30
        while True:
            if self.process.poll() is not None:
                raise Broken(f"tokenbrokerd exited with {self.process.returncode} while starting; its log:\n{self.log_tail()}")
            try:
                with Connection(self.socket) as connection:
                    info = connection.call("broker/info")
                answered = time.perf_counter()
                break
            except (OSError, Broken):
                # Not listening yet (or an old socket file): ask again at once.
                if time.perf_counter() > deadline:
                    raise Broken("tokenbrokerd did not answer broker/info within 30 s")
                time.sleep(0.0005)
        if info.get("pid") != self.process.pid:
            raise Broken(f"broker/info came from pid {info.get('pid')}, not the daemon just started")
        return (answered - started) * 1e3

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise Broken("tokenbrokerd did not stop within 30 s of SIGTERM")
        finally:
            self.process = None
            (self.work / "daemon.pid").unlink(missing_ok=True)
        if code not in (0, -signal.SIGTERM):
            raise Broken(f"tokenbrokerd exited with {code} on SIGTERM; its log:\n{self.log_tail()}")

    def rss_kib(self) -> int:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise Broken("no VmRSS in /proc/PID/status")

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


# --- measurements -----------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    # Nearest rank: the smallest sample at or above `fraction` of them.
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def token_latency_us(socket_path: str, resource: str, calls: int) -> tuple[float, float]:
    """Cache-hit `token/get` on one connection: p50 and p99 in microseconds.

    The first call restores the grant from storage (and is checked to be this resource's
    own grant, not another resource's it was aliased to); the timed calls come after it.
    """
    with Connection(socket_path) as connection:
        first = connection.call("token/get", token_params(resource))
        if first.get("resource") != resource or not first.get("accessToken"):
            raise Broken(f"token/get for {resource} was served for {first.get('resource')}, not from its own stored grant")
        payloads = [encode(i + 1000, "token/get", token_params(resource)) for i in range(calls)]
        samples = []
        for payload in payloads:
            begun = time.perf_counter_ns()
            connection.send(payload)
            line = connection.read_line()
            samples.append((time.perf_counter_ns() - begun) / 1e3)
            if b'"result"' not in line:
                raise Broken(f"token/get for {resource} was not a cache hit: {line.decode()[:300]}")
    return statistics.median(samples), percentile(samples, 0.99)


def first_page_ms(socket_path: str, params: dict | None, expected: int, runs: int = 20) -> float:
    """`grants/list`'s first page, one new connection per call: the median in ms."""
    samples = []
    for _ in range(runs):
        begun = time.perf_counter()
        with Connection(socket_path) as connection:
            page = connection.call("grants/list", params)
        samples.append((time.perf_counter() - begun) * 1e3)
        if len(page["grants"]) != expected:
            raise Broken(f"grants/list {params} gave {len(page['grants'])} entries, expected {expected}")
    return statistics.median(samples)


def walk_listing(socket_path: str) -> tuple[list[str], int]:
    """Every page of `grants/list`: the resources in order and the longest answer line."""
    resources: list[str] = []
    with Connection(socket_path) as connection:
        cursor = None
        while True:
            page = connection.call("grants/list", {"limit": 500} | ({"cursor": cursor} if cursor else {}))
            resources += [entry["resource"] for entry in page["grants"]]
            cursor = page["nextCursor"]
            if cursor is None:
                return resources, connection.longest_line


def cli(cli_binary: str, socket_path: str, *arguments: str) -> tuple[float, str]:
    begun = time.perf_counter()
    done = subprocess.run([cli_binary, *arguments, "--socket", socket_path],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    elapsed = (time.perf_counter() - begun) * 1e3
    if done.returncode != 0:
        raise Broken(f"tokenbroker {' '.join(arguments)} exited with {done.returncode}: {done.stderr.strip()[:500]}")
    return elapsed, done.stdout


def check_status(text: str, expected: list[str]) -> None:
    rows = [line for line in text.splitlines() if line.startswith("http")]
    if len(rows) != len(expected):
        raise Broken(f"tokenbroker status printed {len(rows)} rows, expected {len(expected)}")


def check_status_json(text: str, expected: list[str]) -> None:
    document = json.loads(text)
    listed = [entry["resource"] for entry in document["grants"]]
    if sorted(listed) != sorted(expected) or len(set(listed)) != len(listed):
        raise Broken(f"tokenbroker status --json listed {len(listed)} entries ({len(set(listed))} distinct), "
                     f"expected these {len(expected)}")
    if not all(entry["hasAccessToken"] for entry in document["grants"]):
        raise Broken("tokenbroker status --json lists a grant without its access token")


def measure(daemon: Daemon, cli_binary: str, resource: str, resources: list[str], calls: int) -> dict:
    """Everything the table shows, for a daemon just restarted over `resources`' grants."""
    n = len(resources)
    numbers: dict = {"start_ms": daemon.start()}
    numbers["token_original"] = token_latency_us(daemon.socket, resource, calls)
    if n > 1:
        numbers["token_last_copy"] = token_latency_us(daemon.socket, resources[-1], calls)

    # RSS around the first full listing since the start: what listing everything costs.
    numbers["rss_before_kib"] = daemon.rss_kib()
    _, listed = cli(cli_binary, daemon.socket, "status", "--json")
    check_status_json(listed, resources)
    numbers["rss_after_kib"] = daemon.rss_kib()

    numbers["page_default_ms"] = first_page_ms(daemon.socket, None, min(n, 100))
    numbers["page_500_ms"] = first_page_ms(daemon.socket, {"limit": 500}, min(n, 500))
    walked, longest = walk_listing(daemon.socket)
    if walked != sorted(walked) or sorted(walked) != sorted(resources):
        raise Broken(f"paging through grants/list gave {len(walked)} resources, not the {n} held, in order")
    if longest >= MIB:
        raise Broken(f"a grants/list page was {longest} bytes, over the 1 MiB line limit")
    numbers["longest_page_bytes"] = longest

    table_runs, json_runs = [], []
    for _ in range(5):
        elapsed, text = cli(cli_binary, daemon.socket, "status")
        check_status(text, resources)
        table_runs.append(elapsed)
        elapsed, text = cli(cli_binary, daemon.socket, "status", "--json")
        check_status_json(text, resources)
        json_runs.append(elapsed)
    numbers["status_ms"] = statistics.median(table_runs)
    numbers["status_json_ms"] = statistics.median(json_runs)
    numbers["rss_end_kib"] = daemon.rss_kib()
    return numbers


# --- the copies -------------------------------------------------------------------------


class Resealer:
    """Opens a grant's sealed tokens and seals them for another row, as the daemon does
    (ChaCha20-Poly1305 under the key file, bound to the column, resource and issuer): a
    sealed value copied as it is does not open in another row."""

    prefix = "sealed1:"

    def __init__(self, key_path: Path) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
        raw = key_path.read_bytes()
        self.aead = ChaCha20Poly1305(raw if len(raw) == 32 else base64.b64decode(raw.strip()))

    @staticmethod
    def context(column: str, resource: str, issuer: str) -> bytes:
        return "\0".join([f"grant.{column}", resource, issuer]).encode()

    def open(self, value: str | None, column: str, resource: str, issuer: str) -> bytes | None:
        if value is None:
            return None
        combined = base64.b64decode(value[len(self.prefix):])
        return self.aead.decrypt(combined[:12], combined[12:], self.context(column, resource, issuer))

    def seal(self, plain: bytes | None, column: str, resource: str, issuer: str) -> str | None:
        if plain is None:
            return None
        nonce = os.urandom(12)
        sealed = self.aead.encrypt(nonce, plain, self.context(column, resource, issuer))
        return self.prefix + base64.b64encode(nonce + sealed).decode()


def copy_grant(database: str, resource: str, count: int, resealer: Resealer) -> list[str]:
    """Copies `resource`'s resource row and grant to `count` more resources, one transaction.

    Each copy is what restoreSession serves with no network: a `resources` row whose
    stored metadata is the original's with `resource` set to the copy's own URL (so it
    validates for exactly that URL), and a `grants` row with the same tokens, issuer and
    scopes. Returns every resource held afterwards, the original first.
    """
    copies = [f"{resource}/tenant-{i}" for i in range(1, count + 1)]
    db = sqlite3.connect(database, isolation_level=None)
    try:
        db.execute("PRAGMA foreign_keys = ON")
        found = db.execute("SELECT metadata_json, issuer, fetched_at FROM resources WHERE resource = ?", (resource,)).fetchone()
        if found is None:
            raise Broken(f"the database has no resource row for {resource} after the sign-in")
        metadata_json, issuer, fetched_at = found
        grants = db.execute(
            "SELECT issuer, requested_scopes, granted_scopes, access_token, access_token_expires_at, refresh_token,"
            " created_at, updated_at FROM grants WHERE resource = ?", (resource,)).fetchall()
        if len(grants) != 1 or grants[0][3] is None:
            raise Broken(f"expected one grant with an access token for {resource}, found {len(grants)}")
        metadata = json.loads(metadata_json)

        def resource_rows():
            for url in copies:
                metadata["resource"] = url
                yield (url, json.dumps(metadata), issuer, fetched_at)

        (grant_issuer, requested, granted, access, access_expiry, refresh, created, updated) = grants[0]
        access_plain = resealer.open(access, "access_token", resource, grant_issuer)
        refresh_plain = resealer.open(refresh, "refresh_token", resource, grant_issuer)

        def grant_rows():
            for url in copies:
                yield (url, grant_issuer, requested, granted,
                       resealer.seal(access_plain, "access_token", url, grant_issuer), access_expiry,
                       resealer.seal(refresh_plain, "refresh_token", url, grant_issuer), created, updated)

        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO resources (resource, metadata_json, issuer, fetched_at) VALUES (?, ?, ?, ?)",
                       resource_rows())
        db.executemany(
            "INSERT INTO grants (resource, issuer, requested_scopes, granted_scopes, access_token,"
            " access_token_expires_at, refresh_token, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            grant_rows())
        db.execute("COMMIT")
        held = db.execute("SELECT count(*) FROM grants").fetchone()[0]
    finally:
        db.close()
    if held != count + 1:
        raise Broken(f"the database holds {held} grants after copying, expected {count + 1}")
    return [resource, *copies]


# --- the report -------------------------------------------------------------------------


def report(n: int, one: dict, many: dict) -> None:
    ratio = many["token_original"][0] / one["token_original"][0]
    copy_ratio = many["token_last_copy"][0] / one["token_original"][0]
    rss_growth = (many["rss_after_kib"] - many["rss_before_kib"]) / 1024
    rows = [
        ("daemon start to first answer (ms)", f"{one['start_ms']:.0f}", f"{many['start_ms']:.0f}", "≤ 200",
         yes(many["start_ms"] <= 200)),
        ("grants/list first page, no params (ms, median of 20)", f"{one['page_default_ms']:.1f}",
         f"{many['page_default_ms']:.1f}", "≤ 50", yes(many["page_default_ms"] <= 50)),
        ("grants/list first page, limit 500 (ms, median of 20)", f"{one['page_500_ms']:.1f}",
         f"{many['page_500_ms']:.1f}", "≤ 50", yes(many["page_500_ms"] <= 50)),
        ("largest grants/list page (KiB)", f"{one['longest_page_bytes'] / 1024:.0f}",
         f"{many['longest_page_bytes'] / 1024:.0f}", "< 1024", yes(many["longest_page_bytes"] < MIB)),
        ("tokenbroker status, whole listing (ms, median of 5)", f"{one['status_ms']:.0f}", f"{many['status_ms']:.0f}",
         "≤ 1000", yes(many["status_ms"] <= 1000)),
        ("tokenbroker status --json, whole listing (ms, median of 5)", f"{one['status_json_ms']:.0f}",
         f"{many['status_json_ms']:.0f}", "≤ 1000", yes(many["status_json_ms"] <= 1000)),
        ("token/get cache hit p50, original resource (µs)", f"{one['token_original'][0]:.0f}",
         f"{many['token_original'][0]:.0f}", "flat", f"{ratio:.2f}×"),
        ("token/get cache hit p99, original resource (µs)", f"{one['token_original'][1]:.0f}",
         f"{many['token_original'][1]:.0f}", "", ""),
        (f"token/get cache hit p50, copy {n - 1} (µs)", "", f"{many['token_last_copy'][0]:.0f}", "flat",
         f"{copy_ratio:.2f}×"),
        (f"token/get cache hit p99, copy {n - 1} (µs)", "", f"{many['token_last_copy'][1]:.0f}", "", ""),
        ("daemon RSS before a full listing (MiB)", mib(one["rss_before_kib"]), mib(many["rss_before_kib"]), "", ""),
        ("daemon RSS after one full listing (MiB)", mib(one["rss_after_kib"]), mib(many["rss_after_kib"]), "", ""),
        ("RSS growth from that listing (MiB)", f"{(one['rss_after_kib'] - one['rss_before_kib']) / 1024:+.1f}",
         f"{rss_growth:+.1f}", "≤ 2", yes(rss_growth <= 2)),
        ("daemon RSS after 12 full listings (MiB)", mib(one["rss_end_kib"]), mib(many["rss_end_kib"]), "", ""),
    ]
    headers = ("what", "1 grant", f"{n} grants", "goal", "met")
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)).rstrip())
    print(f"p50 ratios are against the 1-grant daemon's p50 for the original resource; "
          f"the {n}-grant ratio for it is {ratio:.2f}.")


def yes(met: bool) -> str:
    return "yes" if met else "NO"


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


# --- the run ----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--daemon", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--resource", required=True)
    parser.add_argument("--resources", type=int, default=10000)
    parser.add_argument("--calls", type=int, default=2000, help="timed token/get calls per resource")
    options = parser.parse_args()
    if options.resources < 2:
        parser.error("--resources must be at least 2")

    # The shell's trap stops this script with SIGTERM; the finally below stops the daemon.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    daemon = Daemon(options.daemon, options.work)
    resource = options.resource
    try:
        daemon.start()
        cli(options.cli, daemon.socket, "login", resource)
        with Connection(daemon.socket) as connection:
            listed = connection.call("grants/list")["grants"]
        if [(entry["resource"], entry["hasAccessToken"]) for entry in listed] != [(resource, True)]:
            raise Broken(f"after the sign-in grants/list shows {len(listed)} grants, not one with a token for {resource}")
        daemon.stop()

        print("measuring the daemon with 1 grant (restored from storage) ...", file=sys.stderr)
        one = measure(daemon, options.cli, resource, [resource], options.calls)
        daemon.stop()

        print(f"copying the grant to {options.resources - 1} more resources ...", file=sys.stderr)
        began = time.perf_counter()
        resources = copy_grant(daemon.database, resource, options.resources - 1, Resealer(daemon.work / "key"))
        print(f"copied in {time.perf_counter() - began:.1f} s; measuring the daemon with {len(resources)} grants ...",
              file=sys.stderr)
        many = measure(daemon, options.cli, resource, resources, options.calls)
        daemon.stop()
    except Broken as broken:
        print(f"scale: {broken}", file=sys.stderr)
        return 1
    finally:
        if daemon.process is not None:
            daemon.process.kill()
            daemon.process.wait()
            (options.work / "daemon.pid").unlink(missing_ok=True)

    report(len(resources), one, many)
    return 0


if __name__ == "__main__":
    sys.exit(main())
