#!/usr/bin/env python3
"""Walks the broker's whole flow against mcp_sdk_fixture.py, the way tokenbrokerd does it,
and exits non-zero at the first deviation from what the fixture is meant to do.

    PY=$(scripts/interop-venv.sh | tail -n 1); "$PY" Tests/Interop/smoke_flow.py

Standard library only (http.client, so every status, header and redirect is seen as sent).
Prints status codes, challenge headers, and the *shapes* of JSON bodies: a secret value
(token, code, verifier, state) is shown as <str N>, never in clear. At the end it checks that
no secret used in the run appears in the fixture's /_test/log or its stderr.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "mcp_sdk_fixture.py")
PROTOCOL_VERSION = "2025-11-25"
MCP_ACCEPT = "application/json, text/event-stream"
SECRET_KEYS = {"access_token", "refresh_token", "code", "code_verifier", "state", "client_secret", "token"}

SECRETS: set[str] = set()  # every secret value this run has seen, checked against the fixture's output


class Deviation(Exception):
    pass


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise Deviation(what)


def expect_eq(actual: Any, wanted: Any, what: str) -> None:
    if actual != wanted:
        raise Deviation(f"{what}: wanted {wanted!r}, got {shown(actual)!r}")


def shown(value: Any) -> Any:
    """`value` with every secret replaced by <str N>."""
    if isinstance(value, dict):
        return {k: (f"<str {len(v)}>" if k in SECRET_KEYS and isinstance(v, str) else shown(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [shown(v) for v in value]
    if isinstance(value, str) and value in SECRETS:
        return f"<str {len(value)}>"
    return value


def step(label: str) -> None:
    print(f"\n== {label}")


def note(text: str) -> None:
    print(f"   {text}")


# --- HTTP ---------------------------------------------------------------------------------------


class Reply:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        return json.loads(self.body)

    def rpc(self) -> dict[str, Any]:
        """The JSON-RPC response in a streamable-HTTP reply: plain JSON or SSE `data:` lines."""
        if (self.header("content-type") or "").startswith("text/event-stream"):
            messages = [json.loads(line[5:]) for line in self.body.decode().splitlines() if line.startswith("data:")]
            responses = [m for m in messages if "id" in m and ("result" in m or "error" in m)]
            expect(len(responses) == 1, f"one JSON-RPC response in the SSE stream, got {len(responses)}")
            return responses[0]
        return self.json()


def request(method: str, url: str, *, headers: dict[str, str] | None = None, form: dict[str, str] | None = None,
            json_body: Any = None) -> Reply:
    parts = urlsplit(url)
    headers = dict(headers or {})
    body = None
    if form is not None:
        body = urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif json_body is not None:
        body = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    try:
        connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def show(method: str, url: str, reply: Reply) -> None:
    print(f"   {method} {urlsplit(url).path} -> {reply.status}")


# --- OAuth client steps (what the broker does) --------------------------------------------------


def register(as_meta: dict[str, Any], redirect_uri: str, scope: str | None) -> dict[str, Any]:
    """DCR as a public native client; `scope` None leaves the member out."""
    url = as_meta["registration_endpoint"]
    metadata = {
        "client_name": "tokenbroker smoke",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    }
    if scope is not None:
        metadata["scope"] = scope
    reply = request("POST", url, json_body=metadata)
    show("POST", url, reply)
    expect_eq(reply.status, 201, "registration status")
    client = reply.json()
    note(f"registered: {json.dumps(shown(client))}")
    expect("client_secret" not in client, "a public client gets no client_secret")
    expect_eq(client.get("scope"), scope or "files:read files:write", "registered scope (default: all AS scopes)")
    expect_eq(client.get("token_endpoint_auth_method"), "none", "auth method echoed")
    expect_eq(client.get("application_type"), "native", "application_type echoed")
    expect_eq(client.get("redirect_uris"), [redirect_uri], "redirect_uris echoed")
    return client


def authorize(as_meta: dict[str, Any], client_id: str, redirect_uri: str, scope: str,
              resource: str | None) -> tuple[dict[str, list[str]], str, str]:
    """One /authorize round trip; returns (redirect query, state sent, code_verifier)."""
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(16)
    SECRETS.update({verifier, state})
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "code_challenge": challenge, "code_challenge_method": "S256", "state": state, "scope": scope}
    if resource is not None:
        params["resource"] = resource
    url = f"{as_meta['authorization_endpoint']}?{urlencode(params)}"
    reply = request("GET", url)
    show("GET", url, reply)
    expect_eq(reply.status, 302, "/authorize answers with a redirect (auto-approve)")
    expect_eq(reply.header("cache-control"), "no-store", "/authorize cache-control")
    location = urlsplit(reply.header("location") or "")
    expect_eq(f"{location.scheme}://{location.netloc}{location.path}", redirect_uri, "redirect target")
    query = parse_qs(location.query)
    SECRETS.update(query.get("code", []))
    note(f"redirect query: {json.dumps(shown({k: v[0] for k, v in query.items()}))}")
    expect_eq(query.get("state"), [state], "state echoed")
    expect("iss" not in query, "the SDK AS sends no RFC 9207 iss")
    return query, state, verifier


def token_request(as_meta: dict[str, Any], form: dict[str, str]) -> Reply:
    SECRETS.update(v for k, v in form.items() if k in SECRET_KEYS)
    url = as_meta["token_endpoint"]
    reply = request("POST", url, form=form)
    show("POST", f"{url} grant_type={form['grant_type']}", reply)
    expect_eq(reply.header("cache-control"), "no-store", "/token cache-control")
    expect_eq(reply.header("pragma"), "no-cache", "/token pragma")
    if reply.status == 200:
        tokens = reply.json()
        SECRETS.update(v for k, v in tokens.items() if k in SECRET_KEYS)
        note(f"token response: {json.dumps(shown(tokens))}")
        expect_eq(sorted(tokens), ["access_token", "expires_in", "refresh_token", "scope", "token_type"],
                  "token response fields")
        expect_eq(tokens["token_type"], "Bearer", "token_type")
        expect_eq(tokens["expires_in"], 3600, "expires_in")
    else:
        note(f"error body: {json.dumps(reply.json())}")
    return reply


def exchange_code(as_meta: dict[str, Any], client_id: str, redirect_uri: str, code: str, verifier: str,
                  resource: str | None) -> Reply:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": client_id, "code_verifier": verifier}
    if resource is not None:
        form["resource"] = resource
    return token_request(as_meta, form)


def refresh(as_meta: dict[str, Any], client_id: str, refresh_token: str, resource: str) -> Reply:
    return token_request(as_meta, {"grant_type": "refresh_token", "refresh_token": refresh_token,
                                   "client_id": client_id, "resource": resource})


def sign_in(as_meta: dict[str, Any], client_id: str, redirect_uri: str, scope: str, resource: str | None) -> dict[str, Any]:
    query, _, verifier = authorize(as_meta, client_id, redirect_uri, scope, resource)
    expect("code" in query, f"an authorization code, got error {query.get('error')}")
    reply = exchange_code(as_meta, client_id, redirect_uri, query["code"][0], verifier, resource)
    expect_eq(reply.status, 200, "code exchange status")
    tokens = reply.json()
    expect_eq(tokens["scope"], scope, "granted scope")
    return tokens


# --- MCP client steps ----------------------------------------------------------------------------


class McpSession:
    def __init__(self, url: str):
        self.url = url
        self.session_id: str | None = None
        self.next_id = 1

    def post(self, token: str | None, method: str, params: dict[str, Any] | None = None, *,
             notification: bool = False) -> Reply:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notification:
            message["id"] = self.next_id
            self.next_id += 1
        headers = {"Accept": MCP_ACCEPT}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if self.session_id is not None:
            headers["Mcp-Session-Id"] = self.session_id
            headers["MCP-Protocol-Version"] = PROTOCOL_VERSION
        reply = request("POST", self.url, headers=headers, json_body=message)
        label = f"{method} {params['name']}" if method == "tools/call" and params else method
        print(f"   POST {urlsplit(self.url).path} [{label}] -> {reply.status}")
        return reply

    def initialize(self, token: str) -> None:
        self.session_id = None
        reply = self.post(token, "initialize", {"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                                                "clientInfo": {"name": "tokenbroker-smoke", "version": "0"}})
        expect_eq(reply.status, 200, "initialize status")
        note(f"content-type: {reply.header('content-type')}; mcp-session-id present: "
             f"{reply.header('mcp-session-id') is not None}")
        expect_eq(reply.rpc()["result"]["protocolVersion"], PROTOCOL_VERSION, "negotiated protocol version")
        self.session_id = reply.header("mcp-session-id")
        expect(self.session_id is not None, "initialize returns an Mcp-Session-Id")
        expect_eq(self.post(token, "notifications/initialized", notification=True).status, 202,
                  "notifications/initialized status")

    def call_tool(self, token: str, name: str) -> Reply:
        return self.post(token, "tools/call", {"name": name, "arguments": {}})


def expect_tool_text(reply: Reply, text: str) -> None:
    expect_eq(reply.status, 200, "tools/call status")
    result = reply.rpc()["result"]
    expect_eq([c.get("text") for c in result["content"]], [text], "tool result text")
    expect(not result.get("isError"), "tool result is not an error")


def expect_challenge(reply: Reply, status: int, challenge: str, body: dict[str, str]) -> None:
    expect_eq(reply.status, status, "status")
    expect_eq(reply.header("www-authenticate"), challenge, "WWW-Authenticate")
    expect_eq(reply.json(), body, "challenge body")
    note(f"www-authenticate: {challenge}")


# --- fixture process -------------------------------------------------------------------------------


class Fixture:
    def __init__(self, python: str, *args: str):
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen([python, FIXTURE, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr)
        # The handshake line is the readiness signal; the watchdog only turns a hang into EOF.
        watchdog = threading.Timer(30, self.process.kill)
        watchdog.start()
        line = self.process.stdout.readline()
        watchdog.cancel()
        expect(line.endswith(b"\n"), "fixture printed its handshake line")
        self.handshake = json.loads(line)
        expect_eq(sorted(self.handshake), ["as", "prm", "rs"], "handshake keys")

    def stop(self, how: str) -> int:
        if how == "stdin":
            self.process.stdin.close()
        else:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise Deviation(f"fixture did not exit after {how}")

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def free_loopback_port() -> socket.socket:
    """A bound loopback socket standing in for the broker's callback listener (kept open so
    the port stays ours; the walk reads the redirect instead of following it)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


# --- the walk --------------------------------------------------------------------------------------


def walk(fixture: Fixture) -> None:
    as_url, rs_url, prm_url = fixture.handshake["as"], fixture.handshake["rs"], fixture.handshake["prm"]
    callback = free_loopback_port()
    redirect_uri = f"http://127.0.0.1:{callback.getsockname()[1]}/callback"
    mcp = McpSession(rs_url)
    print(f"handshake: as={as_url} rs={rs_url} prm={prm_url}")

    step("1. MCP request without a token -> 401 naming the PRM")
    reply = mcp.post(None, "initialize", {"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                                          "clientInfo": {"name": "tokenbroker-smoke", "version": "0"}})
    unauthenticated = (f'Bearer error="invalid_token", error_description="Authentication required", '
                       f'resource_metadata="{prm_url}"')
    expect_challenge(reply, 401, unauthenticated,
                     {"error": "invalid_token", "error_description": "Authentication required"})

    step("2. Protected resource metadata")
    reply = request("GET", prm_url)
    show("GET", prm_url, reply)
    expect_eq(reply.status, 200, "PRM status")
    note(f"cache-control: {reply.header('cache-control')}; body: {reply.body.decode()}")
    expect_eq(reply.json(), {"resource": rs_url, "authorization_servers": [as_url], "scopes_supported": ["files:read"],
                             "bearer_methods_supported": ["header"]}, "PRM document")
    root_prm = request("GET", f"{urlsplit(rs_url)._replace(path='/.well-known/oauth-protected-resource').geturl()}")
    expect_eq(root_prm.status, 404, "root PRM (only the path-suffixed form exists)")

    step("3. Authorization server metadata (RFC 8414)")
    url = f"{as_url}/.well-known/oauth-authorization-server"
    reply = request("GET", url)
    show("GET", url, reply)
    expect_eq(reply.status, 200, "AS metadata status")
    as_meta = reply.json()
    note(f"body: {reply.body.decode()}")
    expect_eq(as_meta["issuer"], as_url, "issuer is exactly the PRM's authorization server")
    expect_eq(as_meta["code_challenge_methods_supported"], ["S256"], "PKCE methods")
    expect_eq(as_meta["scopes_supported"], ["files:read", "files:write"], "AS scopes")
    expect_eq(as_meta["token_endpoint_auth_methods_supported"], ["client_secret_post", "client_secret_basic"],
              "token auth methods (no 'none', though DCR accepts it)")
    expect("authorization_response_iss_parameter_supported" not in as_meta, "no RFC 9207 advertisement")
    expect_eq(as_meta["revocation_endpoint"], f"{as_url}/revoke", "revocation endpoint")

    step("4. Dynamic client registration with the PRM scope (files:read)")
    client1 = register(as_meta, redirect_uri, "files:read")

    step("5. /authorize files:read (auto-approve) and 6. code exchange with PKCE + resource")
    query, _, verifier = authorize(as_meta, client1["client_id"], redirect_uri, "files:read", rs_url)
    expect_eq(sorted(query), ["code", "state"], "redirect carries code and state only")
    code = query["code"][0]
    reply = exchange_code(as_meta, client1["client_id"], redirect_uri, code, "wrong-" + verifier, rs_url)
    expect_eq((reply.status, reply.json()["error"]), (400, "invalid_grant"), "wrong code_verifier")
    reply = exchange_code(as_meta, client1["client_id"], redirect_uri, code, verifier, rs_url)
    expect_eq(reply.status, 200, "code exchange (a failed PKCE check does not burn the code)")
    tokens1 = reply.json()
    expect_eq(tokens1["scope"], "files:read", "granted scope")
    reply = exchange_code(as_meta, client1["client_id"], redirect_uri, code, verifier, rs_url)
    expect_eq((reply.status, reply.json()["error"]), (400, "invalid_grant"), "a code is single-use")

    step("7. MCP initialize + tools/call read with the files:read token")
    mcp.initialize(tokens1["access_token"])
    expect_tool_text(mcp.call_tool(tokens1["access_token"], "read"), "read-ok")

    step("8. tools/call write with the files:read token -> 403 insufficient_scope naming files:write")
    expect_challenge(
        mcp.call_tool(tokens1["access_token"], "write"), 403,
        f'Bearer error="insufficient_scope", scope="files:write", resource_metadata="{prm_url}", '
        f'error_description="Tool \'write\' requires scope files:write"',
        {"error": "insufficient_scope", "error_description": "Tool 'write' requires scope files:write"})

    step("9. Step-up with the same client: /authorize files:read files:write -> invalid_scope redirect")
    query, state, _ = authorize(as_meta, client1["client_id"], redirect_uri, "files:read files:write", rs_url)
    expect_eq({k: v[0] for k, v in query.items() if k != "state"},
              {"error": "invalid_scope", "error_description": "Client was not registered with scope files:write"},
              "invalid_scope redirect")

    step("10. Re-register with files:read files:write, sign in again")
    client2 = register(as_meta, redirect_uri, "files:read files:write")
    tokens2 = sign_in(as_meta, client2["client_id"], redirect_uri, "files:read files:write", rs_url)

    step("11. Old MCP session with the new client's token -> 404; new session; write succeeds")
    reply = mcp.call_tool(tokens2["access_token"], "write")
    expect_eq(reply.status, 404, "session bound to the old client_id")
    note(f"body: {reply.body.decode()}")
    mcp.initialize(tokens2["access_token"])
    expect_tool_text(mcp.call_tool(tokens2["access_token"], "write"), "write-ok")

    step("12. POST /_test/expire-access-tokens -> the access token now gets 401")
    reply = request("POST", f"{as_url}/_test/expire-access-tokens")
    show("POST", f"{as_url}/_test/expire-access-tokens", reply)
    expect(reply.status == 200 and reply.json()["expired"] >= 2, "expired the current access tokens")
    expect_challenge(mcp.call_tool(tokens2["access_token"], "read"), 401, unauthenticated,
                     {"error": "invalid_token", "error_description": "Authentication required"})

    step("13. Refresh rotates the refresh token; same client keeps the MCP session")
    reply = refresh(as_meta, client2["client_id"], tokens2["refresh_token"], rs_url)
    expect_eq(reply.status, 200, "refresh status")
    tokens3 = reply.json()
    expect_eq(tokens3["scope"], "files:read files:write", "refreshed scope")
    expect(tokens3["refresh_token"] != tokens2["refresh_token"], "a new refresh token")
    expect_tool_text(mcp.call_tool(tokens3["access_token"], "write"), "write-ok")

    step("14. Replaying the rotated-out refresh token -> invalid_grant")
    reply = refresh(as_meta, client2["client_id"], tokens2["refresh_token"], rs_url)
    expect_eq((reply.status, reply.json()), (400, {"error": "invalid_grant",
                                                   "error_description": "refresh token does not exist"}),
              "old refresh token")

    step("15. Revocation: RFC 7009 form without client_secret -> 400; with client_secret= -> 200")
    url = as_meta["revocation_endpoint"]
    reply = request("POST", url, form={"token": tokens3["refresh_token"], "token_type_hint": "refresh_token",
                                       "client_id": client2["client_id"]})
    show("POST", url, reply)
    expect_eq((reply.status, reply.json()["error"]), (400, "invalid_request"), "revoke without client_secret")
    note(f"error body: {reply.body.decode()}")
    reply = request("POST", url, form={"token": tokens3["refresh_token"], "token_type_hint": "refresh_token",
                                       "client_id": client2["client_id"], "client_secret": ""})
    show("POST", url, reply)
    expect_eq((reply.status, reply.body), (200, b""), "revoke with empty client_secret")
    expect_eq(reply.header("cache-control"), "no-store", "/revoke cache-control")
    expect_eq(mcp.call_tool(tokens3["access_token"], "read").status, 401, "revoking the RT also kills its AT")
    reply = refresh(as_meta, client2["client_id"], tokens3["refresh_token"], rs_url)
    expect_eq((reply.status, reply.json()["error"]), (400, "invalid_grant"), "revoked refresh token")

    step("16. A token obtained without `resource` is refused by the RS (validate_token_resource)")
    unbound = sign_in(as_meta, client2["client_id"], redirect_uri, "files:read", None)
    reply = McpSession(rs_url).post(unbound["access_token"], "initialize",
                                    {"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                                     "clientInfo": {"name": "tokenbroker-smoke", "version": "0"}})
    expect_eq(reply.status, 401, "unbound token at the RS")

    step("17. The alternative that keeps one client: register with no scope -> AS default (all scopes)")
    client3 = register(as_meta, redirect_uri, None)
    tokens4 = sign_in(as_meta, client3["client_id"], redirect_uri, "files:read", rs_url)
    session = McpSession(rs_url)
    session.initialize(tokens4["access_token"])
    expect_eq(session.call_tool(tokens4["access_token"], "write").status, 403, "write before step-up")
    tokens5 = sign_in(as_meta, client3["client_id"], redirect_uri, "files:read files:write", rs_url)
    expect_tool_text(session.call_tool(tokens5["access_token"], "write"), "write-ok")
    note("step-up with the same client_id: no invalid_scope, and the MCP session survives")

    step("18. Test control: /_test/stats and /_test/log")
    stats = request("GET", f"{as_url}/_test/stats").json()
    print(f"   stats: {json.dumps(stats)}")
    expect_eq(stats, {"metadata": 1, "register": 3, "authorize": 6, "authorize_error": 1,
                      "token_authorization_code": 7, "token_refresh_token": 3, "refresh_invalid_grant": 2,
                      "token_error": 4, "revoke": 2}, "stats")
    log_reply = request("GET", f"{as_url}/_test/log")
    entries = log_reply.json()
    expect_eq([e["path"] for e in entries][:4], ["/.well-known/oauth-authorization-server", "/register",
                                                 "/authorize", "/token"], "log order")
    first_token = entries[3]
    print(f"   log entry: {json.dumps(first_token)}")
    expect_eq(first_token["form_fields"], ["grant_type", "code", "redirect_uri", "client_id", "code_verifier",
                                           "resource"], "token form field names")
    expect_eq((first_token["grant_type"], first_token["resource"], first_token["has_basic_auth"]),
              ("authorization_code", rs_url, False), "token log values")
    expect_eq(entries[1]["registration"]["application_type"], "native", "registration logged")
    leaked = [s for s in SECRETS if s in log_reply.body.decode()]
    expect(not leaked, f"{len(leaked)} secret value(s) appear in /_test/log")
    callback.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter with mcp installed (default: this one)")
    args = parser.parse_args()

    fixture = Fixture(args.python)
    try:
        walk(fixture)
        step("19. Close stdin -> the fixture exits 0; its stderr holds no secret")
        expect_eq(fixture.stop("stdin"), 0, "exit status after stdin EOF")
        leaked = [s for s in SECRETS if s in fixture.stderr_text()]
        expect(not leaked, f"{len(leaked)} secret value(s) appear on the fixture's stderr")

        step("20. --prm-scopes lists every scope in the PRM; SIGTERM -> exit 0")
        wide = Fixture(args.python, "--prm-scopes", "files:read files:write")
        try:
            prm = request("GET", wide.handshake["prm"]).json()
            note(f"PRM scopes_supported: {prm['scopes_supported']}")
            expect_eq(prm["scopes_supported"], ["files:read", "files:write"], "overridden PRM scopes")
            expect_eq(wide.stop("SIGTERM"), 0, "exit status after SIGTERM")
        finally:
            wide.kill()
    except (Deviation, KeyError, ValueError) as error:
        print(f"\nDEVIATION: {type(error).__name__}: {error}", file=sys.stderr)
        print("--- fixture stderr (tail) ---", file=sys.stderr)
        print("\n".join(fixture.stderr_text().splitlines()[-20:]), file=sys.stderr)
        return 1
    finally:
        fixture.kill()
    print("\nsmoke flow: all steps behaved as documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
