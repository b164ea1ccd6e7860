"""The fake authorization server and MCP resource server of the conformance fixture.

A re-creation, in the Python standard library, of the official MCP conformance suite's
`createAuthServer` / `createServer` / `MockTokenVerifier` helpers
(modelcontextprotocol/conformance, src/scenarios/client/auth/helpers), with the knobs its
scenarios use and a few it lacks (see README.md beside this file). Standard library only (http.server + threads): the
suite's own npm dependencies cannot be installed here, and a fixture that needs no
packages runs wherever python3 does, so `swift test` never skips it.

Every request is recorded; checks are added as the official helpers add them (same ids,
same statuses). Nothing here prints: tokens, codes, verifiers and client secrets stay in
memory and never reach a check description.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SUCCESS, WARNING, FAILURE, INFO = "SUCCESS", "WARNING", "FAILURE", "INFO"

STATEFUL_VERSIONS = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}


def is_stateful(spec_version: str) -> bool:
    """2025-11-25 and earlier use initialize + sessions; 2026-07-28 is stateless (SEP-2575)."""
    return spec_version in STATEFUL_VERSIONS


class Checks:
    """The scenario's check list, shared by every fake of a run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[dict[str, Any]] = []

    def add(self, check_id: str, status: str, description: str) -> None:
        with self._lock:
            self._items.append({"id": check_id, "status": status, "description": description})

    def has(self, check_id: str) -> bool:
        with self._lock:
            return any(item["id"] == check_id for item in self._items)

    def count(self, check_id: str) -> int:
        with self._lock:
            return sum(1 for item in self._items if item["id"] == check_id)

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items)


@dataclass
class Request:
    """One HTTP request as a fake saw it."""

    server: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    form: dict[str, str] = field(default_factory=dict)
    json: Any = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @staticmethod
    def json(status: int, value: Any, headers: list[tuple[str, str]] | None = None) -> "Response":
        return Response(status, json.dumps(value).encode(), [("Content-Type", "application/json")] + (headers or []))

    @staticmethod
    def redirect(location: str) -> "Response":
        return Response(302, b"", [("Location", location)])


class RequestLog:
    """Every request of a run, in arrival order, for the checks computed at the end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Request] = []

    def add(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def where(self, server: str | None = None, method: str | None = None, path: str | None = None) -> list[Request]:
        with self._lock:
            return [
                r
                for r in self._requests
                if (server is None or r.server == server)
                and (method is None or r.method == method)
                and (path is None or r.path == path)
            ]

    def all(self) -> list[Request]:
        with self._lock:
            return list(self._requests)


class TokenStore:
    """MockTokenVerifier: access tokens and their scopes, shared by the fakes of a run.

    Like the suite's verifier, any token starting with `test-token` or `cc-token` is
    accepted (with the scopes registered at issuance, or none). A token the scenario
    declared dead (expired, revoked) is refused without a FAILURE: that is the scenario's
    doing, not the client's.
    """

    def __init__(self, checks: Checks) -> None:
        self._lock = threading.Lock()
        self._scopes: dict[str, list[str]] = {}
        self._dead: set[str] = set()
        self._uses: dict[str, int] = {}
        self.checks = checks

    def register(self, token: str, scopes: list[str]) -> None:
        with self._lock:
            self._scopes[token] = list(scopes)

    def kill(self, token: str) -> None:
        with self._lock:
            self._dead.add(token)

    def note_use(self, token: str) -> int:
        """Counts a successful use; returns how many there were."""
        with self._lock:
            self._uses[token] = self._uses.get(token, 0) + 1
            return self._uses[token]

    def issued(self) -> list[str]:
        with self._lock:
            return list(self._scopes)

    def verify(self, token: str) -> tuple[str, list[str]]:
        """Returns ("valid", scopes), ("dead", []) or ("invalid", [])."""
        with self._lock:
            dead = token in self._dead
            scopes = list(self._scopes.get(token, []))
        if dead:
            return "dead", []
        if token.startswith("test-token") or token.startswith("cc-token"):
            self.checks.add("valid-bearer-token", SUCCESS, "Client provided valid bearer token")
            return "valid", scopes
        self.checks.add("invalid-bearer-token", FAILURE, "Client provided invalid bearer token")
        return "invalid", []


# ---------------------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class LoopbackApp:
    """A tiny router on its own loopback port. `http://localhost:<port>` like the suite.

    `host.mount(app)` serves another app's routes on the host's port instead (the suite's
    `app.use(authApp)` in march-spec-backcompat.ts: a 2025-03-26 server is its own
    authorization server). The mounted app then has no port of its own: its `base` is the
    host's, its start and stop do nothing, and the request log still names it as the
    server of the requests its routes answered."""

    name = "app"

    def __init__(self, log: RequestLog) -> None:
        self.log = log
        self.routes: dict[tuple[str, str], Callable[[Request], Response]] = {}
        self.owners: dict[tuple[str, str], str] = {}  # route -> name of the mounted app it came from
        self.host: LoopbackApp | None = None
        self._servers: list[_Server] = []
        self.port = 0
        # Exceptions in the fixture's own handlers: reported as a FAILURE, never hidden.
        self.errors: list[str] = []

    @property
    def base(self) -> str:
        if self.host is not None:
            return self.host.base
        return f"http://localhost:{self.port}"

    def route(self, method: str, path: str, handler: Callable[[Request], Response]) -> None:
        self.routes[(method, path)] = handler

    def mount(self, other: "LoopbackApp") -> None:
        """Serve `other`'s routes (all of them, as they are now) on this app's port."""
        clashes = sorted(f"{method} {path}" for method, path in other.routes if (method, path) in self.routes)
        if clashes:
            raise ValueError(f"cannot mount {other.name} on {self.name}: both route {', '.join(clashes)}")
        for key, handler in other.routes.items():
            self.routes[key] = handler
            self.owners[key] = other.owners.get(key, other.name)
        other.host = self

    def start(self) -> None:
        if self.host is not None:
            return  # mounted: served by the host
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
                pass

            def _handle(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    server=app.owners.get((self.command, split.path), app.name),
                    method=self.command,
                    path=split.path,
                    query=dict(parse_qsl(split.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
                if content_type == "application/x-www-form-urlencoded":
                    request.form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
                elif content_type == "application/json" and body:
                    try:
                        request.json = json.loads(body)
                    except ValueError:
                        request.json = None
                app.log.add(request)
                handler = app.routes.get((self.command, split.path))
                try:
                    response = handler(request) if handler else Response.json(404, {"error": "not_found"})
                except Exception as error:  # a fixture bug must not hang the client
                    app.errors.append(f"{self.command} {split.path}: {type(error).__name__}: {error}"[:300])
                    response = Response.json(500, {"error": "fixture_error", "error_description": type(error).__name__})
                self.send_response(response.status)
                for name, value in response.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if response.body and self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle  # noqa: N815

        primary = _Server(("127.0.0.1", 0), Handler)
        self.port = primary.server_address[1]
        self._servers.append(primary)
        # `localhost` may resolve to ::1 first; answer there too when the host has IPv6.
        try:

            class _Server6(_Server):
                address_family = socket.AF_INET6

            self._servers.append(_Server6(("::1", self.port), Handler))
        except OSError:
            pass
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(client_id, secret) from an `Authorization: Basic` header, split at the first colon."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:]).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if ":" not in decoded:
        return None
    client_id, secret = decoded.split(":", 1)
    return client_id, secret


_token_counter = itertools.count(1)


def new_token(prefix: str) -> str:
    return f"{prefix}-{int(time.time() * 1000)}-{next(_token_counter)}"


# ---------------------------------------------------------------------------------------
# Authorization server (createAuthServer)
# ---------------------------------------------------------------------------------------


class AuthServer(LoopbackApp):
    """The suite's fake authorization server, with the knobs its scenarios use plus a few
    the suite lacks (token `scope` omitted or narrowed, refresh tokens with rotation and
    reuse protection, refresh refused with `invalid_grant`). `grant_types` and
    `signing_algs` are the suite's grantTypesSupported and
    tokenEndpointAuthSigningAlgValuesSupported (the client-credentials scenarios)."""

    def __init__(
        self,
        name: str,
        checks: Checks,
        log: RequestLog,
        tokens: TokenStore,
        spec_version: str,
        *,
        metadata_path: str = "/.well-known/oauth-authorization-server",
        oidc: bool = False,
        route_prefix: str = "",
        scopes_supported: list[str] | None = None,
        auth_methods: list[str] | None = None,
        grant_types: list[str] | None = None,
        signing_algs: list[str] | None = None,
        cimd_supported: bool | None = None,
        registration: bool = True,
        code_challenge_methods: list[str] | None = ["S256"],  # noqa: B006 - None means "omit"
        iss_supported: bool | None = True,
        iss_mode: str = "correct",
        metadata_issuer: str | Callable[[], str] | None = None,
        token_prefix: str = "test-token",
        token_scope: str = "echo",  # echo | omit | narrow
        narrow_to: list[str] | None = None,
        refresh_tokens: bool = False,
        refuse_refresh: bool = False,
        on_register: Callable[[Request], dict[str, Any]] | None = None,
        on_authorize: Callable[[dict[str, Any]], None] | None = None,
        on_token: Callable[[Request], dict[str, Any] | None] | None = None,
        traps: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(log)
        self.name = name
        self.checks = checks
        self.tokens = tokens
        self.spec_version = spec_version
        self.metadata_path = metadata_path
        self.oidc = oidc
        self.route_prefix = route_prefix
        self.scopes_supported = scopes_supported
        self.auth_methods = auth_methods if auth_methods is not None else ["none"]
        self.grant_types = grant_types if grant_types is not None else ["authorization_code", "refresh_token"]
        self.signing_algs = signing_algs
        self.cimd_supported = cimd_supported
        self.registration = registration
        self.code_challenge_methods = code_challenge_methods
        self.iss_supported = iss_supported
        self.iss_mode = iss_mode
        self.metadata_issuer = metadata_issuer
        self.token_prefix = token_prefix
        self.token_scope = token_scope
        self.narrow_to = narrow_to or []
        self.refresh_tokens = refresh_tokens
        self.refuse_refresh = refuse_refresh
        self.on_register = on_register
        self.on_authorize = on_authorize
        self.on_token = on_token
        self._lock = threading.Lock()
        self._last_scopes: list[str] = []
        self._challenge: str | None = None
        # Refresh tokens: token -> family; each family's current token; revoked families.
        self._rt_family: dict[str, int] = {}
        self._family_current: dict[int, str] = {}
        self._family_access: dict[int, list[str]] = {}
        self._family_scopes: dict[int, list[str]] = {}
        self._revoked_families: set[int] = set()
        self._families = itertools.count(1)
        self.refresh_reuse_detected = False

        prefix = route_prefix
        self.route("GET", metadata_path, self._metadata)
        self.route("GET", f"{prefix}/authorize", self._authorize)
        self.route("POST", f"{prefix}/token", self._token)
        self.route("POST", f"{prefix}/register", self._register)
        for path, (check_id, description) in (traps or {}).items():
            self.route("GET", path, self._trap(check_id, description))

    # The issuer this server publishes (metadata `issuer` and the RFC 9207 `iss`);
    # `metadata_issuer` may be a function, as the suite's lazy getter, for a URL known
    # only once the servers listen.
    @property
    def issuer(self) -> str:
        if callable(self.metadata_issuer):
            return self.metadata_issuer()
        return self.metadata_issuer or f"{self.base}{self.route_prefix}"

    @property
    def url(self) -> str:
        """What the resource's metadata lists in `authorization_servers`."""
        return f"{self.base}{self.route_prefix}"

    def _trap(self, check_id: str, description: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            self.checks.add(check_id, FAILURE, description)
            return Response(404, b"Not Found", [("Content-Type", "text/plain")])

        return handler

    def _metadata(self, request: Request) -> Response:
        self.checks.add("authorization-server-metadata", SUCCESS, "Client requested authorization server metadata")
        base, prefix = self.base, self.route_prefix
        metadata: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}{prefix}/authorize",
            "token_endpoint": f"{base}{prefix}/token",
        }
        if self.registration:
            metadata["registration_endpoint"] = f"{base}{prefix}/register"
        metadata["response_types_supported"] = ["code"]
        metadata["grant_types_supported"] = self.grant_types
        if self.code_challenge_methods is not None:
            metadata["code_challenge_methods_supported"] = self.code_challenge_methods
        if self.iss_supported is not None:
            metadata["authorization_response_iss_parameter_supported"] = self.iss_supported
        metadata["token_endpoint_auth_methods_supported"] = self.auth_methods
        if self.signing_algs is not None:
            metadata["token_endpoint_auth_signing_alg_values_supported"] = self.signing_algs
        if self.scopes_supported is not None:
            metadata["scopes_supported"] = self.scopes_supported
        if self.cimd_supported is not None:
            metadata["client_id_metadata_document_supported"] = self.cimd_supported
        if self.oidc:
            metadata["jwks_uri"] = f"{base}/.well-known/jwks.json"
            metadata["subject_types_supported"] = ["public"]
            metadata["id_token_signing_alg_values_supported"] = ["RS256"]
        return Response.json(200, metadata)

    def _authorize(self, request: Request) -> Response:
        query = request.query
        self.checks.add("authorization-request", SUCCESS, "Client made authorization request")
        challenge = query.get("code_challenge")
        method = query.get("code_challenge_method")
        with self._lock:
            self._challenge = challenge
            scope = query.get("scope")
            self._last_scopes = scope.split(" ") if scope else []
        self.checks.add(
            "pkce-code-challenge-sent",
            SUCCESS if challenge else FAILURE,
            "Client sent code_challenge in authorization request"
            if challenge
            else "Client MUST send code_challenge in authorization request",
        )
        self.checks.add(
            "pkce-s256-method-used",
            SUCCESS if method == "S256" else FAILURE,
            "Client used S256 code challenge method"
            if method == "S256"
            else f"Client MUST use S256 code challenge method (got {method or 'none'})",
        )
        if self.on_authorize:
            self.on_authorize({"clientId": query.get("client_id"), "scope": query.get("scope"), "resource": query.get("resource")})

        redirect_uri = query.get("redirect_uri")
        if not redirect_uri:
            return Response.json(400, {"error": "invalid_request", "error_description": "redirect_uri is required"})
        # URLSearchParams.set semantics: replace existing parameters of the same name.
        split = urlsplit(redirect_uri)
        params = [(k, v) for k, v in parse_qsl(split.query, keep_blank_values=True) if k not in {"code", "state", "iss"}]
        params.append(("code", "test-auth-code"))
        if query.get("state"):
            params.append(("state", query["state"]))
        if self.iss_mode == "correct":
            params.append(("iss", self.issuer))
        elif self.iss_mode == "wrong":
            params.append(("iss", "https://evil.example.com"))
        elif self.iss_mode == "normalized":
            params.append(("iss", f"{self.issuer}/"))
        location = urlunsplit((split.scheme, split.netloc, split.path, urlencode(params), ""))
        return Response.redirect(location)

    def _token(self, request: Request) -> Response:
        body = request.form or (request.json if isinstance(request.json, dict) else {})
        request.form = {str(k): str(v) for k, v in body.items()}
        grant_type = request.form.get("grant_type")
        self.checks.add("token-request", SUCCESS, f"Client requested access token ({grant_type})")
        if grant_type == "authorization_code":
            verifier = request.form.get("code_verifier")
            self.checks.add(
                "pkce-code-verifier-sent",
                SUCCESS if verifier else FAILURE,
                "Client sent code_verifier in token request"
                if verifier
                else "Client MUST send code_verifier in token request",
            )
            with self._lock:
                stored = self._challenge
            matches = bool(verifier and stored and _s256(verifier) == stored)
            self.checks.add(
                "pkce-verifier-matches-challenge",
                SUCCESS if matches else FAILURE,
                "code_verifier correctly matches code_challenge (S256)"
                if matches
                else "code_verifier does not match code_challenge, or one of them is missing",
            )

        if grant_type == "refresh_token" and self.refresh_tokens:
            return self._refresh(request)

        with self._lock:
            scopes = list(self._last_scopes)
        token = new_token(self.token_prefix)
        if self.on_token:
            outcome = self.on_token(request)
            if outcome is not None:
                if "error" in outcome:
                    return Response.json(
                        outcome.get("status", 400),
                        {"error": outcome["error"], "error_description": outcome.get("description")},
                    )
                token = outcome.get("token", token)
                scopes = outcome.get("scopes", scopes)
        return self._issue(token, scopes, family=None)

    def _issue(self, token: str, scopes: list[str], family: int | None) -> Response:
        granted = [s for s in scopes if s in self.narrow_to] if self.token_scope == "narrow" else scopes
        self.tokens.register(token, granted)
        answer: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        if granted and self.token_scope != "omit":
            answer["scope"] = " ".join(granted)
        if self.refresh_tokens:
            with self._lock:
                if family is None:
                    family = next(self._families)
                    self._family_scopes[family] = granted
                refresh = new_token("test-refresh")
                self._rt_family[refresh] = family
                self._family_current[family] = refresh
                self._family_access.setdefault(family, []).append(token)
            answer["refresh_token"] = refresh
        return Response.json(200, answer, [("Cache-Control", "no-store")])

    def _refresh(self, request: Request) -> Response:
        presented = request.form.get("refresh_token", "")
        with self._lock:
            family = self._rt_family.get(presented)
            current = self._family_current.get(family) if family is not None else None
            revoked = family in self._revoked_families
        if family is None or revoked:
            return Response.json(400, {"error": "invalid_grant"})
        if presented != current:
            # Reuse of a rotated-out refresh token: revoke the whole family (like
            # django-oauth-toolkit's REFRESH_TOKEN_REUSE_PROTECTION).
            self.refresh_reuse_detected = True
            self._revoke_family(family)
            return Response.json(400, {"error": "invalid_grant"})
        if self.refuse_refresh:
            self._revoke_family(family)
            return Response.json(400, {"error": "invalid_grant"})
        with self._lock:
            scopes = list(self._family_scopes.get(family, []))
        return self._issue(new_token(self.token_prefix), scopes, family=family)

    def _revoke_family(self, family: int) -> None:
        with self._lock:
            self._revoked_families.add(family)
            access = list(self._family_access.get(family, []))
        for token in access:
            self.tokens.kill(token)

    def _register(self, request: Request) -> Response:
        body = request.json if isinstance(request.json, dict) else {}
        outcome = {"client_id": "test-client-id", "client_secret": "test-client-secret", "method": None}
        if self.on_register:
            outcome = {"client_secret": None, "method": None} | self.on_register(request)
        self.checks.add("client-registration", SUCCESS, "Client registered with authorization server")
        if not is_stateful(self.spec_version):
            app_type = body.get("application_type")
            valid = app_type in ("native", "web")
            self.checks.add(
                "sep-837-application-type-present",
                SUCCESS if valid else FAILURE,
                f'Client specified application_type "{app_type}" during Dynamic Client Registration'
                if valid
                else "Client MUST specify an appropriate application_type (native or web) during Dynamic Client Registration (SEP-837)",
            )
        answer: dict[str, Any] = {"client_id": outcome["client_id"]}
        if outcome.get("client_secret"):
            answer["client_secret"] = outcome["client_secret"]
        answer["client_name"] = body.get("client_name") or "test-client"
        answer["redirect_uris"] = body.get("redirect_uris") or []
        if outcome.get("method"):
            answer["token_endpoint_auth_method"] = outcome["method"]
        return Response.json(201, answer)


# ---------------------------------------------------------------------------------------
# MCP resource server (createServer + requireBearerAuth)
# ---------------------------------------------------------------------------------------

Middleware = Callable[["ResourceServer", Request, str | None], "Response | None"]


class ResourceServer(LoopbackApp):
    """The suite's protected MCP server: PRM, bearer auth, one tool `test-tool`."""

    name = "rs"

    def __init__(
        self,
        checks: Checks,
        log: RequestLog,
        tokens: TokenStore,
        spec_version: str,
        authorization_server: Callable[[], str],
        *,
        prm_path: str | None = "/.well-known/oauth-protected-resource/mcp",
        prm_in_header: bool = True,
        scope_in_header: bool = False,
        required_scopes: list[str] | None = None,
        scopes_supported: list[str] | None = None,
        prm_resource_override: str | None = None,
        middleware: Middleware | None = None,
        expire_tokens: str | None = None,  # None | "first" | "all": a token dies after one successful use
        traps: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(log)
        self.checks = checks
        self.tokens = tokens
        self.spec_version = spec_version
        self.authorization_server = authorization_server
        self.prm_path = prm_path
        self.prm_in_header = prm_in_header
        self.scope_in_header = scope_in_header
        self.required_scopes = required_scopes or []
        self.scopes_supported = scopes_supported
        self.prm_resource_override = prm_resource_override
        self.middleware = middleware
        self.expire_tokens = expire_tokens
        self._expired_one = False
        self._lock = threading.Lock()
        self.messages: list[Any] = []
        if prm_path is not None:
            self.route("GET", prm_path, self._prm)
        self.route("POST", "/mcp", self._mcp)
        for path, (check_id, description) in (traps or {}).items():
            self.route("GET", path, self._trap(check_id, description))

    @property
    def server_url(self) -> str:
        return f"{self.base}/mcp"

    @property
    def prm_url(self) -> str:
        return f"{self.base}{self.prm_path}"

    def _trap(self, check_id: str, description: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            self.checks.add(check_id, FAILURE, description)
            return Response.json(404, {"error": "not_found", "error_description": "PRM metadata not available at root location"})

        return handler

    def _prm(self, request: Request) -> Response:
        self.checks.add("prm-pathbased-requested", SUCCESS, "Client requested PRM metadata at path-based location")
        if self.prm_resource_override is not None:
            resource = self.prm_resource_override
        elif self.prm_path == "/.well-known/oauth-protected-resource":
            resource = self.base
        else:
            resource = f"{self.base}/mcp"
        prm: dict[str, Any] = {"resource": resource, "authorization_servers": [self.authorization_server()]}
        if self.scopes_supported is not None:
            prm["scopes_supported"] = self.scopes_supported
        return Response.json(200, prm)

    # -- challenges, in the exact shapes the suite sends -------------------------------

    def challenge_401(self, description: str = "Missing Authorization header", scope: list[str] | None = None) -> Response:
        parts = ['error="invalid_token"', f'error_description="{description}"']
        if scope:
            parts.append(f'scope="{" ".join(scope)}"')
        if self.prm_in_header and self.prm_path is not None:
            parts.append(f'resource_metadata="{self.prm_url}"')
        return Response.json(
            401,
            {"error": "invalid_token", "error_description": description},
            [("WWW-Authenticate", "Bearer " + ", ".join(parts))],
        )

    def challenge_403(self, scope: list[str]) -> Response:
        parts = ['error="insufficient_scope"', 'error_description="Insufficient scope"', f'scope="{" ".join(scope)}"']
        if self.prm_in_header and self.prm_path is not None:
            parts.append(f'resource_metadata="{self.prm_url}"')
        return Response.json(
            403,
            {"error": "insufficient_scope", "error_description": "Insufficient scope"},
            [("WWW-Authenticate", "Bearer " + ", ".join(parts))],
        )

    @staticmethod
    def bearer(request: Request) -> str | None:
        header = request.header("authorization")
        if not header or not header.startswith("Bearer "):
            return None
        return header[len("Bearer ") :]

    def _bearer_auth(self, request: Request) -> Response | None:
        """requireBearerAuth with MockTokenVerifier."""
        token = self.bearer(request)
        required = self.required_scopes if self.scope_in_header else []
        if token is None:
            return self.challenge_401(scope=required)
        verdict, scopes = self.tokens.verify(token)
        if verdict == "invalid":
            return self.challenge_401("Invalid token", scope=required)
        if verdict == "dead":
            return self.challenge_401("Token has expired", scope=required)
        if not all(s in scopes for s in required):
            return self.challenge_403(required)
        return None

    def _expire_after_use(self, request: Request) -> None:
        token = self.bearer(request)
        if token is None or self.expire_tokens is None:
            return
        with self._lock:
            if self.expire_tokens == "first" and self._expired_one:
                return
            self._expired_one = True
        self.tokens.kill(token)

    # -- MCP -----------------------------------------------------------------------------

    def _mcp(self, request: Request) -> Response:
        message = request.json if isinstance(request.json, dict) else {}
        with self._lock:
            self.messages.append(request.json)
        method = message.get("method") if isinstance(message.get("method"), str) else None
        denial = self.middleware(self, request, method) if self.middleware else self._bearer_auth(request)
        if denial is not None:
            return denial
        if is_stateful(self.spec_version):
            response = self._stateful(request, message, method)
        else:
            response = self._stateless(request, message, method)
        if response.status < 300 and method is not None and not method.startswith("notifications/"):
            self._expire_after_use(request)
        return response

    @staticmethod
    def _result(method: str | None, params: dict[str, Any], stateless: bool) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        if method == "tools/list":
            result: dict[str, Any] = {"tools": [{"name": "test-tool", "inputSchema": {"type": "object"}}]}
            if stateless:
                result |= {"resultType": "complete", "ttlMs": 0, "cacheScope": "private"}
            return result, None
        if method == "tools/call":
            if params.get("name") != "test-tool":
                return None, {"code": -32602, "message": f"Tool {params.get('name')} not found"}
            result = {"content": [{"type": "text", "text": "test"}]}
            if stateless:
                result["resultType"] = "complete"
            return result, None
        if method == "ping":
            return {}, None
        return None, {"code": -32601, "message": "Method not found"}

    def _stateful(self, request: Request, message: dict[str, Any], method: str | None) -> Response:
        """StreamableHTTPServerTransport without sessions: SSE answers, 202 for notifications."""
        accept = request.header("accept") or ""
        if "application/json" not in accept or "text/event-stream" not in accept:
            return Response.json(
                406,
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": "Not Acceptable: Client must accept both application/json and text/event-stream"}},
            )
        if "id" not in message:
            return Response(202)
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        if method == "initialize":
            requested = params.get("protocolVersion")
            version = requested if requested in STATEFUL_VERSIONS else "2025-11-25"
            result: dict[str, Any] | None = {
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "auth-prm-pathbased-server", "version": "1.0.0"},
            }
            error = None
        else:
            result, error = self._result(method, params, stateless=False)
        answer: dict[str, Any] = {"jsonrpc": "2.0", "id": message.get("id")}
        if error is not None:
            answer["error"] = error
        else:
            answer["result"] = result
        body = f"event: message\ndata: {json.dumps(answer)}\n\n".encode()
        return Response(200, body, [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])

    def _stateless(self, request: Request, message: dict[str, Any], method: str | None) -> Response:
        """SEP-2575 validation (mock-server/stateless.ts) and JSON answers."""
        request_id = message.get("id")
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}

        def reject(status: int, code: int, text: str) -> Response:
            return Response.json(status, {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": text}})

        header_version = request.header("mcp-protocol-version")
        if not header_version:
            return reject(400, -32020, "Missing MCP-Protocol-Version header")
        missing = [k for k in ("io.modelcontextprotocol/protocolVersion", "io.modelcontextprotocol/clientCapabilities") if k not in meta]
        if missing:
            return reject(400, -32602, f"Invalid params: missing _meta keys: {', '.join(missing)}")
        if meta.get("io.modelcontextprotocol/protocolVersion") != header_version:
            return reject(400, -32020, "MCP-Protocol-Version header does not match _meta.protocolVersion")
        if header_version != self.spec_version:
            return reject(400, -32022, "Unsupported protocol version")
        if method == "server/discover":
            result: dict[str, Any] | None = {
                "supportedVersions": [self.spec_version],
                "capabilities": {"tools": {}},
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "conformance-mock-server", "version": "1.0.0"}},
                "resultType": "complete",
                "ttlMs": 0,
                "cacheScope": "private",
            }
            error = None
        else:
            result, error = self._result(method, params, stateless=True)
        if error is not None:
            status = 404 if error["code"] == -32601 else 200
            return Response.json(status, {"jsonrpc": "2.0", "id": request_id, "error": error})
        return Response.json(200, {"jsonrpc": "2.0", "id": request_id, "result": result})
