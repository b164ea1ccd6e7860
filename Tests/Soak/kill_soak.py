#!/usr/bin/env python3
"""kill -9 under refresh storms (issue 12): does a grant survive a daemon killed at any moment?

    kill_soak.py --daemon BIN [--rounds N] [--clients N] [--seed N] [--work DIR]

Serves a fake authorization server and MCP resource on loopback whose access tokens live
one second and whose refresh tokens rotate on every use, with reuse detection: a refresh
token used after it was rotated out revokes its whole family (as django-oauth-toolkit and
most identity providers do). tokenbrokerd signs in once (a stand-in browser follows the
redirect), then each round:

  1. CLIENTS threads hammer token/get (new connection per request, as `tokenbroker token`
     does), so the daemon refreshes again and again;
  2. after a random moment the daemon is killed with SIGKILL;
  3. `PRAGMA integrity_check` runs on the database it left;
  4. the daemon starts again and is asked, non-interactively, for a token.

A round *loses* the grant when that last request needs a sign-in. The only window for a
loss is between the server rotating the refresh token (its answer on the wire) and the
daemon committing the new one: then the daemon holds the token exactly one generation
old, and the server sees that token reused. Each loss is classified by the generation the
daemon presented; anything but "one behind" would be a bug and fails the run, as does a
failed integrity check, a daemon that does not come back, or an error other than the
daemon being killed. Losses themselves are counted, not failed (the window exists).

Standard library only; prints no token.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

HERE = Path(__file__).resolve().parent
BROWSER = HERE.parent / "Conformance" / "browser.py"
SCOPE = "files:read"


class Broken(Exception):
    """The run is invalid: something other than the expected loss window went wrong."""


# ---------------------------------------------------------------------------------------
# The fake authorization server and resource
# ---------------------------------------------------------------------------------------


class Families:
    """Refresh token families: each rotation makes a new generation; reuse revokes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token_family: dict[str, tuple[int, int]] = {}  # refresh token -> (family, generation)
        self.current: dict[int, int] = {}  # family -> current generation
        self.revoked: set[int] = set()
        self.ids = itertools.count(1)
        self.rotations = 0
        # Each reuse: how many generations behind the presented token was.
        self.reuses: list[int] = []

    def new_family(self) -> str:
        with self.lock:
            family = next(self.ids)
            self.current[family] = 0
            return self._issue(family, 0)

    def _issue(self, family: int, generation: int) -> str:
        token = "rt-" + secrets.token_urlsafe(16)
        self.token_family[token] = (family, generation)
        return token

    def rotate(self, presented: str) -> str | None:
        """The next refresh token, or None (invalid_grant) for an unknown, revoked or reused one."""
        with self.lock:
            found = self.token_family.get(presented)
            if found is None:
                return None
            family, generation = found
            if family in self.revoked:
                return None
            current = self.current[family]
            if generation != current:
                self.reuses.append(current - generation)
                self.revoked.add(family)
                return None
            self.current[family] = current + 1
            self.rotations += 1
            return self._issue(family, current + 1)


class Server(BaseHTTPRequestHandler):
    origin = ""
    families = Families()
    codes: dict[str, str] = {}
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: object) -> None:
        pass

    def reply(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = urlsplit(self.path)
        origin = self.origin
        if path.path == "/.well-known/oauth-protected-resource/mcp":
            self.reply(200, {"resource": origin + "/mcp", "authorization_servers": [origin], "scopes_supported": [SCOPE]})
        elif path.path == "/.well-known/oauth-authorization-server":
            self.reply(200, {
                "issuer": origin, "authorization_endpoint": origin + "/authorize", "token_endpoint": origin + "/token",
                "registration_endpoint": origin + "/register", "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"], "token_endpoint_auth_methods_supported": ["none"],
                "authorization_response_iss_parameter_supported": True, "scopes_supported": [SCOPE],
            })
        elif path.path == "/authorize":
            query = {k: v[0] for k, v in parse_qs(path.query).items()}
            code = secrets.token_urlsafe(12)
            self.codes[code] = query.get("code_challenge", "")
            location = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", ""), "iss": origin})
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.reply(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if self.path == "/register":
            self.reply(201, {"client_id": "soak-" + secrets.token_hex(4), "token_endpoint_auth_method": "none"})
            return
        if self.path != "/token":
            self.reply(404, {"error": "not_found"})
            return
        grant = form.get("grant_type")
        if grant == "authorization_code" and self.codes.pop(form.get("code", ""), None) is not None:
            refresh = self.families.new_family()
        elif grant == "refresh_token":
            refresh = self.families.rotate(form.get("refresh_token", ""))
            if refresh is None:
                self.reply(400, {"error": "invalid_grant"})
                return
        else:
            self.reply(400, {"error": "invalid_grant"})
            return
        self.reply(200, {
            "access_token": "at-" + secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 1,
            "refresh_token": refresh, "scope": SCOPE,
        })


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A killed daemon resets its keep-alive connections: expected, not news.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


# ---------------------------------------------------------------------------------------
# The daemon and its clients
# ---------------------------------------------------------------------------------------


def call(socket_path: str, method: str, params: dict, timeout: float = 30) -> dict:
    """One JSON-RPC call on a new connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(socket_path)
        connection.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode() + b"\n")
        buffer = b""
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionError("the daemon closed the connection")
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                message = json.loads(line)
                if "id" in message:
                    return message


class Daemon:
    def __init__(self, binary: str, work: Path) -> None:
        self.binary = binary
        self.work = work
        self.socket = str(work / "socket")
        self.database = str(work / "broker.sqlite3")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Starts the daemon and waits for its sd_notify READY=1, sent once it serves."""
        log = open(self.work / "daemon.log", "ab")
        notify_path = str(self.work / "notify")
        if os.path.exists(notify_path):
            os.unlink(notify_path)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.bind(notify_path)
            notify.settimeout(30)
            self.process = subprocess.Popen(
                [self.binary, "--socket", self.socket, "--database", self.database, "--key-file", str(self.work / "key"),
                 "--allow-http-loopback", "--browser-command", f"{sys.executable} {BROWSER}", "--log-level", "info"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env={**os.environ, "XDG_CONFIG_HOME": str(self.work / "config"), "NOTIFY_SOCKET": notify_path})
            try:
                while b"READY=1" not in notify.recv(4096):
                    pass
            except TimeoutError:
                code = self.process.poll()
                raise Broken(f"tokenbrokerd was not ready within 30 s (exit status {code}); see {self.work}/daemon.log")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Served:
    """Tokens served in a round, for waiting until a given number were."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def add(self) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def wait_for(self, target: int, timeout: float = 60) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count >= target, timeout=timeout)


def hammer(
    socket_path: str, resource: str, stop: threading.Event, outcomes: dict, lock: threading.Lock, served: Served
) -> None:
    """token/get in a loop until the daemon dies or `stop` is set; counts outcomes."""
    params = {"resource": resource, "scopes": [SCOPE], "interactive": False, "minValidSeconds": 0}
    while not stop.is_set():
        try:
            answer = call(socket_path, "token/get", params, timeout=10)
        except (OSError, ConnectionError, ValueError):
            key = "daemon gone"  # killed mid-request: expected
        else:
            key = "served" if "result" in answer else answer.get("error", {}).get("data", {}).get("reason", "error")
        with lock:
            outcomes[key] = outcomes.get(key, 0) + 1
        if key == "served":
            served.add()
        if key == "daemon gone":
            return


def integrity(database: str) -> str:
    with sqlite3.connect(database, timeout=30) as connection:
        return "; ".join(row[0] for row in connection.execute("PRAGMA integrity_check"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--daemon", required=True)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--work", default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)

    import tempfile

    work = Path(args.work or tempfile.mkdtemp(prefix="tokenbroker-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    httpd = QuietServer(("127.0.0.1", 0), Server)
    Server.origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    resource = Server.origin + "/mcp"
    # A copy: a build that replaces the binary during a long soak must not break the restarts.
    import shutil

    binary = work / "tokenbrokerd"
    shutil.copy2(args.daemon, binary)
    daemon = Daemon(str(binary), work)
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    losses: list[int] = []
    try:
        daemon.start()
        signed_in = call(daemon.socket, "token/get", {"resource": resource, "scopes": [SCOPE], "waitSeconds": 30}, timeout=60)
        if "result" not in signed_in:
            raise Broken(f"the first sign-in failed: {signed_in.get('error')}")
        for round_number in range(1, args.rounds + 1):
            stop = threading.Event()
            served = Served()
            threads = [
                threading.Thread(target=hammer, args=(daemon.socket, resource, stop, outcomes, lock, served))
                for _ in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            # The kill's random moment: after a random number of tokens served (1-second
            # tokens, so several refreshes happen on the way).
            if not served.wait_for(rng.randint(100, 4000)):
                raise Broken(f"round {round_number}: the clients were not served")
            daemon.kill()
            stop.set()
            for thread in threads:
                thread.join()
            verdict = integrity(daemon.database)
            if verdict != "ok":
                raise Broken(f"round {round_number}: integrity_check says {verdict}")
            reuses_before = len(Server.families.reuses)
            daemon.start()
            answer = call(daemon.socket, "token/get", {"resource": resource, "scopes": [SCOPE], "interactive": False})
            if "result" in answer:
                continue
            reason = answer.get("error", {}).get("data", {}).get("reason")
            if reason != "authorization_required":
                raise Broken(f"round {round_number}: after the restart token/get failed with {reason}")
            gaps = Server.families.reuses[reuses_before:]
            if gaps != [1]:
                raise Broken(f"round {round_number}: the grant was lost but the server saw reuse gaps {gaps}, not one generation")
            losses.append(round_number)
            again = call(daemon.socket, "token/get", {"resource": resource, "scopes": [SCOPE], "waitSeconds": 30}, timeout=60)
            if "result" not in again:
                raise Broken(f"round {round_number}: signing in again failed: {again.get('error')}")
        unexpected = {k: v for k, v in outcomes.items() if k not in ("served", "daemon gone")}
        print(json.dumps({
            "rounds": args.rounds, "clients": args.clients, "seed": seed, "refreshes": Server.families.rotations,
            "requests": outcomes, "losses": len(losses), "lossRounds": losses,
            "lossWindow": "every loss: the daemon held the refresh token one generation old (killed between the server's answer and the commit)",
            "integrityChecks": "ok every round",
        }, indent=2))
        if unexpected:
            raise Broken(f"clients got errors other than the daemon being killed: {unexpected}")
        return 0
    except Broken as broken:
        print(f"kill_soak: {broken} (seed {seed}, work {work})", file=sys.stderr)
        return 1
    finally:
        daemon.stop()
        httpd.shutdown()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
