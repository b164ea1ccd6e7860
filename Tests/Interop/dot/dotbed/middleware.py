import threading

from django.contrib.auth import get_user_model, login

TEST_USERNAME = "testuser"

_lock = threading.Lock()
_log = []


def request_log():
    with _lock:
        return list(_log)


class RecordingMiddleware:
    """Records what reaches the authorization server's endpoints: method, path, status
    and the non-secret form fields (grant_type, scope, resource; never a token, code,
    verifier or secret)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        entry = None
        if request.path.startswith("/o/") or request.path.startswith("/api/"):
            source = request.POST if request.method == "POST" else request.GET
            entry = {
                "method": request.method,
                "path": request.path,
                "grant_type": source.get("grant_type"),
                "scope": source.get("scope"),
                "resource": source.get("resource"),
                "token_type_hint": source.get("token_type_hint"),
            }
        response = self.get_response(request)
        if entry is not None:
            entry["status"] = response.status_code
            if response.status_code >= 400 and response.get("Content-Type", "").startswith(("application/json", "text/html")):
                try:
                    import json

                    entry["error"] = json.loads(response.content or b"{}").get("error")
                except (ValueError, AttributeError):
                    pass
            with _lock:
                _log.append(entry)
        return response


class AutoLoginMiddleware:
    """The test user is signed in whenever the authorization page is opened, so no login
    page stands between the broker's browser and the redirect to its callback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/o/authorize") and not request.user.is_authenticated:
            user = get_user_model().objects.get(username=TEST_USERNAME)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return self.get_response(request)
