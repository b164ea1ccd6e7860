"""The scenarios: the official suite's client-auth scenarios (2025-11-25 and 2026-07-28
requirement sets, modelcontextprotocol/conformance v0.2.0-alpha.11,
src/scenarios/client/auth/*.ts), each with the fakes it starts and the checks it
asserts, plus `tokenbroker/*` scenarios for what the suite does not test.

A scenario sets its fakes up in `setup`, adds checks while requests arrive (through the
fakes' hooks) and adds its closing checks in `finish`, after the client exited.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import es256
from fakes import (
    FAILURE,
    INFO,
    SUCCESS,
    WARNING,
    AuthServer,
    Checks,
    Request,
    RequestLog,
    ResourceServer,
    Response,
    TokenStore,
    basic_credentials,
    is_stateful,
    new_token,
)

DATED = "2025-11-25"
DRAFT = "2026-07-28"
CIMD_CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"


class Run:
    """One scenario at one spec version: its fakes, what they saw, what the client said."""

    def __init__(self, spec_version: str) -> None:
        self.spec_version = spec_version
        self.checks = Checks()
        self.log = RequestLog()
        self.tokens = TokenStore(self.checks)
        self.apps: list[Any] = []
        self.rs: ResourceServer | None = None
        self.driver_events: list[dict[str, Any]] = []
        self.driver_exit: int | None = None
        self.timed_out = False

    def auth_server(self, name: str = "as", **knobs: Any) -> AuthServer:
        server = AuthServer(name, self.checks, self.log, self.tokens, self.spec_version, **knobs)
        self.apps.append(server)
        return server

    def resource_server(self, authorization_server: Callable[[], str], **knobs: Any) -> ResourceServer:
        self.rs = ResourceServer(self.checks, self.log, self.tokens, self.spec_version, authorization_server, **knobs)
        self.apps.append(self.rs)
        return self.rs

    def start(self) -> None:
        for app in self.apps:
            app.start()

    def stop(self) -> None:
        for app in self.apps:
            app.stop()

    @property
    def server_url(self) -> str:
        assert self.rs is not None
        return self.rs.server_url

    # What the driver reported (never a token: scopes, issuer, errors).
    def broker_tokens(self) -> list[dict[str, Any]]:
        return [e for e in self.driver_events if e.get("event") == "token"]

    def broker_errors(self) -> list[dict[str, Any]]:
        return [e for e in self.driver_events if e.get("event") == "broker-error"]


class Scenario:
    name = ""
    introduced = DATED
    allow_client_error = False
    description = ""
    extension: str | None = None  # an extension scenario (not in a requirement set) names its extension
    backcompat = False  # the suite's optional back-compat scenarios (not in a requirement set)

    @property
    def versions(self) -> list[str]:
        return [DATED, DRAFT] if self.introduced == DATED else [DRAFT]

    def setup(self, run: Run) -> None:
        raise NotImplementedError

    def context(self, run: Run) -> dict[str, Any] | None:
        """MCP_CONFORMANCE_CONTEXT, without `name` (the runner adds it)."""
        return None

    def daemon(self, run: Run) -> dict[str, Any]:
        """How tokenbrokerd is configured for this scenario (pre-registered clients, CIMD)."""
        return {}

    def finish(self, run: Run) -> None:
        pass


def require(run: Run, check_id: str, description: str) -> None:
    """The suite's "expected check missing" rule."""
    if not run.checks.has(check_id):
        run.checks.add(check_id, FAILURE, description)


def scope_list(scope: str | None) -> list[str]:
    return scope.split(" ") if scope else []


# ---------------------------------------------------------------------------------------
# Discovery (discovery-metadata.ts)
# ---------------------------------------------------------------------------------------


class MetadataScenario(Scenario):
    def __init__(self, name: str, prm: str, in_header: bool, metadata: str, prefix: str = "", trap_root_prm: bool = False):
        self.name = f"auth/{name}"
        self.prm, self.in_header, self.metadata, self.prefix, self.trap_root_prm = prm, in_header, metadata, prefix, trap_root_prm
        self.description = f"PRM {prm}{'' if in_header else ' (not in WWW-Authenticate)'}; AS metadata {metadata}"

    def setup(self, run: Run) -> None:
        traps = {}
        if self.prefix:
            traps["/.well-known/oauth-authorization-server"] = (
                "authorization-server-metadata-wrong-path",
                "Client requested authorization server metadata at the root path when the AS URL has a path",
            )
        auth = run.auth_server(metadata_path=self.metadata, oidc="openid-configuration" in self.metadata, route_prefix=self.prefix, traps=traps)
        rs_traps = {}
        if self.trap_root_prm:
            rs_traps["/.well-known/oauth-protected-resource"] = (
                "prm-priority-order",
                "Client requested PRM metadata at the root location on a server with path-based PRM",
            )
        run.resource_server(lambda: auth.url, prm_path=self.prm, prm_in_header=self.in_header, traps=rs_traps)

    def finish(self, run: Run) -> None:
        expected = (["prm-pathbased-requested"] if self.prm == "/.well-known/oauth-protected-resource/mcp" else []) + [
            "authorization-server-metadata",
            "client-registration",
            "authorization-request",
            "token-request",
        ]
        for slug in expected:
            require(run, slug, f"Expected check missing: {slug}")


# ---------------------------------------------------------------------------------------
# 2025-03-26 back-compat (march-spec-backcompat.ts): optional, in no requirement set
# ---------------------------------------------------------------------------------------


class Backcompat20250326(Scenario):
    """A 2025-03-26 server: no protected resource metadata (every
    /.well-known/oauth-protected-resource* path is 404, the 401 names no
    resource_metadata), its own authorization server. The suite declares these
    introducedIn 2025-03-26, removedIn 2025-06-18, so its runner refuses an explicit
    `--spec-version 2025-11-25` and runs them only by default, at LATEST_SPEC_VERSION
    2025-11-25: the stateful wire. So here: 2025-11-25 only."""

    backcompat = True

    @property
    def versions(self) -> list[str]:
        return [DATED]

    expected: list[str] = []

    def finish(self, run: Run) -> None:
        for slug in self.expected:
            require(run, slug, f"Expected check missing: {slug}")


class OAuthMetadataBackcompat(Backcompat20250326):
    name = "auth/2025-03-26-oauth-metadata-backcompat"
    description = (
        "No PRM; AS metadata at the MCP server's origin (/.well-known/oauth-authorization-server, "
        "issuer the origin), its endpoints under /oauth"
    )
    expected = ["authorization-server-metadata", "client-registration", "authorization-request", "token-request"]

    def setup(self, run: Run) -> None:
        rs = run.resource_server(lambda: rs.base, prm_path=None)
        # The suite's createAuthServer(routePrefix '/oauth', metadataIssuer: the origin),
        # app.use'd on the MCP server: /authorize, /token, /register at the origin are 404,
        # so a client that fetches the metadata but ignores its endpoints gets nowhere.
        auth = run.auth_server(route_prefix="/oauth", metadata_issuer=lambda: rs.base)
        rs.mount(auth)


class OAuthEndpointFallback(Backcompat20250326):
    name = "auth/2025-03-26-oauth-endpoint-fallback"
    description = "No metadata of any kind: /authorize, /token and /register at the MCP server's origin"
    expected = ["client-registration", "authorization-request", "token-request"]

    def setup(self, run: Run) -> None:
        rs = run.resource_server(lambda: rs.base, prm_path=None)

        # The suite's inline handlers: no PKCE checks, no iss, one fixed token.
        def authorize(request: Request) -> Response:
            run.checks.add("authorization-request", SUCCESS, "Client made authorization request to fallback endpoint")
            redirect_uri = request.query.get("redirect_uri")
            if not redirect_uri:
                return Response.json(400, {"error": "invalid_request", "error_description": "redirect_uri is required"})
            split = urlsplit(redirect_uri)
            params = [(k, v) for k, v in parse_qsl(split.query, keep_blank_values=True) if k not in {"code", "state"}]
            params.append(("code", "test-auth-code"))
            if request.query.get("state"):
                params.append(("state", request.query["state"]))
            return Response.redirect(urlunsplit((split.scheme, split.netloc, split.path, urlencode(params), "")))

        def token(request: Request) -> Response:
            run.checks.add("token-request", SUCCESS, f"Client requested access token from fallback endpoint ({request.form.get('grant_type')})")
            return Response.json(200, {"access_token": "test-token", "token_type": "Bearer", "expires_in": 3600})

        def register(request: Request) -> Response:
            body = request.json if isinstance(request.json, dict) else {}
            run.checks.add("client-registration", SUCCESS, "Client registered with authorization server at fallback endpoint")
            return Response.json(
                201,
                {
                    "client_id": "test-client-id",
                    "client_secret": "test-client-secret",
                    "client_name": body.get("client_name") or "test-client",
                    "redirect_uris": body.get("redirect_uris") or [],
                },
            )

        rs.route("GET", "/authorize", authorize)
        rs.route("POST", "/token", token)
        rs.route("POST", "/register", register)


# ---------------------------------------------------------------------------------------
# Client identity (basic-cimd.ts, token-endpoint-auth.ts, pre-registration.ts)
# ---------------------------------------------------------------------------------------


class BasicCIMD(Scenario):
    name = "auth/basic-cimd"
    description = "AS supports Client ID Metadata Documents: the client_id must be the document URL"

    def setup(self, run: Run) -> None:
        def on_authorize(data: dict[str, Any]) -> None:
            used = data["clientId"] == CIMD_CLIENT_METADATA_URL
            run.checks.add(
                "cimd-client-id-used",
                SUCCESS if used else WARNING,
                "Client used the URL-based client ID"
                if used
                else "Client SHOULD use a URL-based client ID when the server advertises client_id_metadata_document_supported",
            )

        auth = run.auth_server(cimd_supported=True, on_authorize=on_authorize)
        run.resource_server(lambda: auth.url)

    def daemon(self, run: Run) -> dict[str, Any]:
        return {"metadataDocumentClientID": CIMD_CLIENT_METADATA_URL}

    def finish(self, run: Run) -> None:
        require(run, "cimd-client-id-used", "Client did not make an authorization request to test CIMD support")


class TokenEndpointAuth(Scenario):
    introduced = DATED  # the suite says 2025-06-18; it is in both requirement sets

    def __init__(self, method: str, suffix: str) -> None:
        self.method = method
        self.name = f"auth/token-endpoint-auth-{suffix}"
        self.description = f"DCR assigns {method}: the token request must use it; RFC 8707 resource checks"

    def setup(self, run: Run) -> None:
        self.authorization_resource: str | None = None
        self.token_resource: str | None = None
        method = self.method

        def on_authorize(data: dict[str, Any]) -> None:
            self.authorization_resource = data["resource"]

        def on_token(request: Request) -> dict[str, Any]:
            self.token_resource = request.form.get("resource")
            header = request.header("authorization")
            if header and header.startswith("Basic "):
                actual = "client_secret_basic"
            elif request.form.get("client_secret"):
                actual = "client_secret_post"
            else:
                actual = "none"
            format_ok = actual != "client_secret_basic" or basic_credentials(header) is not None
            correct = actual == method and format_ok
            run.checks.add(
                "token-endpoint-auth-method",
                SUCCESS if correct else FAILURE,
                f"Client used {method} at the token endpoint"
                if correct
                else f"Client used {actual}{'' if format_ok else ' (malformed Basic header)'} but the server only supports {method}",
            )
            return {"token": new_token("test-token"), "scopes": []}

        def on_register(request: Request) -> dict[str, Any]:
            return {
                "client_id": new_token("test-client"),
                "client_secret": None if method == "none" else new_token("test-secret"),
                "method": method,
            }

        auth = run.auth_server(auth_methods=[method], on_authorize=on_authorize, on_token=on_token, on_register=on_register)
        run.resource_server(lambda: auth.url)

    def finish(self, run: Run) -> None:
        require(run, "token-endpoint-auth-method", "Client did not make a token request")
        resource_checks(run, self.authorization_resource, self.token_resource)


def resource_checks(run: Run, authorization: str | None, token: str | None) -> None:
    """RFC 8707 checks of token-endpoint-auth.ts."""
    run.checks.add(
        "resource-parameter-in-authorization",
        SUCCESS if authorization else FAILURE,
        "Client included resource in the authorization request"
        if authorization
        else "Client MUST include resource in the authorization request (RFC 8707)",
    )
    run.checks.add(
        "resource-parameter-in-token",
        SUCCESS if token else FAILURE,
        "Client included resource in the token request" if token else "Client MUST include resource in the token request (RFC 8707)",
    )
    candidate = authorization or token
    if candidate:
        from urllib.parse import urlsplit

        try:
            split = urlsplit(candidate)
            valid = bool(split.scheme) and bool(split.netloc) and not split.fragment and "#" not in candidate
        except ValueError:
            valid = False
        run.checks.add(
            "resource-parameter-valid-uri",
            SUCCESS if valid else FAILURE,
            "Resource parameter is a valid URI (scheme, no fragment)" if valid else "Resource parameter is not a valid URI",
        )
    if authorization and token:
        run.checks.add(
            "resource-parameter-consistency",
            SUCCESS if authorization == token else FAILURE,
            "Resource parameter is identical in authorization and token requests"
            if authorization == token
            else "Resource parameter MUST be consistent between authorization and token requests",
        )


class PreRegistration(Scenario):
    name = "auth/pre-registration"
    description = "No DCR; the pre-registered client must authenticate with HTTP Basic"
    CLIENT_ID = "pre-registered-client"
    CLIENT_SECRET = "pre-registered-secret"

    def setup(self, run: Run) -> None:
        def on_token(request: Request) -> dict[str, Any]:
            credentials = basic_credentials(request.header("authorization"))
            if credentials is None:
                run.checks.add("pre-registration-auth", FAILURE, "Client did not use Basic authentication with pre-registered credentials")
                return {"error": "invalid_client", "description": "Missing or invalid Authorization header", "status": 401}
            client_id, secret = credentials
            if client_id != self.CLIENT_ID or secret != self.CLIENT_SECRET:
                run.checks.add("pre-registration-auth", FAILURE, f"Client used wrong pre-registered credentials (client_id {client_id!r})")
                return {"error": "invalid_client", "description": "Invalid pre-registered credentials", "status": 401}
            run.checks.add("pre-registration-auth", SUCCESS, "Client used the pre-registered credentials")
            return {"token": new_token("test-token-prereg"), "scopes": []}

        self.auth = run.auth_server(registration=False, auth_methods=["client_secret_basic"], on_token=on_token)
        run.resource_server(lambda: self.auth.url)

    def context(self, run: Run) -> dict[str, Any]:
        return {"client_id": self.CLIENT_ID, "client_secret": self.CLIENT_SECRET}

    def daemon(self, run: Run) -> dict[str, Any]:
        return {
            "preregistered": [
                {"issuer": self.auth.issuer, "clientId": self.CLIENT_ID, "clientSecret": self.CLIENT_SECRET, "method": "client_secret_basic"}
            ]
        }

    def finish(self, run: Run) -> None:
        require(run, "pre-registration-auth", "Client did not make a token request")


# ---------------------------------------------------------------------------------------
# Scopes (scope-handling.ts, offline-access.ts)
# ---------------------------------------------------------------------------------------


class ScopeFromWWWAuthenticate(Scenario):
    name = "auth/scope-from-www-authenticate"
    description = "401 names scope=mcp:basic: the first authorization must ask for it"

    def setup(self, run: Run) -> None:
        def on_authorize(data: dict[str, Any]) -> None:
            ok = "mcp:basic" in scope_list(data["scope"])
            run.checks.add(
                "scope-from-www-authenticate",
                SUCCESS if ok else WARNING,
                "Client used the scope from the WWW-Authenticate header"
                if ok
                else "Client SHOULD use the scope parameter from the WWW-Authenticate header",
            )

        auth = run.auth_server(on_authorize=on_authorize)
        run.resource_server(lambda: auth.url, required_scopes=["mcp:basic"], scope_in_header=True)

    def finish(self, run: Run) -> None:
        require(run, "scope-from-www-authenticate", "Client did not complete the authorization flow")


class ScopeFromScopesSupported(Scenario):
    name = "auth/scope-from-scopes-supported"
    description = "No scope in the 401: ask for every PRM scopes_supported"
    SCOPES = ["mcp:basic", "mcp:read", "mcp:write"]

    def setup(self, run: Run) -> None:
        def on_authorize(data: dict[str, Any]) -> None:
            requested = scope_list(data["scope"])
            ok = all(s in requested for s in self.SCOPES)
            run.checks.add(
                "scope-from-scopes-supported",
                SUCCESS if ok else WARNING,
                "Client asked for every scope of scopes_supported"
                if ok
                else "Client SHOULD use all scopes from scopes_supported when the challenge has no scope",
            )

        auth = run.auth_server(on_authorize=on_authorize)
        run.resource_server(lambda: auth.url, required_scopes=self.SCOPES, scopes_supported=self.SCOPES, scope_in_header=False)

    def finish(self, run: Run) -> None:
        require(run, "scope-from-scopes-supported", "Client did not complete the authorization flow")


class ScopeOmittedWhenUndefined(Scenario):
    name = "auth/scope-omitted-when-undefined"
    description = "No scope anywhere: the scope parameter must be left out"

    def setup(self, run: Run) -> None:
        def on_authorize(data: dict[str, Any]) -> None:
            omitted = not data["scope"] or not data["scope"].strip()
            run.checks.add(
                "scope-omitted-when-undefined",
                SUCCESS if omitted else WARNING,
                "Client omitted the scope parameter"
                if omitted
                else "Client SHOULD omit scope when scopes_supported is undefined and the challenge has none",
            )

        auth = run.auth_server(on_authorize=on_authorize)
        run.resource_server(lambda: auth.url)

    def finish(self, run: Run) -> None:
        require(run, "scope-omitted-when-undefined", "Client did not complete the authorization flow")


class ScopeStepUp(Scenario):
    name = "auth/scope-step-up"
    description = "401 scope=mcp:basic, then tools/call 403 scope=mcp:write (delta only): step up to the union"

    def setup(self, run: Run) -> None:
        union_required = not is_stateful(run.spec_version)
        self.union_required = union_required
        count = {"n": 0}

        def on_authorize(data: dict[str, Any]) -> None:
            count["n"] += 1
            requested = scope_list(data["scope"])
            if count["n"] == 1:
                ok = "mcp:basic" in requested
                run.checks.add(
                    "scope-step-up-initial",
                    SUCCESS if ok else WARNING,
                    "Client used the challenge's scope for the initial authorization"
                    if ok
                    else "Client SHOULD use the scope parameter from the WWW-Authenticate header",
                )
            elif count["n"] == 2:
                ok = "mcp:write" in requested
                run.checks.add(
                    "scope-step-up-escalation",
                    SUCCESS if ok else WARNING,
                    "Client requested the challenged scope when stepping up"
                    if ok
                    else "Client SHOULD request additional scopes after a 403 with new scope requirements",
                )
                if union_required:
                    kept = "mcp:basic" in requested
                    run.checks.add(
                        "sep-2350-scope-union-on-reauth",
                        SUCCESS if kept else WARNING,
                        "Client kept the previously requested scope alongside the challenged one"
                        if kept
                        else "Client SHOULD compute the union of previously requested and challenged scopes (SEP-2350)",
                    )

        auth = run.auth_server(on_authorize=on_authorize)

        def middleware(rs: ResourceServer, request: Request, method: str | None) -> Response | None:
            if method == "initialize" or (method or "").startswith("notifications/"):
                return None
            token = rs.bearer(request)
            if token is None:
                return bearer_challenge(rs, 401, 'scope="mcp:basic"', "invalid_token", "Missing Authorization header")
            verdict, scopes = run.tokens.verify(token)
            if verdict != "valid":
                return rs.challenge_401("Invalid token")
            required = ["mcp:write"] if method == "tools/call" else ["mcp:basic"]
            if not all(s in scopes for s in required):
                return bearer_challenge(rs, 403, 'scope="mcp:write"', "insufficient_scope", "Token has insufficient scope", error_last=True)
            return None

        run.resource_server(lambda: auth.url, scopes_supported=["mcp:profile"], middleware=middleware)

    def finish(self, run: Run) -> None:
        require(run, "scope-step-up-initial", "Client did not make an initial authorization request")
        if not run.checks.has("scope-step-up-escalation"):
            run.checks.add("scope-step-up-escalation", FAILURE, "Client did not make a second authorization request")
            if self.union_required:
                run.checks.add("sep-2350-scope-union-on-reauth", FAILURE, "Client did not make a second authorization request")


def bearer_challenge(
    rs: ResourceServer, status: int, scope_part: str, error: str, description: str, error_last: bool = False, extra: str = ""
) -> Response:
    """A hand-written challenge in the shape of the suite's inline middlewares."""
    metadata = f'resource_metadata="{rs.prm_url}"'
    header = f"Bearer {scope_part}, {metadata}"
    if error_last:
        header += f', error="{error}"'
    header += extra
    return Response.json(status, {"error": error, "error_description": description}, [("WWW-Authenticate", header)])


class ScopeRetryLimit(Scenario):
    name = "auth/scope-retry-limit"
    allow_client_error = True
    description = "Every tokened request gets 403 insufficient_scope: at most 3 authorizations"

    def setup(self, run: Run) -> None:
        self.attempts = 0

        def on_authorize(data: dict[str, Any]) -> None:
            self.attempts += 1
            run.checks.add("scope-retry-auth-attempt", INFO, f"Client made authorization request attempt {self.attempts}")

        auth = run.auth_server(on_authorize=on_authorize)
        tokened = {"n": 0}

        def middleware(rs: ResourceServer, request: Request, method: str | None) -> Response | None:
            if method == "initialize" or (method or "").startswith("notifications/"):
                return None
            if rs.bearer(request) is None:
                return bearer_challenge(rs, 401, 'scope="mcp:admin"', "invalid_token", "Missing Authorization header")
            tokened["n"] += 1
            if tokened["n"] > 3:
                return Response.json(410, {"error": "test_complete", "error_description": "Test is over - client exceeded maximum retry attempts"})
            header = f'Bearer error="insufficient_scope", scope="mcp:admin", resource_metadata="{rs.prm_url}", error_description="Scope upgrade will never succeed"'
            return Response.json(
                403,
                {"error": "insufficient_scope", "error_description": "Scope upgrade will never succeed"},
                [("WWW-Authenticate", header)],
            )

        run.resource_server(lambda: auth.url, required_scopes=["mcp:admin"], scopes_supported=["mcp:admin"], scope_in_header=True, middleware=middleware)

    def finish(self, run: Run) -> None:
        attempts = run.checks.count("scope-retry-auth-attempt")
        if attempts == 0:
            run.checks.add("scope-retry-limit", FAILURE, "Client did not make any authorization requests")
        elif attempts <= 3:
            run.checks.add("scope-retry-limit", SUCCESS, f"Client limited authorization attempts to {attempts} (3 or fewer)")
        else:
            run.checks.add("scope-retry-limit", FAILURE, f"Client made {attempts} authorization attempts (more than 3)")


class OfflineAccessScope(Scenario):
    name = "auth/offline-access-scope"
    introduced = DRAFT
    description = "AS lists offline_access: refresh_token in grant_types; offline_access MAY be requested"

    def setup(self, run: Run) -> None:
        self.grant_types_checked = False
        self.cimd_url: str | None = None

        def on_register(request: Request) -> dict[str, Any]:
            body = request.json if isinstance(request.json, dict) else {}
            grant_types = body.get("grant_types") or []
            ok = "refresh_token" in grant_types
            self.grant_types_checked = True
            run.checks.add(
                "sep-2207-client-metadata-grant-types",
                SUCCESS if ok else WARNING,
                "Client included refresh_token in grant_types during registration"
                if ok
                else "Client SHOULD include refresh_token in grant_types client metadata (SEP-2207)",
            )
            return {"client_id": new_token("test-client"), "client_secret": None, "method": "none"}

        def on_authorize(data: dict[str, Any]) -> None:
            if data["clientId"] and data["clientId"].startswith("http"):
                self.cimd_url = data["clientId"]
            asked = "offline_access" in scope_list(data["scope"])
            run.checks.add(
                "sep-2207-offline-access-requested",
                SUCCESS if asked else INFO,
                "Client included offline_access when the AS lists it"
                if asked
                else "Client MAY include offline_access when the AS lists it; it chose not to",
            )

        auth = run.auth_server(scopes_supported=["mcp:basic", "offline_access"], cimd_supported=True, on_register=on_register, on_authorize=on_authorize)
        run.resource_server(lambda: auth.url, required_scopes=["mcp:basic"], scopes_supported=["mcp:basic"])

    def finish(self, run: Run) -> None:
        if not self.grant_types_checked:
            # The suite fetches a CIMD document here; https://conformance-test.local does not resolve.
            run.checks.add(
                "sep-2207-client-metadata-grant-types",
                INFO,
                "Client did not use DCR (or used an unreachable CIMD URL); grant_types could not be inspected",
            )
        require(run, "sep-2207-offline-access-requested", "Client did not complete the authorization flow")


class OfflineAccessNotSupported(Scenario):
    name = "auth/offline-access-not-supported"
    introduced = DRAFT
    description = "AS does not list offline_access: it must not be requested"

    def setup(self, run: Run) -> None:
        def on_authorize(data: dict[str, Any]) -> None:
            asked = "offline_access" in scope_list(data["scope"])
            run.checks.add(
                "sep-2207-offline-access-not-requested",
                FAILURE if asked else SUCCESS,
                "Client MUST NOT request offline_access when the AS does not list it"
                if asked
                else "Client did not request offline_access",
            )

        auth = run.auth_server(scopes_supported=["mcp:basic", "mcp:read"], on_authorize=on_authorize)
        run.resource_server(lambda: auth.url, required_scopes=["mcp:basic", "mcp:read"], scopes_supported=["mcp:basic", "mcp:read"])

    def finish(self, run: Run) -> None:
        require(run, "sep-2207-offline-access-not-requested", "Client did not complete the authorization flow")


# ---------------------------------------------------------------------------------------
# Resource and authorization-server binding (resource-mismatch.ts, migration.ts)
# ---------------------------------------------------------------------------------------


class ResourceMismatch(Scenario):
    name = "auth/resource-mismatch"
    introduced = DRAFT
    allow_client_error = True
    description = "PRM resource is https://evil.example.com/mcp: no authorization request"

    def setup(self, run: Run) -> None:
        self.authorized = False

        def on_authorize(data: dict[str, Any]) -> None:
            self.authorized = True

        auth = run.auth_server(
            auth_methods=["none"],
            on_authorize=on_authorize,
            on_register=lambda request: {"client_id": new_token("test-client"), "client_secret": None, "method": "none"},
        )
        run.resource_server(lambda: auth.url, prm_resource_override="https://evil.example.com/mcp")

    def finish(self, run: Run) -> None:
        run.checks.add(
            "resource-mismatch-rejected",
            FAILURE if self.authorized else SUCCESS,
            "Client MUST validate that the PRM resource matches the server URL before authorizing"
            if self.authorized
            else "Client rejected the mismatched PRM resource",
        )


class AuthorizationServerMigration(Scenario):
    name = "auth/authorization-server-migration"
    introduced = DRAFT
    allow_client_error = True
    description = "PRM switches from AS1 to AS2 after the first tokened call: re-register, never reuse AS1's client"
    AS1_CLIENT_ID = "as1-client-id-LEAKED-IF-SEEN-AT-AS2"

    def setup(self, run: Run) -> None:
        self.as2_register = False
        self.as2_saw_as1_id = False
        self.as2_saw_as1_id_at_token = False
        as1 = run.auth_server("as1", on_register=lambda request: {"client_id": self.AS1_CLIENT_ID, "client_secret": "as1-client-secret"})

        def as2_register(request: Request) -> dict[str, Any]:
            self.as2_register = True
            return {"client_id": "as2-client-id", "client_secret": "as2-client-secret"}

        def as2_authorize(data: dict[str, Any]) -> None:
            if data["clientId"] == self.AS1_CLIENT_ID:
                self.as2_saw_as1_id = True

        def as2_token(request: Request) -> dict[str, Any]:
            basic = basic_credentials(request.header("authorization"))
            client_id = request.form.get("client_id") or (basic[0] if basic else None)
            if client_id == self.AS1_CLIENT_ID:
                self.as2_saw_as1_id_at_token = True
            scopes = scope_list(request.form.get("scope")) or ["mcp:basic"]
            token = new_token("test-token-as2")
            return {"token": token, "scopes": scopes}

        as2 = run.auth_server("as2", on_register=as2_register, on_authorize=as2_authorize, on_token=as2_token)
        state = {"migrated": False}

        def middleware(rs: ResourceServer, request: Request, method: str | None) -> Response | None:
            if method == "initialize" or (method or "").startswith("notifications/"):
                return None
            token = rs.bearer(request)
            if token is None:
                return Response.json(
                    401, {"error": "invalid_token"}, [("WWW-Authenticate", f'Bearer scope="mcp:basic", resource_metadata="{rs.prm_url}"')]
                )
            verdict, _ = run.tokens.verify(token)
            if verdict != "valid":
                return rs.challenge_401("Invalid token")
            if not state["migrated"]:
                state["migrated"] = True
                return None
            if not token.startswith("test-token-as2-"):
                return Response.json(
                    401,
                    {"error": "invalid_token", "error_description": "authorization server has changed"},
                    [("WWW-Authenticate", f'Bearer scope="mcp:basic", resource_metadata="{rs.prm_url}"')],
                )
            return None

        run.resource_server(
            lambda: as2.url if state["migrated"] else as1.url,
            required_scopes=["mcp:basic"],
            scope_in_header=True,
            middleware=middleware,
        )

    def finish(self, run: Run) -> None:
        reused = self.as2_saw_as1_id or self.as2_saw_as1_id_at_token
        run.checks.add(
            "sep-2352-reregister-on-as-change",
            SUCCESS if self.as2_register else FAILURE,
            "Client registered with the new authorization server"
            if self.as2_register
            else "Client MUST re-register with the new authorization server (SEP-2352)",
        )
        run.checks.add(
            "sep-2352-no-reuse-on-as-change",
            FAILURE if reused else SUCCESS,
            "Client presented AS1's client_id at AS2" if reused else "Client did not present AS1's client_id at AS2",
        )
        run.checks.add(
            "sep-2352-no-cross-as-credential-reuse",
            FAILURE if reused else SUCCESS,
            "Client assumed credentials are portable across authorization servers"
            if reused
            else "Client treated credentials as bound to the issuing authorization server",
        )


# ---------------------------------------------------------------------------------------
# RFC 9207 iss and metadata issuer (issuer-parameter.ts)
# ---------------------------------------------------------------------------------------


class IssScenario(Scenario):
    introduced = DRAFT

    def __init__(self, suffix: str, supported: bool | None, mode: str, check_id: str, must_reject: bool, description: str) -> None:
        self.name = f"auth/iss-{suffix}"
        self.supported, self.mode, self.check_id, self.must_reject = supported, mode, check_id, must_reject
        self.allow_client_error = must_reject
        self.description = description

    def setup(self, run: Run) -> None:
        self.reached = False
        self.token_made = False

        def on_authorize(data: dict[str, Any]) -> None:
            self.reached = True

        def on_token(request: Request) -> dict[str, Any]:
            self.token_made = True
            return {"token": new_token("test-token"), "scopes": []}

        auth = run.auth_server(iss_supported=self.supported, iss_mode=self.mode, on_authorize=on_authorize, on_token=on_token)
        run.resource_server(lambda: auth.url)

    def finish(self, run: Run) -> None:
        if self.must_reject:
            ok = self.reached and not self.token_made
            run.checks.add(
                self.check_id,
                SUCCESS if ok else FAILURE,
                "Client rejected the authorization response before any token request"
                if ok
                else f"Client MUST reject this authorization response (authorization reached: {self.reached}, token request made: {self.token_made})",
            )
        else:
            run.checks.add(
                self.check_id,
                SUCCESS if self.token_made else FAILURE,
                "Client proceeded to the token exchange" if self.token_made else "Client did not proceed to the token exchange",
            )


class MetadataIssuerMismatch(Scenario):
    name = "auth/metadata-issuer-mismatch"
    introduced = DRAFT
    allow_client_error = True
    description = "AS metadata issuer is https://attacker.example.com: use none of its endpoints"

    def setup(self, run: Run) -> None:
        self.used = False

        def used(*_: Any) -> None:
            self.used = True

        def on_register(request: Request) -> dict[str, Any]:
            self.used = True
            return {"client_id": "test-client-id", "client_secret": "test-client-secret"}

        def on_token(request: Request) -> dict[str, Any]:
            self.used = True
            return {"token": new_token("test-token"), "scopes": []}

        auth = run.auth_server(
            metadata_issuer="https://attacker.example.com",
            route_prefix="/mismatched-as",
            on_register=on_register,
            on_authorize=used,
            on_token=on_token,
        )
        # The resource lists the bare origin (the suite's getUrl), not the prefixed URL.
        run.resource_server(lambda: auth.base)

    def finish(self, run: Run) -> None:
        fetched = run.checks.has("authorization-server-metadata")
        ok = fetched and not self.used
        run.checks.add(
            "sep-2468-client-validate-metadata-issuer",
            SUCCESS if ok else FAILURE,
            "Client rejected metadata whose issuer differs from the one used to build its URL"
            if ok
            else ("Client used endpoints from the mismatched metadata" if fetched else "Client never fetched the authorization server metadata"),
        )


# ---------------------------------------------------------------------------------------
# Extension io.modelcontextprotocol/oauth-client-credentials, SEP-1046 (client-credentials.ts)
# ---------------------------------------------------------------------------------------

CLIENT_CREDENTIALS_EXTENSION = "io.modelcontextprotocol/oauth-client-credentials"
CC_CLIENT_ID = "conformance-test-client"
CC_CLIENT_SECRET = "conformance-test-secret"
JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_CLOCK_TOLERANCE = 30  # seconds, as the suite's jwtVerify(clockTolerance: 30)


class ClientCredentials(Scenario):
    """Machine-to-machine: grant_type=client_credentials with a pre-registered client, no
    browser, no registration. Extension scenarios run at the draft wire only."""

    introduced = DRAFT
    extension = CLIENT_CREDENTIALS_EXTENSION
    check_id = ""

    def grant_type_refused(self, run: Run, request: Request) -> dict[str, Any] | None:
        grant_type = request.form.get("grant_type")
        if grant_type == "client_credentials":
            return None
        run.checks.add("client-credentials-grant-type", FAILURE, f"Expected grant_type=client_credentials, got {grant_type}")
        return {"error": "unsupported_grant_type", "description": "Only client_credentials grant is supported"}

    def issue(self, request: Request) -> dict[str, Any]:
        return {"token": new_token("cc-token"), "scopes": scope_list(request.form.get("scope"))}

    def finish(self, run: Run) -> None:
        require(run, self.check_id, "Client did not make a client_credentials token request")
        interactive = [r for r in run.log.where(server=self.auth.name) if r.path in ("/authorize", "/register")]
        run.checks.add(
            "client-credentials-no-user-interaction",
            FAILURE if interactive else SUCCESS,
            f"Client requested {', '.join(sorted({f'{r.method} {r.path}' for r in interactive}))}: "
            "a client-credentials client never opens a browser or registers"
            if interactive
            else "Client neither opened the authorization endpoint nor registered",
        )


class ClientCredentialsBasic(ClientCredentials):
    name = "auth/client-credentials-basic"
    description = "client_credentials grant, pre-registered client authenticating with client_secret_basic (SEP-1046)"
    check_id = "client-credentials-basic-auth"

    def setup(self, run: Run) -> None:
        def on_token(request: Request) -> dict[str, Any]:
            refused = self.grant_type_refused(run, request)
            if refused is not None:
                return refused
            credentials = basic_credentials(request.header("authorization"))
            if credentials is None:
                run.checks.add(self.check_id, FAILURE, "Missing or invalid Authorization header for Basic auth")
                return {"error": "invalid_client", "description": "Missing or invalid Authorization header", "status": 401}
            client_id, secret = credentials
            if client_id != CC_CLIENT_ID or secret != CC_CLIENT_SECRET:
                run.checks.add(self.check_id, FAILURE, f"Invalid client credentials (client_id {client_id!r})")
                return {"error": "invalid_client", "description": "Invalid client credentials", "status": 401}
            run.checks.add(self.check_id, SUCCESS, "Client successfully authenticated with client_secret_basic")
            return self.issue(request)

        self.auth = run.auth_server(
            registration=False, grant_types=["client_credentials"], auth_methods=["client_secret_basic"], on_token=on_token
        )
        run.resource_server(lambda: self.auth.url)

    def context(self, run: Run) -> dict[str, Any]:
        return {"client_id": CC_CLIENT_ID, "client_secret": CC_CLIENT_SECRET}

    def daemon(self, run: Run) -> dict[str, Any]:
        return {
            "preregistered": [
                {
                    "issuer": self.auth.issuer,
                    "clientId": CC_CLIENT_ID,
                    "clientSecret": CC_CLIENT_SECRET,
                    "method": "client_secret_basic",
                    "grantType": "client_credentials",
                }
            ]
        }


class ClientCredentialsJWT(ClientCredentials):
    name = "auth/client-credentials-jwt"
    description = "client_credentials grant, pre-registered client authenticating with an ES256 private_key_jwt (SEP-1046)"
    check_id = "client-credentials-jwt-verified"

    def setup(self, run: Run) -> None:
        # A fresh key pair per run, as the suite's generateTestKeypair.
        private_key = es256.generate_private_key()
        self.public_key = es256.public_key(private_key)
        self.private_key_pem = es256.pkcs8_pem(private_key)

        def refuse(check_id: str, description: str) -> dict[str, Any]:
            run.checks.add(check_id, FAILURE, description)
            return {"error": "invalid_client", "description": description, "status": 401}

        def on_token(request: Request) -> dict[str, Any]:
            refused = self.grant_type_refused(run, request)
            if refused is not None:
                return refused
            assertion_type = request.form.get("client_assertion_type")
            if assertion_type != JWT_BEARER_ASSERTION:
                return refuse("client-credentials-assertion-type", f"Invalid client_assertion_type: {assertion_type}")
            if "client_secret" in request.form or (request.header("authorization") or "").startswith("Basic "):
                return refuse(self.check_id, "Client sent a client secret besides its JWT assertion: one client authentication method per request (RFC 6749 §2.3)")
            try:
                payload = self.verify_assertion(request.form.get("client_assertion") or "")
            except ValueError as error:
                return refuse(self.check_id, f"JWT verification failed: {error}")
            if payload.get("iss") != CC_CLIENT_ID:
                return refuse("client-credentials-jwt-iss", f"JWT iss claim {payload.get('iss')!r} does not match expected client_id {CC_CLIENT_ID!r}")
            if payload.get("sub") != CC_CLIENT_ID:
                return refuse("client-credentials-jwt-sub", f"JWT sub claim {payload.get('sub')!r} does not match expected client_id {CC_CLIENT_ID!r}")
            run.checks.add(self.check_id, SUCCESS, "Client successfully authenticated with signed JWT assertion")
            return self.issue(request)

        self.auth = run.auth_server(
            registration=False,
            grant_types=["client_credentials"],
            auth_methods=["private_key_jwt"],
            signing_algs=["ES256"],
            on_token=on_token,
        )
        run.resource_server(lambda: self.auth.url)

    def verify_assertion(self, assertion: str) -> dict[str, Any]:
        """jose.jwtVerify(assertion, publicKey, {audience: [issuer, issuer + "/"], clockTolerance: 30}),
        with exp required (RFC 7523 §3)."""
        _, payload = es256.jws_verify(assertion, self.public_key)
        bare = self.auth.issuer.rstrip("/")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(a in (bare, f"{bare}/") for a in audiences):
            raise ValueError(f"aud {audience!r} is not the issuer {bare!r} (with or without one trailing slash)")
        now = time.time()

        def number(claim: str) -> float | None:
            value = payload.get(claim)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{claim} must be a number")
            return value

        exp, iat, nbf = number("exp"), number("iat"), number("nbf")
        if exp is None:
            raise ValueError("exp is required")
        if exp <= now - JWT_CLOCK_TOLERANCE:
            raise ValueError("the assertion has expired (exp)")
        if iat is not None and iat > now + JWT_CLOCK_TOLERANCE:
            raise ValueError("iat is in the future")
        if nbf is not None and nbf > now + JWT_CLOCK_TOLERANCE:
            raise ValueError("the assertion is not yet valid (nbf)")
        return payload

    def context(self, run: Run) -> dict[str, Any]:
        return {"client_id": CC_CLIENT_ID, "private_key_pem": self.private_key_pem, "signing_algorithm": "ES256"}

    def daemon(self, run: Run) -> dict[str, Any]:
        return {
            "preregistered": [
                {
                    "issuer": self.auth.issuer,
                    "clientId": CC_CLIENT_ID,
                    "method": "private_key_jwt",
                    "grantType": "client_credentials",
                    "privateKeyPEM": self.private_key_pem,
                }
            ]
        }


# ---------------------------------------------------------------------------------------
# tokenbroker/*: what the official suite does not test
# ---------------------------------------------------------------------------------------


class PKCERefusal(Scenario):
    introduced = DRAFT
    allow_client_error = True

    def __init__(self, suffix: str, methods: list[str] | None, description: str) -> None:
        self.name = f"tokenbroker/{suffix}"
        self.methods = methods
        self.description = description

    def setup(self, run: Run) -> None:
        auth = run.auth_server(code_challenge_methods=self.methods)
        run.resource_server(lambda: auth.url)

    def finish(self, run: Run) -> None:
        fetched = run.checks.has("authorization-server-metadata")
        used = bool(run.log.where(path="/register") or run.log.where(path="/authorize") or run.log.where(path="/token"))
        ok = fetched and not used
        run.checks.add(
            "pkce-support-verified",
            SUCCESS if ok else FAILURE,
            "Client refused to proceed: the AS does not advertise PKCE S256"
            if ok
            else ("Client MUST refuse to proceed when code_challenge_methods_supported lacks S256" if fetched else "Client never fetched the AS metadata"),
        )
        reasons = [e.get("reason") for e in run.broker_errors()]
        run.checks.add(
            "broker-reports-discovery-failed",
            SUCCESS if reasons == ["discovery_failed"] else FAILURE,
            f"token/get answered {reasons or 'no error'} (expected discovery_failed)",
        )


class TokenScopeOmitted(Scenario):
    name = "tokenbroker/token-scope-omitted"
    description = "Token response without scope: the grant is the round's requested scopes (RFC 6749 §5.1)"

    def setup(self, run: Run) -> None:
        self.auth = run.auth_server(token_scope="omit")
        run.resource_server(lambda: self.auth.url, required_scopes=["mcp:basic"], scope_in_header=True)

    def finish(self, run: Run) -> None:
        requested = [scope_list(r.query.get("scope")) for r in run.log.where(method="GET", path="/authorize")]
        reported = [e.get("scopes") for e in run.broker_tokens()]
        ok = len(requested) == 1 and bool(reported) and all(sorted(s or []) == sorted(requested[0]) for s in reported)
        run.checks.add(
            "token-scope-omitted-resolved",
            SUCCESS if ok else FAILURE,
            f"Broker reported the requested scopes {requested[0] if requested else []} for a token response without scope"
            if ok
            else f"Broker reported {reported} after authorization requests for {requested}",
        )


class TokenScopeNarrowed(Scenario):
    name = "tokenbroker/token-scope-narrowed"
    allow_client_error = True
    description = "AS grants mcp:basic of mcp:basic mcp:write; tools/call needs mcp:write: no sign-in loop"

    def setup(self, run: Run) -> None:
        auth = run.auth_server(token_scope="narrow", narrow_to=["mcp:basic"])

        def middleware(rs: ResourceServer, request: Request, method: str | None) -> Response | None:
            token = rs.bearer(request)
            if token is None:
                return rs.challenge_401()
            verdict, scopes = run.tokens.verify(token)
            if verdict != "valid":
                return rs.challenge_401("Invalid token")
            required = ["mcp:write"] if method == "tools/call" else ["mcp:basic"]
            if not all(s in scopes for s in required):
                return rs.challenge_403(required)
            return None

        run.resource_server(lambda: auth.url, scopes_supported=["mcp:basic", "mcp:write"], middleware=middleware)

    def finish(self, run: Run) -> None:
        reported = [e.get("scopes") for e in run.broker_tokens()]
        ok = bool(reported) and reported[0] == ["mcp:basic"]
        run.checks.add(
            "token-scope-narrowed-resolved",
            SUCCESS if ok else FAILURE,
            "Broker reported the narrowed scope mcp:basic" if ok else f"Broker reported {reported}; the AS granted only mcp:basic",
        )
        attempts = len(run.log.where(method="GET", path="/authorize"))
        run.checks.add(
            "narrowed-scope-retry-limit",
            SUCCESS if 1 <= attempts <= 3 else FAILURE,
            f"{attempts} authorization request(s) for a scope the AS will not grant (1 to 3 allowed)",
        )


class RefreshRotation(Scenario):
    name = "tokenbroker/refresh-rotation"
    description = "Each access token dies after one use; refresh tokens rotate with reuse protection"

    @property
    def versions(self) -> list[str]:
        return [DATED]  # the stateful wire makes four tokened requests: several refreshes

    def setup(self, run: Run) -> None:
        self.auth = run.auth_server(refresh_tokens=True)
        run.resource_server(lambda: self.auth.url, expire_tokens="all")

    def finish(self, run: Run) -> None:
        refresh_checks(run, self.auth, expect_authorizations=1, minimum_refreshes=2)
        run.checks.add(
            "refresh-token-reuse",
            FAILURE if self.auth.refresh_reuse_detected else SUCCESS,
            "Client presented a rotated-out refresh token (the AS revoked the family)"
            if self.auth.refresh_reuse_detected
            else "Client always presented the newest refresh token",
        )


class RefreshInvalidGrant(Scenario):
    name = "tokenbroker/refresh-invalid-grant"
    description = "The first access token dies; its refresh is refused with invalid_grant: sign in again"

    @property
    def versions(self) -> list[str]:
        return [DATED, DRAFT]

    def setup(self, run: Run) -> None:
        self.auth = run.auth_server(refresh_tokens=True, refuse_refresh=True)
        run.resource_server(lambda: self.auth.url, expire_tokens="first")

    def finish(self, run: Run) -> None:
        refreshes = [r for r in run.log.where(method="POST", path="/token") if r.form.get("grant_type") == "refresh_token"]
        authorizations = run.log.where(method="GET", path="/authorize")
        ok = len(refreshes) == 1 and len(authorizations) == 2
        if ok:
            order = run.log.all()
            ok = order.index(refreshes[0]) < order.index(authorizations[1])
        run.checks.add(
            "refresh-invalid-grant-recovered",
            SUCCESS if ok else FAILURE,
            "After invalid_grant the client signed in again (one refresh, then one new authorization)"
            if ok
            else f"Expected one refused refresh then a second authorization; saw {len(refreshes)} refresh(es), {len(authorizations)} authorization(s)",
        )
        refresh_checks(run, self.auth, expect_authorizations=None, minimum_refreshes=1)


def refresh_checks(run: Run, auth: AuthServer, expect_authorizations: int | None, minimum_refreshes: int) -> None:
    """What every refresh request must look like."""
    refreshes = [r for r in run.log.where(server=auth.name, method="POST", path="/token") if r.form.get("grant_type") == "refresh_token"]
    authorizations = run.log.where(server=auth.name, method="GET", path="/authorize")
    run.checks.add(
        "refresh-used",
        SUCCESS if len(refreshes) >= minimum_refreshes else FAILURE,
        f"{len(refreshes)} refresh request(s) (at least {minimum_refreshes} expected)",
    )
    if expect_authorizations is not None:
        run.checks.add(
            "refresh-instead-of-sign-in",
            SUCCESS if len(authorizations) == expect_authorizations else FAILURE,
            f"{len(authorizations)} authorization request(s) ({expect_authorizations} expected: rejected tokens are refreshed, not re-authorized)",
        )
    resources = {r.query.get("resource") for r in authorizations}
    consistent = all(r.form.get("resource") in resources and r.form.get("resource") for r in refreshes)
    run.checks.add(
        "refresh-resource-parameter",
        SUCCESS if consistent else FAILURE,
        "Every refresh request carries the authorization request's resource (RFC 8707)"
        if consistent
        else "Refresh requests MUST include the same resource parameter",
    )
    widened = [r for r in refreshes if r.form.get("scope") and not set(scope_list(r.form.get("scope"))) <= set().union(*(scope_list(a.query.get("scope")) for a in authorizations))]
    run.checks.add(
        "refresh-scope-not-widened",
        FAILURE if widened else SUCCESS,
        "A refresh asked for scopes never granted (RFC 6749 §6)" if widened else "No refresh asked for more than was granted",
    )


# ---------------------------------------------------------------------------------------

SCENARIOS: list[Scenario] = [
    MetadataScenario("metadata-default", "/.well-known/oauth-protected-resource/mcp", True, "/.well-known/oauth-authorization-server", trap_root_prm=True),
    MetadataScenario("metadata-var1", "/.well-known/oauth-protected-resource/mcp", False, "/.well-known/openid-configuration"),
    MetadataScenario("metadata-var2", "/.well-known/oauth-protected-resource", False, "/.well-known/oauth-authorization-server/tenant1", prefix="/tenant1"),
    MetadataScenario("metadata-var3", "/custom/metadata/location.json", True, "/tenant1/.well-known/openid-configuration", prefix="/tenant1"),
    BasicCIMD(),
    ScopeFromWWWAuthenticate(),
    ScopeFromScopesSupported(),
    ScopeOmittedWhenUndefined(),
    ScopeStepUp(),
    ScopeRetryLimit(),
    TokenEndpointAuth("client_secret_basic", "basic"),
    TokenEndpointAuth("client_secret_post", "post"),
    TokenEndpointAuth("none", "none"),
    PreRegistration(),
    ResourceMismatch(),
    OfflineAccessScope(),
    OfflineAccessNotSupported(),
    AuthorizationServerMigration(),
    IssScenario("supported", True, "correct", "sep-2468-client-compare-iss-supported", False, "iss advertised and correct: proceed"),
    IssScenario("not-advertised", None, "omit", "sep-2468-client-proceed-no-iss", False, "iss neither advertised nor sent: proceed"),
    IssScenario("supported-missing", True, "omit", "sep-2468-client-reject-missing-iss", True, "iss advertised but missing: reject"),
    IssScenario("wrong-issuer", True, "wrong", "sep-2468-client-compare-iss-supported", True, "iss advertised and wrong: reject"),
    IssScenario("unexpected", None, "wrong", "sep-2468-client-compare-iss-unadvertised", True, "iss not advertised but sent and wrong: reject"),
    IssScenario("normalized", True, "normalized", "sep-2468-client-no-normalization", True, "iss is the issuer plus '/': reject (no normalisation)"),
    MetadataIssuerMismatch(),
    ClientCredentialsBasic(),
    ClientCredentialsJWT(),
    OAuthMetadataBackcompat(),
    OAuthEndpointFallback(),
    PKCERefusal("pkce-methods-absent", None, "AS metadata without code_challenge_methods_supported: refuse"),
    PKCERefusal("pkce-s256-not-advertised", ["plain"], "AS metadata lists only plain: refuse"),
    TokenScopeOmitted(),
    TokenScopeNarrowed(),
    RefreshRotation(),
    RefreshInvalidGrant(),
]

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def runs() -> list[tuple[str, str]]:
    """Every (scenario, spec version) pair the suite runs."""
    return [(scenario.name, version) for scenario in SCENARIOS for version in scenario.versions]


def fixture_errors(run: Run) -> None:
    """A fixture that failed is not a client that passed."""
    for app in run.apps:
        for error in app.errors:
            run.checks.add("fixture-error", FAILURE, f"the fixture itself failed ({app.name}): {error}")


def wire_check(run: Run) -> None:
    """A structural stand-in for the suite's JSON-schema check of every client message."""
    if run.rs is None or not run.rs.messages:
        return
    problems: list[str] = []
    for message in run.rs.messages:
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"), str):
            problems.append("not a JSON-RPC 2.0 request or notification")
            continue
        method = message["method"]
        if "id" in message and (isinstance(message["id"], bool) or not isinstance(message["id"], (int, str))):
            problems.append(f"{method}: id must be a string or an integer")
        params = message.get("params", {})
        if not isinstance(params, dict):
            problems.append(f"{method}: params must be an object")
            continue
        if method == "tools/call" and (not isinstance(params.get("name"), str) or not isinstance(params.get("arguments", {}), dict)):
            problems.append("tools/call: name must be a string and arguments an object")
        if not is_stateful(run.spec_version):
            meta = params.get("_meta")
            if not isinstance(meta, dict) or "io.modelcontextprotocol/protocolVersion" not in meta or "io.modelcontextprotocol/clientCapabilities" not in meta:
                problems.append(f"{method}: _meta lacks protocolVersion or clientCapabilities")
        elif method == "initialize" and not all(k in params for k in ("protocolVersion", "capabilities", "clientInfo")):
            problems.append("initialize: protocolVersion, capabilities and clientInfo are required")
    run.checks.add(
        "wire-schema-valid",
        FAILURE if problems else SUCCESS,
        "; ".join(sorted(set(problems))) if problems else f"{len(run.rs.messages)} client message(s) well-formed",
    )


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
