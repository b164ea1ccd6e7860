#!/usr/bin/env python3
"""A fake OpenID provider on loopback, just enough for oidc-agent to hold an account.

    fake_oidc.py        prints "http://127.0.0.1:PORT" on its first line, then serves
                        until its stdin closes

Serves the discovery document and a token endpoint that answers every refresh_token
grant with a fresh access token (valid for a day, so oidc-agent answers from its cache)
and the same refresh token. Standard library only; prints no token.
"""

import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class Provider(BaseHTTPRequestHandler):
    issuer = ""

    def log_message(self, *_args) -> None:  # quiet: the benchmark prints its own lines
        pass

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/.well-known/openid-configuration"):
            iss = self.issuer
            self.reply(200, {
                "issuer": iss,
                "authorization_endpoint": iss + "/authorize",
                "token_endpoint": iss + "/token",
                "userinfo_endpoint": iss + "/userinfo",
                "jwks_uri": iss + "/jwks",
                "registration_endpoint": iss + "/register",
                "scopes_supported": ["openid", "profile", "offline_access"],
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            })
        elif self.path.startswith("/jwks"):
            self.reply(200, {"keys": []})
        elif self.path.startswith("/userinfo"):
            self.reply(200, {"sub": "benchmark"})
        else:
            self.reply(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        if self.path.startswith("/token") and form.get("grant_type") == ["refresh_token"]:
            self.reply(200, {
                "access_token": "fake-" + secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 86400,
                "refresh_token": form["refresh_token"][0],
                "scope": (form.get("scope") or ["openid offline_access"])[0],
            })
        else:
            self.reply(400, {"error": "unsupported_grant_type"})


def main() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    Provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(Provider.issuer, flush=True)
    sys.stdin.read()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
