"""Test overrides: the environment still picks the database (PostgreSQL in CI) and broker."""

from .settings import *  # noqa: F403
from .settings import env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests never read the base URL a demo run recorded beside the checkout's SQLite database.
OCPI_BASE_URL_FILE = None
OCPI_BASE_URL = env.str("OCPI_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Partners in tests live on loopback.
OCPI_ALLOW_PRIVATE_URLS = True
OCPI_REQUIRE_HTTPS = False
# Short timeouts keep failure-path tests fast.
OCPI_CLIENT_TIMEOUT = (2.0, 5.0)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Audit log rows inserted at once, so a test reads them right after the call;
# tests/audit/test_log_writer.py covers the queued writer.
AUDIT_LOG_FLUSH_SECONDS = 0.0
