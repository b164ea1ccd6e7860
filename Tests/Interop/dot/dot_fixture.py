#!/usr/bin/env python3
"""Interop fixture: django-oauth-toolkit 3.4.1 (Django 5.2) as an authorization server,
protecting a small files API, on loopback, for tokenbroker's integration tests.

    python dot_fixture.py

Runs the migrations on a temporary SQLite database, creates the test user, and once the
server listens prints exactly one JSON line on stdout:
    {"base": "http://127.0.0.1:P", "issuer": "http://127.0.0.1:P/o",
     "resource": "http://127.0.0.1:P/api/files",
     "read": "http://127.0.0.1:P/api/files/read", "write": "http://127.0.0.1:P/api/files/write"}
The process exits when stdin reaches EOF, or on SIGTERM/SIGINT.

What is DOT's and what is ours (dotbed/):
  * DOT, configured and unmodified: /o/authorize/, /o/token/, /o/revoke_token/,
    /o/introspect/, OpenID Connect (openid in scopes_supported, /o/.well-known/openid-configuration),
    DCR at /o/register/ (open registration: AllowAllDCRPermission),
    RFC 8414 metadata (at /.well-known/oauth-authorization-server/o and under /o/),
    RFC 9728 metadata at /.well-known/oauth-protected-resource/api/files, PKCE required
    with S256 only, RFC 9207 `iss`, refresh-token rotation with reuse protection, RFC
    8707 `resource` as the token's audience, and the protected views
    (ScopedProtectedResourceMetadataView: 401 with resource_metadata, 403
    insufficient_scope without scope=).
  * Ours: /api/files/read (needs files:read) and /api/files/write (needs files:write);
    a middleware that signs the test user in on /o/authorize/; a signal that marks every
    application skip_authorization (auto-approval); /_test/log and /_test/stats (no
    secrets); POST /_test/expire ends every access token's life now.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> int:
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=True)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    issuer = f"{base}/o"
    resource = f"{base}/api/files"
    state = tempfile.mkdtemp(prefix="dotbed-")

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    signing_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )

    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="dotbed-test-only-not-secret",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF="dotbed.urls",
        USE_TZ=True,
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": os.path.join(state, "dot.sqlite3"),
                "OPTIONS": {"timeout": 30},
            }
        },
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "oauth2_provider",
            "dotbed",
        ],
        MIDDLEWARE=[
            "dotbed.middleware.RecordingMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "dotbed.middleware.AutoLoginMiddleware",
        ],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "OPTIONS": {}}],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # a test bed: fast
        LOGGING_CONFIG=None,
        OAUTH2_PROVIDER={
            # OpenID Connect on, as in a real deployment: DOT then lists openid in both
            # metadata documents' scopes_supported, and fails (HTTP 500) to sign an ID
            # token for a client that DCR registered without an algorithm.
            "OIDC_ENABLED": True,
            "OIDC_RSA_PRIVATE_KEY": signing_key,
            "SCOPES": {"openid": "OpenID Connect", "files:read": "Read files", "files:write": "Write files"},
            "DEFAULT_SCOPES": ["files:read"],
            "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
            "PKCE_REQUIRED": True,
            "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,  # S256 only, in metadata too
            "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207 iss, advertised
            "ROTATE_REFRESH_TOKEN": True,
            "REFRESH_TOKEN_REUSE_PROTECTION": True,
            "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
            "DCR_ENABLED": True,
            "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
            "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
            "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
            "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post", "none"],
            "OIDC_ISS_ENDPOINT": issuer,
            "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
            "OAUTH2_PROTECTED_RESOURCE_IDENTIFIER": resource,
            "OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS": [issuer],
            "OAUTH2_PROTECTED_RESOURCE_NAME": "dotbed files API",
        },
    )

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0, interactive=False)
    get_user_model().objects.create_user("testuser", password="not-used-auto-login")

    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(
        json.dumps(
            {"base": base, "issuer": issuer, "resource": resource, "read": f"{resource}/read", "write": f"{resource}/write"}
        ),
        flush=True,
    )
    stop.wait()
    server.shutdown()
    from django.db import connections

    connections.close_all()
    shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
