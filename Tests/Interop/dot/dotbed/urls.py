from django.urls import include, path
from oauth2_provider import urls as oauth2_urls

from . import views

urlpatterns = [
    # The authorization server under /o/ (issuer http://host/o) ...
    path("o/", include((oauth2_urls.base_urlpatterns + oauth2_urls.oidc_urlpatterns + oauth2_urls.dcr_urlpatterns + oauth2_urls.metadata_urlpatterns, "oauth2_provider"))),
    # ... with its RFC 8414 metadata also at the root, in the path-component form
    # (/.well-known/oauth-authorization-server/o), and the resource's RFC 9728 metadata
    # at the path-aware location (/.well-known/oauth-protected-resource/api/files).
    path("", include((oauth2_urls.metadata_urlpatterns, "dotbed-metadata"))),
    path("api/files/read", views.ReadView.as_view()),
    path("api/files/write", views.WriteView.as_view()),
    path("_test/log", views.TestLogView.as_view()),
    path("_test/stats", views.TestStatsView.as_view()),
    path("_test/expire", views.TestExpireView.as_view()),
]
