#!/usr/bin/env python3
"""Conformance driver: a minimal MCP client whose every token comes from tokenbrokerd.

    TOKENBROKER_SOCKET=/run/user/1000/tokenbroker/socket driver.py [--socket PATH] SERVER_URL

Command line compatible with the official conformance runner (modelcontextprotocol/
conformance `client --command`): the server URL is the last argument;
MCP_CONFORMANCE_SCENARIO names the scenario, MCP_CONFORMANCE_PROTOCOL_VERSION the wire
(2025-11-25 and earlier: `initialize` + `notifications/initialized`; 2026-07-28: the
stateless form with a `_meta` envelope and MCP-Protocol-Version / Mcp-Method / Mcp-Name
headers), MCP_CONFORMANCE_CONTEXT scenario data. Pre-registered credentials in the
context are for the broker's configuration, not for this client: it never talks OAuth.

The client does what the suite's reference client does (connect, tools/list,
tools/call test-tool), except that tokens come from the broker:
  * no token is asked for before the server asks for one;
  * a 401 or 403 is reported to `token/get` (challenge = the WWW-Authenticate lines
    joined with ", ", status, rejectedToken) and the request retried with the answer;
  * once it holds a token it asks `token/get` again before every request, as the
    reference client asks its OAuth provider for tokens before every request (the broker
    answers from its cache, refreshes, or hands out what another client obtained);
    with --challenge-only it keeps the token until a server refuses it instead.

stdout carries one JSON object per line describing what happened ({"event": ...});
tokens, codes and secrets are never written. Exit status 0 when every MCP call
succeeded, 1 otherwise. Standard library only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import sys
import urllib.error
import urllib.request
from typing import Any

STATEFUL_VERSIONS = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}
CLIENT_INFO = {"name": "tokenbroker-conformance-driver", "version": "1.0.0"}
MAX_CHALLENGES_PER_REQUEST = 5  # the broker limits sign-ins; this only stops a runaway


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


class DriverError(Exception):
    pass


class Broker:
    """A tokenbrokerd connection: newline-delimited JSON-RPC 2.0 over a Unix socket."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")
        self.ids = itertools.count(1)

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = next(self.ids)
        line = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}) + "\n"
        self.sock.sendall(line.encode())
        while True:
            raw = self.reader.readline()
            if not raw:
                raise DriverError("tokenbrokerd closed the connection")
            message = json.loads(raw)
            if "id" not in message:
                # authorization/pending: the URL is not secret but not needed either.
                emit("notification", method=message.get("method"))
                continue
            if message.get("id") != request_id:
                continue
            return message

    def token(self, resource: str, **extra: Any) -> dict[str, Any]:
        params = {"resource": resource, "application": "conformance-driver", "waitSeconds": 25}
        params.update({k: v for k, v in extra.items() if v is not None})
        answer = self.call("token/get", params)
        if "error" in answer:
            error = answer["error"]
            data = error.get("data") or {}
            emit("broker-error", reason=data.get("reason"), code=error.get("code"), message=error.get("message"), oauthError=data.get("error"))
            raise DriverError(f"token/get failed: {data.get('reason')}: {error.get('message')}")
        result = answer["result"]
        emit("token", scopes=result.get("scopes"), issuer=result.get("issuer"), resource=result.get("resource"), reason=extra.get("status") or "cache")
        return result


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class MCPClient:
    def __init__(self, url: str, version: str, broker: Broker, ask_before_each_request: bool = True) -> None:
        self.url = url
        self.ask_before_each_request = ask_before_each_request
        self.version = version
        self.stateful = version in STATEFUL_VERSIONS
        self.broker = broker
        self.token: str | None = None
        self.session: str | None = None
        self.negotiated: str | None = None
        self.ids = itertools.count(1)
        self.opener = urllib.request.build_opener(NoRedirect)

    def _post(self, message: dict[str, Any]) -> tuple[int, dict[str, str], list[str], bytes]:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        method = message["method"]
        if self.stateful:
            if self.negotiated:
                headers["MCP-Protocol-Version"] = self.negotiated
            if self.session:
                headers["Mcp-Session-Id"] = self.session
        else:
            headers["MCP-Protocol-Version"] = self.version
            headers["Mcp-Method"] = method
            if method == "tools/call":
                headers["Mcp-Name"] = message["params"]["name"]
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=json.dumps(message).encode(), headers=headers, method="POST")
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers.items()), response.headers.get_all("WWW-Authenticate") or [], response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.headers.get_all("WWW-Authenticate") or [], error.read()

    def send(self, method: str, params: dict[str, Any] | None = None, notification: bool = False) -> Any:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        params = dict(params or {})
        if not self.stateful:
            params["_meta"] = {
                "io.modelcontextprotocol/protocolVersion": self.version,
                "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
                "io.modelcontextprotocol/clientCapabilities": {},
            }
        if params or not notification:
            message["params"] = params
        if not notification:
            message["id"] = next(self.ids)

        challenges = 0
        answered_by_challenge = False
        while True:
            # Like the reference client asking its provider for tokens before each request.
            if self.token is not None and not answered_by_challenge and self.ask_before_each_request:
                self.token = self.broker.token(self.url)["accessToken"]
            answered_by_challenge = False
            status, headers, www_authenticate, body = self._post(message)
            emit("http", method=method, status=status)
            if status in (401, 403):
                challenges += 1
                if challenges > MAX_CHALLENGES_PER_REQUEST:
                    raise DriverError(f"{method}: still {status} after {MAX_CHALLENGES_PER_REQUEST} tokens")
                result = self.broker.token(
                    self.url, challenge=", ".join(www_authenticate) or None, status=status, rejectedToken=self.token
                )
                self.token = result["accessToken"]
                answered_by_challenge = True
                continue
            if notification:
                if status not in (200, 202, 204):
                    raise DriverError(f"{method}: HTTP {status}")
                return None
            if status != 200:
                raise DriverError(f"{method}: HTTP {status}")
            if self.stateful and headers.get("Mcp-Session-Id"):
                self.session = headers["Mcp-Session-Id"]
            answer = self._parse(body, headers.get("Content-Type", ""), message["id"])
            if "error" in answer:
                raise DriverError(f"{method}: JSON-RPC error {answer['error'].get('code')}: {answer['error'].get('message')}")
            return answer.get("result")

    @staticmethod
    def _parse(body: bytes, content_type: str, request_id: int) -> dict[str, Any]:
        text = body.decode("utf-8", "replace")
        if content_type.split(";")[0].strip() == "text/event-stream":
            messages = []
            for line in text.splitlines():
                if line.startswith("data:"):
                    try:
                        messages.append(json.loads(line[5:].strip()))
                    except ValueError:
                        continue
            for candidate in messages:
                if isinstance(candidate, dict) and candidate.get("id") == request_id and ("result" in candidate or "error" in candidate):
                    return candidate
            raise DriverError("no response to the request in the event stream")
        return json.loads(text)

    def run(self) -> None:
        if self.stateful:
            result = self.send(
                "initialize", {"protocolVersion": self.version, "capabilities": {}, "clientInfo": CLIENT_INFO}
            )
            self.negotiated = result.get("protocolVersion", self.version)
            self.send("notifications/initialized", notification=True)
        tools = self.send("tools/list")
        names = [tool.get("name") for tool in (tools or {}).get("tools", [])]
        emit("tools", names=names)
        result = self.send("tools/call", {"name": "test-tool", "arguments": {}})
        emit("called", content=[item.get("text") for item in (result or {}).get("content", [])])


def main() -> int:
    parser = argparse.ArgumentParser(description="MCP conformance client backed by tokenbrokerd")
    parser.add_argument("--socket", default=os.environ.get("TOKENBROKER_SOCKET"))
    parser.add_argument(
        "--challenge-only",
        action="store_true",
        help="keep the token until the server refuses it (ask the broker only on 401/403)",
    )
    parser.add_argument("server_url")
    args = parser.parse_args()
    version = os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION") or "2025-11-25"
    emit("start", scenario=os.environ.get("MCP_CONFORMANCE_SCENARIO"), version=version)
    if not args.socket:
        print("driver: set TOKENBROKER_SOCKET (or --socket) to tokenbrokerd's socket", file=sys.stderr)
        return 2
    try:
        client = MCPClient(args.server_url, version, Broker(args.socket), ask_before_each_request=not args.challenge_only)
        client.run()
    except (DriverError, OSError, ValueError) as error:
        print(f"driver: {error}", file=sys.stderr)
        emit("failed", error=str(error))
        return 1
    emit("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
