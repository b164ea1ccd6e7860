#!/usr/bin/env python3
"""Interop fixture: the official MCP Python SDK's OAuth authorization server and a
protected streamable-HTTP MCP server, on loopback, for tokenbroker's integration tests.

    python mcp_sdk_fixture.py [--access-token-lifetime S] [--prm-scopes "a b"] ...

When both servers listen, exactly one JSON line goes to stdout:
    {"as": "http://127.0.0.1:A", "rs": "http://127.0.0.1:R/mcp",
     "prm": "http://127.0.0.1:R/.well-known/oauth-protected-resource/mcp"}
Logs go to stderr. The process exits on SIGTERM/SIGINT and when stdin reaches EOF.

What is the SDK's and what is ours:
  * AS routes (metadata, /authorize, /token, /register, /revoke): `create_auth_routes`, unmodified.
    Ours: the in-memory `OAuthAuthorizationServerProvider` (auto-approve, policy below).
  * RS: `MCPServer.streamable_http_app` with `AuthSettings` (bearer auth, RequireAuthMiddleware,
    PRM route). Ours: a per-tool scope gate placed inside RequireAuthMiddleware (the SDK has
    no per-tool scopes) and, only with --prm-scopes, a replacement PRM route.
  * /_test/* on the AS port: request log, counters, forced expiry. Never carries secrets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp.server.auth.middleware.bearer_auth import RequireAuthMiddleware
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    ProviderTokenVerifier,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.routes import (
    build_resource_metadata_url,
    create_auth_routes,
    create_protected_resource_routes,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

log = logging.getLogger("interop-fixture")

AS_SCOPES = ["files:read", "files:write"]
SERVER_REQUIRED_SCOPES = ["files:read"]  # AuthSettings.required_scopes: checked by the SDK on every /mcp request
TOOL_SCOPES = {"read": "files:read", "write": "files:write"}  # checked by ToolScopeGate (our code)
AUTH_CODE_LIFETIME = 300
SUBJECT = "interop-user"  # the one resource owner who "approves" every /authorize


# ---------------------------------------------------------------------------------------------
# Authorization server provider (in memory)
# ---------------------------------------------------------------------------------------------


# The SDK lets a provider subclass its token models; `grant` ties every token issued from one
# authorization code (and all refreshes after it) together, so revocation can end the family.
class _Code(AuthorizationCode):
    pass


class _AccessToken(AccessToken):
    grant: str


class _RefreshToken(RefreshToken):
    grant: str


class InMemoryProvider:
    """`OAuthAuthorizationServerProvider` with the policy the broker is tested against:
    auto-approve, single-use codes, access tokens that expire after `access_token_lifetime`,
    rotating refresh tokens, `scope` in every token response, and revocation of a whole grant.

    Runs on the single event loop and never awaits between a check and its update, so
    "single use" holds even for concurrent requests.
    """

    def __init__(self, access_token_lifetime: int):
        self.access_token_lifetime = access_token_lifetime
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, _Code] = {}
        self.access_tokens: dict[str, _AccessToken] = {}
        self.refresh_tokens: dict[str, _RefreshToken] = {}

    # -- clients ----------------------------------------------------------------------------
    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        self.clients[client_info.client_id] = client_info

    # -- authorization code -----------------------------------------------------------------
    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        # No login page: approve at once. With no `scope` parameter the SDK passes None and we
        # grant what the client registered (which the SDK set to default_scopes if it sent none).
        scopes = params.scopes if params.scopes is not None else (client.scope or "").split()
        code = secrets.token_urlsafe(32)
        self.codes[code] = _Code(
            code=code,
            scopes=scopes,
            expires_at=time.time() + AUTH_CODE_LIFETIME,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject=SUBJECT,
        )
        # Like the SDK's examples: code + state only, no RFC 9207 `iss`.
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(self, client: OAuthClientInformationFull, authorization_code: str) -> _Code | None:
        return self.codes.get(authorization_code)

    async def exchange_authorization_code(self, client: OAuthClientInformationFull, authorization_code: _Code) -> OAuthToken:
        # Burn the code here, after the SDK checked PKCE (a failed verifier leaves it usable).
        if self.codes.pop(authorization_code.code, None) is None:
            raise TokenError("invalid_grant", "authorization code does not exist")
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.scopes,
                           authorization_code.resource, grant=secrets.token_hex(8))

    # -- refresh ------------------------------------------------------------------------------
    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> _RefreshToken | None:
        return self.refresh_tokens.get(refresh_token)

    async def exchange_refresh_token(self, client: OAuthClientInformationFull, refresh_token: _RefreshToken,
                                     scopes: list[str]) -> OAuthToken:
        # Rotation: the presented RT dies now; a replay then finds nothing and the SDK answers
        # invalid_grant "refresh token does not exist". The new RT keeps the old RT's scopes,
        # so a narrowed refresh (scope=files:read) can be widened again later.
        if self.refresh_tokens.pop(refresh_token.token, None) is None:
            raise TokenError("invalid_grant", "refresh token does not exist")
        return self._issue(client.client_id, scopes, refresh_token.scopes, refresh_token.resource,
                           grant=refresh_token.grant)

    # -- access tokens and revocation ---------------------------------------------------------
    async def load_access_token(self, token: str) -> _AccessToken | None:
        access = self.access_tokens.get(token)
        if access is None or (access.expires_at is not None and access.expires_at <= time.time()):
            return None
        return access

    async def revoke_token(self, token: _AccessToken | _RefreshToken) -> None:
        # Revoking either half ends the whole grant: its access tokens and its refresh token.
        self._drop_grant(token.grant)

    def _drop_grant(self, grant: str) -> None:
        for table in (self.access_tokens, self.refresh_tokens):
            for key in [k for k, v in table.items() if v.grant == grant]:
                del table[key]

    def _issue(self, client_id: str, scopes: list[str], refresh_scopes: list[str], resource: str | None,
               grant: str) -> OAuthToken:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.access_tokens[access] = _AccessToken(
            token=access, client_id=client_id, scopes=scopes, resource=resource, subject=SUBJECT,
            expires_at=int(time.time()) + self.access_token_lifetime, grant=grant)
        self.refresh_tokens[refresh] = _RefreshToken(
            token=refresh, client_id=client_id, scopes=refresh_scopes, resource=resource, subject=SUBJECT,
            grant=grant)
        return OAuthToken(access_token=access, token_type="Bearer", expires_in=self.access_token_lifetime,
                          scope=" ".join(scopes), refresh_token=refresh)

    def expire_access_tokens(self) -> int:
        """Test control: every current access token becomes expired (refresh tokens stay valid)."""
        past = int(time.time()) - 1
        for access in self.access_tokens.values():
            access.expires_at = past
        return len(self.access_tokens)


# ---------------------------------------------------------------------------------------------
# ASGI helpers
# ---------------------------------------------------------------------------------------------


async def read_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body, and return it with a `receive` that replays it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # a disconnect: let the app see it
            pending: list[Message] = [message]
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
            break

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return b"".join(chunks), replay


def header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


# ---------------------------------------------------------------------------------------------
# Resource server: per-tool scope gate
# ---------------------------------------------------------------------------------------------


class ToolScopeGate:
    """Answers `tools/call` of a tool whose scope the bearer token lacks with HTTP 403 and an
    RFC 6750 challenge that names the scope (MCP 2025-11-25 "Scope Challenge Handling").

    Sits inside the SDK's RequireAuthMiddleware, so the token is already valid and carries the
    server-wide scope when this runs; the SDK's own 403 (no `scope=`) handles the rest.
    """

    def __init__(self, app: ASGIApp, tool_scopes: dict[str, str], resource_metadata_url: str):
        self.app = app
        self.tool_scopes = tool_scopes
        self.resource_metadata_url = resource_metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, receive = await read_body(receive)
        granted = set(getattr(scope.get("auth"), "scopes", []) or [])
        for tool in self._called_tools(body):
            needed = self.tool_scopes.get(tool)
            if needed and needed not in granted:
                await self._forbid(send, tool, needed)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _called_tools(body: bytes) -> list[str]:
        try:
            parsed = json.loads(body)
        except ValueError:
            return []  # not ours to answer: the SDK replies with a JSON-RPC parse error
        messages = parsed if isinstance(parsed, list) else [parsed]
        return [
            m["params"]["name"]
            for m in messages
            if isinstance(m, dict) and m.get("method") == "tools/call"
            and isinstance(m.get("params"), dict) and isinstance(m["params"].get("name"), str)
        ]

    async def _forbid(self, send: Send, tool: str, needed: str) -> None:
        description = f"Tool '{tool}' requires scope {needed}"
        challenge = (f'Bearer error="insufficient_scope", scope="{needed}", '
                     f'resource_metadata="{self.resource_metadata_url}", error_description="{description}"')
        body = json.dumps({"error": "insufficient_scope", "error_description": description}).encode()
        await send({"type": "http.response.start", "status": 403, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", challenge.encode()),
        ]})
        await send({"type": "http.response.body", "body": body})


class FaultInjector:
    """Answers `tools/call` of the tools named `fault-*` the way broken servers do, for the
    bridge's fault tests. Inside the auth layer, like ToolScopeGate: a valid token is still
    required, and 401/403 behave as for any request.

      fault-500      HTTP 500, text body
      fault-garbage  HTTP 200, content-type application/json, a body that is not JSON
      fault-cut      HTTP 200 text/event-stream, one notification event (no id), then the
                     connection ends without the response
      fault-session  HTTP 404 with the JSON-RPC "Session not found" error, as a server that
                     dropped the session answers
      fault-resume   HTTP 200 text/event-stream: an event with `id: resume-N` and `retry: 50`,
                     then the connection ends; a GET with `Last-Event-ID: resume-N` then gets
                     the answer ("resumed-ok") on a new stream (MCP's resumability)
    """

    def __init__(self, app: ASGIApp):
        self.app = app
        self.resumable: dict[str, Any] = {}  # event id -> the JSON-RPC id its stream owed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and header(scope, b"last-event-id") in self.resumable:
            request_id = self.resumable.pop(header(scope, b"last-event-id"))
            answer = json.dumps({"jsonrpc": "2.0", "id": request_id,
                                 "result": {"content": [{"type": "text", "text": "resumed-ok"}], "isError": False}})
            await self._stream(send, f"id: resumed\ndata: {answer}\n\n".encode())
            return
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, receive = await read_body(receive)
        faults = [tool for tool in ToolScopeGate._called_tools(body) if tool.startswith("fault-")]
        if not faults:
            await self.app(scope, receive, send)
            return
        fault = faults[0]
        if fault == "fault-500":
            await self._answer(send, 500, b"text/plain", b"internal server error")
        elif fault == "fault-garbage":
            await self._answer(send, 200, b"application/json", b"this is not json{")
        elif fault == "fault-cut":
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
            event = json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                                "params": {"level": "info", "data": "about to break"}})
            await send({"type": "http.response.body", "body": f"event: message\ndata: {event}\n\n".encode(),
                        "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif fault == "fault-resume":
            event_id = f"resume-{len(self.resumable) + 1}"
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self.resumable[event_id] = json.loads(body)["id"]
            notification = json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                                       "params": {"level": "info", "data": "before the break"}})
            await self._stream(send, f"id: {event_id}\nretry: 50\ndata: {notification}\n\n".encode())
        else:  # fault-session
            error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Session not found"}}
            await self._answer(send, 404, b"application/json", json.dumps(error).encode())

    @staticmethod
    async def _stream(send: Send, events: bytes) -> None:
        """An SSE response with `events`, then the end of the connection."""
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
        await send({"type": "http.response.body", "body": events, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _answer(send: Send, status: int, content_type: bytes, body: bytes) -> None:
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class ResourceServerLog:
    """Every request to the resource server's MCP endpoints, for /_test/rs-log: method, path,
    status, and the transport headers a bridge must send. Whether `Authorization` was
    present, never its value."""

    def __init__(self, app: ASGIApp, entries: list[dict[str, Any]], paths: tuple[str, ...]):
        self.app = app
        self.entries = entries
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.paths):
            await self.app(scope, receive, send)
            return
        body, receive = await read_body(receive)
        entry: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "has_authorization": bool(header(scope, b"authorization")),
            "has_session_id": bool(header(scope, b"mcp-session-id")),
            "mcp_protocol_version": header(scope, b"mcp-protocol-version") or None,
            "mcp_method": header(scope, b"mcp-method") or None,
            "mcp_name": header(scope, b"mcp-name") or None,
            "last_event_id": header(scope, b"last-event-id") or None,
            "accept": header(scope, b"accept") or None,
            "rpc_method": None,
        }
        with contextlib.suppress(ValueError, AttributeError):
            message = json.loads(body) if body else None
            if isinstance(message, dict):
                entry["rpc_method"] = message.get("method")
        self.entries.append(entry)

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        await self.app(scope, receive, recording_send)


def build_resource_server(provider: InMemoryProvider, auth: AuthSettings, prm_scopes: list[str] | None,
                          args: argparse.Namespace, rs_log: list[dict[str, Any]]) -> Starlette:
    mcp = MCPServer(name="tokenbroker-interop", token_verifier=ProviderTokenVerifier(provider), auth=auth)

    @mcp.tool(name="read", description="Reads a file. Requires files:read.")
    def read_tool() -> str:
        return "read-ok"

    @mcp.tool(name="write", description="Writes a file. Requires files:write.")
    def write_tool() -> str:
        return "write-ok"

    @mcp.tool(name="notify", description="Sends a log message on its answer's stream and a tools/list_changed "
                                         "on the session's stream, then returns. Requires files:read.")
    async def notify_tool(ctx: Context) -> str:
        await ctx.info("notify-log")  # related to this request: rides its SSE answer
        with contextlib.suppress(Exception):  # unrelated: the GET stream, which only a stateful server has
            await ctx.session.send_tool_list_changed()
        return "notify-ok"

    prm_url = str(build_resource_metadata_url(auth.resource_server_url))
    prm_path = urlsplit(prm_url).path
    if args.legacy_sse:
        app = build_legacy_resource_server(mcp, auth, prm_url, rs_log)
        if prm_scopes is not None:
            replace_prm_route(app, auth, prm_path, prm_scopes)
        return app
    app = mcp.streamable_http_app(host="127.0.0.1", json_response=args.json_response, stateless_http=args.stateless)

    # Two small changes to the app the SDK built, found by path and checked by type so an SDK
    # upgrade that moves things fails loudly instead of silently testing something else.
    mcp_route = next(r for r in app.router.routes if isinstance(r, Route) and r.path == "/mcp")
    require_auth = mcp_route.endpoint
    if not isinstance(require_auth, RequireAuthMiddleware):
        raise RuntimeError(f"unexpected /mcp endpoint {type(require_auth).__name__}; SDK layout changed")
    require_auth.app = ToolScopeGate(FaultInjector(require_auth.app), TOOL_SCOPES, prm_url)

    if prm_scopes is not None:
        replace_prm_route(app, auth, prm_path, prm_scopes)
    app.add_middleware(ResourceServerLog, entries=rs_log, paths=("/mcp",))
    return app


def replace_prm_route(app: Starlette, auth: AuthSettings, prm_path: str, prm_scopes: list[str]) -> None:
    """The SDK's PRM always lists required_scopes; --prm-scopes swaps in its own route builder
    with another list. Everything else about the document stays the SDK's."""
    index = next(i for i, r in enumerate(app.router.routes) if isinstance(r, Route) and r.path == prm_path)
    app.router.routes[index] = create_protected_resource_routes(
        resource_url=auth.resource_server_url,
        authorization_servers=[auth.issuer_url],
        scopes_supported=prm_scopes,
    )[0]


def build_legacy_resource_server(mcp: MCPServer, auth: AuthSettings, prm_url: str,
                                 rs_log: list[dict[str, Any]]) -> Starlette:
    """The 2024-11-05 HTTP+SSE transport only (the SDK's `sse_app`): GET /sse for the stream,
    POST /messages/ for each message, both behind the same bearer auth and scope gate. A POST
    to /sse gets 405, as an old server answers a Streamable HTTP client."""
    app = mcp.sse_app(host="127.0.0.1")
    messages = next(r for r in app.router.routes if isinstance(r, Mount) and r.path == "/messages")
    require_auth = messages.app
    if not isinstance(require_auth, RequireAuthMiddleware):
        raise RuntimeError(f"unexpected /messages app {type(require_auth).__name__}; SDK layout changed")
    require_auth.app = ToolScopeGate(require_auth.app, TOOL_SCOPES, prm_url)
    app.add_middleware(ResourceServerLog, entries=rs_log, paths=("/sse", "/messages"))
    return app


# ---------------------------------------------------------------------------------------------
# Authorization server: request log and test control
# ---------------------------------------------------------------------------------------------


class RequestLog:
    """What the AS received, in arrival order, as parameter *names* plus the few values a test
    asserts on (grant_type, scope, resource, client_id, ...). Never a token, code, verifier,
    state or secret value."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def stats(self) -> dict[str, int]:
        def count(pred: Callable[[dict[str, Any]], bool]) -> int:
            return sum(1 for e in self.entries if pred(e))

        def token(grant: str) -> Callable[[dict[str, Any]], bool]:
            return lambda e: e["path"] == "/token" and e.get("grant_type") == grant

        return {
            "metadata": count(lambda e: e["path"].startswith("/.well-known/")),
            "register": count(lambda e: e["path"] == "/register"),
            "authorize": count(lambda e: e["path"] == "/authorize"),
            "authorize_error": count(lambda e: e["path"] == "/authorize" and "error" in e),
            "token_authorization_code": count(token("authorization_code")),
            "token_refresh_token": count(token("refresh_token")),
            "refresh_invalid_grant": count(lambda e: token("refresh_token")(e) and e.get("error") == "invalid_grant"),
            "token_error": count(lambda e: e["path"] == "/token" and "error" in e),
            "revoke": count(lambda e: e["path"] == "/revoke"),
        }


class RequestLogMiddleware:
    """Pure ASGI wrapper around the AS app that records each OAuth request and its outcome."""

    # Values worth asserting on and never secret. Everything else is recorded by name only.
    VALUE_FIELDS = ("grant_type", "scope", "resource", "client_id", "redirect_uri", "code_challenge_method",
                    "token_type_hint", "response_type")
    REGISTRATION_FIELDS = ("application_type", "token_endpoint_auth_method", "grant_types", "response_types",
                           "redirect_uris", "client_name")

    def __init__(self, app: ASGIApp, request_log: RequestLog):
        self.app = app
        self.request_log = request_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_test/"):
            await self.app(scope, receive, send)
            return
        body, receive = await read_body(receive)
        entry = self._describe(scope, body)
        self.request_log.entries.append(entry)  # on arrival, so the log keeps request order
        response_body = bytearray()

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                headers = {k.lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
                location = headers.get(b"location")
                if location:  # /authorize: only facts about the redirect, never the code or state
                    redirect = parse_qs(urlsplit(location).query)
                    if "error" in redirect:
                        entry["error"] = redirect["error"][0]
                    entry["redirect_has_iss"] = "iss" in redirect
            elif message["type"] == "http.response.body" and self._keeps_body(entry):
                response_body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                document = json.loads(response_body) if response_body else {}
                if "error" in document:
                    entry["error"] = document["error"]
                if entry["path"] == "/register" and "client_id" in document:
                    entry["client_id"] = document["client_id"]  # assigned by the AS; not a secret
            log.info("AS %s", json.dumps(entry))

    @staticmethod
    def _keeps_body(entry: dict[str, Any]) -> bool:
        # Error bodies (for the error code) and the registration response (for client_id);
        # never a /token success body.
        return entry.get("status", 0) >= 400 or entry["path"] == "/register"

    def _describe(self, scope: Scope, body: bytes) -> dict[str, Any]:
        entry: dict[str, Any] = {"path": scope["path"], "method": scope["method"]}
        content_type = header(scope, b"content-type")
        params: dict[str, Any] = {}
        names: list[str] = []
        if scope["method"] == "GET":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            params, names = {k: v[0] for k, v in query.items()}, list(query)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            params, names = {k: v[0] for k, v in form.items()}, list(form)
        elif content_type.startswith("application/json"):
            with contextlib.suppress(ValueError):
                document = json.loads(body)
                if isinstance(document, dict):
                    params, names = document, list(document)
                    entry["registration"] = {k: document[k] for k in self.REGISTRATION_FIELDS if k in document}
        for name in self.VALUE_FIELDS:
            if isinstance(params.get(name), str):
                entry[name] = params[name]
        entry["has_basic_auth"] = header(scope, b"authorization").startswith("Basic ")
        entry["form_fields"] = names
        return entry


def build_authorization_server(provider: InMemoryProvider, auth: AuthSettings, request_log: RequestLog,
                               rs_log: list[dict[str, Any]]) -> Starlette:
    routes = create_auth_routes(
        provider=provider,
        issuer_url=auth.issuer_url,
        client_registration_options=ClientRegistrationOptions(
            enabled=True, valid_scopes=AS_SCOPES, default_scopes=AS_SCOPES),
        revocation_options=RevocationOptions(enabled=True),
    )

    async def get_log(_: Request) -> JSONResponse:
        return JSONResponse(request_log.entries)

    async def get_stats(_: Request) -> JSONResponse:
        return JSONResponse(request_log.stats())

    async def expire_access_tokens(_: Request) -> JSONResponse:
        return JSONResponse({"expired": provider.expire_access_tokens()})

    async def get_rs_log(_: Request) -> JSONResponse:
        return JSONResponse(rs_log)

    routes += [
        Route("/_test/log", get_log, methods=["GET"]),
        Route("/_test/stats", get_stats, methods=["GET"]),
        Route("/_test/expire-access-tokens", expire_access_tokens, methods=["POST"]),
        Route("/_test/rs-log", get_rs_log, methods=["GET"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(RequestLogMiddleware, request_log=request_log)])


# ---------------------------------------------------------------------------------------------
# Process: two uvicorn servers, handshake line, shutdown on signal or stdin EOF
# ---------------------------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn.Server that reports when it listens and leaves signals to `main` (two servers
    in one process must not each install, and later restore, their own handlers)."""

    def __init__(self, config: uvicorn.Config):
        super().__init__(config)
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()


def loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it a streamed answer's first chunk waits for
    # the client's delayed ACK (40 ms) on every reused connection, as no real deployment does.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def watch_stdin(on_eof: Callable[[], None]) -> None:
    """Call `on_eof` when stdin closes, so a crashed parent never leaves the fixture running."""

    def wait() -> None:
        # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader aborts the
        # interpreter at exit ("could not acquire lock for <stdin>").
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        on_eof()

    threading.Thread(target=wait, name="stdin-watch", daemon=True).start()


async def serve(args: argparse.Namespace) -> int:
    as_sock, rs_sock = loopback_socket(), loopback_socket()
    as_url = f"http://127.0.0.1:{as_sock.getsockname()[1]}"
    rs_url = f"http://127.0.0.1:{rs_sock.getsockname()[1]}/{'sse' if args.legacy_sse else 'mcp'}"
    # AuthSettings keeps the issuer without a trailing slash (RFC 8414 exact comparison).
    auth = AuthSettings(
        issuer_url=as_url,
        resource_server_url=rs_url,
        required_scopes=SERVER_REQUIRED_SCOPES,
        validate_token_resource=args.validate_token_resource,
    )
    provider = InMemoryProvider(args.access_token_lifetime)
    request_log = RequestLog()
    rs_log: list[dict[str, Any]] = []
    apps = [
        (build_authorization_server(provider, auth, request_log, rs_log), as_sock, "off"),
        # lifespan runs the session manager
        (build_resource_server(provider, auth, args.prm_scopes, args, rs_log), rs_sock, "on"),
    ]
    servers = [
        _Server(uvicorn.Config(app, lifespan=lifespan, http="h11", log_config=None, access_log=False,
                               timeout_graceful_shutdown=2,
                               # uvicorn's 5 s default closes idle connections while a slow (loaded)
                               # test's client is about to reuse them: remoteConnectionClosed.
                               timeout_keep_alive=75))
        for app, _, lifespan in apps
    ]

    loop = asyncio.get_running_loop()

    def stop(reason: str) -> None:
        log.info("stopping: %s", reason)
        for server in servers:
            server.force_exit = server.should_exit  # a second signal skips the graceful wait
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, signal.Signals(sig).name)
    if not args.ignore_stdin:
        def stdin_closed() -> None:
            with contextlib.suppress(RuntimeError):  # the loop may already be gone
                loop.call_soon_threadsafe(stop, "stdin closed")

        watch_stdin(stdin_closed)

    tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, (_, sock, _) in zip(servers, apps)]
    ready = asyncio.ensure_future(asyncio.gather(*(s.listening.wait() for s in servers)))
    await asyncio.wait([ready, *tasks], return_when=asyncio.FIRST_COMPLETED)
    if ready.done() and not any(s.should_exit for s in servers):
        prm_url = str(build_resource_metadata_url(auth.resource_server_url))
        print(json.dumps({"as": as_url, "rs": rs_url, "prm": prm_url}), flush=True)
    else:
        ready.cancel()
    await asyncio.gather(*tasks)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--access-token-lifetime", type=int, default=3600, metavar="SECONDS",
                        help="expires_in of issued access tokens (default 3600)")
    parser.add_argument("--prm-scopes", type=lambda s: s.split(), default=None, metavar='"S1 S2"',
                        help="scopes_supported of the protected resource metadata "
                             "(default: the SDK's, i.e. the server-wide required scope files:read)")
    parser.add_argument("--no-validate-token-resource", dest="validate_token_resource", action="store_false",
                        help="accept tokens not bound to this resource (RFC 8707); by default the SDK's "
                             "AuthSettings.validate_token_resource is on, so a token got without `resource` is refused")
    parser.add_argument("--json-response", action="store_true",
                        help="answer POSTs with JSON bodies instead of SSE streams (the SDK's json_response)")
    parser.add_argument("--stateless", action="store_true",
                        help="the SDK's stateless HTTP mode: no Mcp-Session-Id, no GET stream")
    parser.add_argument("--legacy-sse", action="store_true",
                        help="speak only the 2024-11-05 HTTP+SSE transport: GET /sse (the handshake's rs), POST /messages/")
    parser.add_argument("--ignore-stdin", action="store_true",
                        help="keep running when stdin closes (for running by hand with </dev/null)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()

    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
