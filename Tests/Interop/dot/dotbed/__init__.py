"""dotbed: a Django project around django-oauth-toolkit for tokenbroker's interop tests."""
