from django.http import JsonResponse
from django.views import View
from oauth2_provider.models import get_access_token_model, get_application_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views.generic import ScopedProtectedResourceMetadataView

from .middleware import request_log


class FilesView(ScopedProtectedResourceMetadataView):
    """A protected resource: DOT's own RFC 9728 opt-in view (401 with resource_metadata;
    403 insufficient_scope without scope=, as DOT sends it)."""

    def get_resource_metadata_url(self, request):
        return request.build_absolute_uri("/.well-known/oauth-protected-resource/api/files")

    def get(self, request, *args, **kwargs):
        return JsonResponse({"ok": self.required_scopes[0]})


class ReadView(FilesView):
    required_scopes = ["files:read"]


class WriteView(FilesView):
    required_scopes = ["files:write"]


class TestLogView(View):
    def get(self, request):
        return JsonResponse(request_log(), safe=False)


class TestExpireView(View):
    """POST: every access token expires now, as if its hour had passed (the broker's
    ManualClock moves by hand; DOT's clock is the real one)."""

    def post(self, request):
        from datetime import timedelta

        from django.utils import timezone

        count = get_access_token_model().objects.update(expires=timezone.now() - timedelta(seconds=1))
        return JsonResponse({"expired": count})


class TestStatsView(View):
    """Counts only; nothing secret."""

    def get(self, request):
        log = request_log()
        refreshes = [e for e in log if e["path"] == "/o/token/" and e["grant_type"] == "refresh_token"]
        refresh_tokens = get_refresh_token_model().objects
        return JsonResponse(
            {
                "register": sum(1 for e in log if e["path"] == "/o/register/" and e["method"] == "POST"),
                "authorize": sum(1 for e in log if e["path"] == "/o/authorize/"),
                "token_authorization_code": sum(1 for e in log if e["path"] == "/o/token/" and e["grant_type"] == "authorization_code"),
                "token_refresh_token": len(refreshes),
                "refresh_invalid_grant": sum(1 for e in refreshes if e.get("error") == "invalid_grant"),
                "revoke": sum(1 for e in log if e["path"] == "/o/revoke_token/"),
                "applications": get_application_model().objects.count(),
                "access_tokens": get_access_token_model().objects.count(),
                "refresh_tokens": refresh_tokens.count(),
                "refresh_tokens_live": refresh_tokens.filter(revoked__isnull=True).count(),
                "reuse_protection": bool(oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION),
            }
        )
