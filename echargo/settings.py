"""echargo settings, driven by the environment with embedded defaults.

With nothing set, echargo runs the zero-setup demo: SQLite beside manage.py and Celery tasks
executed inline. DATABASE_URL and REDIS_URL switch to PostgreSQL and a real broker.
Secrets also accept a ``<NAME>_FILE`` variant pointing at a file that holds the value.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def secret(name: str, default: str = "") -> str:
    """Read a secret from NAME, or from the file named by NAME_FILE (docker/k8s secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return env.str(name, default=default)


# --- Core ------------------------------------------------------------------------------------

# ECHARGO_PRODUCTION=1 turns on the strict defaults: a real SECRET_KEY, https-only partner
# URLs with no private addresses, secure cookies.
PRODUCTION = env.bool("ECHARGO_PRODUCTION", default=False)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
_DEMO_SECRET_KEY = "echargo-demo-insecure-key-change-me-in-production-0123456789"  # noqa: S105 (the demo key; production refuses it)
SECRET_KEY = secret("SECRET_KEY", _DEMO_SECRET_KEY)
if PRODUCTION and SECRET_KEY == _DEMO_SECRET_KEY:
    raise ImproperlyConfigured("ECHARGO_PRODUCTION is set: SECRET_KEY (or SECRET_KEY_FILE) too.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "simple_history",
    "django_celery_beat",
    "import_export",
    "echargo",
    "apps.partners",
    "apps.audit",
    "apps.locations",
    "apps.tariffs",
    "apps.tokens",
    "apps.sessions",
    "apps.chargers",
    "apps.commands",
    "apps.cdrs",
    "apps.settlement",
]

MIDDLEWARE = [
    "echargo.ocpi.middleware.OcpiExchangeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "echargo.web.staff_middleware.StaffSiteMiddleware",
]
# Run by StaffSiteMiddleware for every path but /ocpi/: partners' calls need none of it.
STAFF_MIDDLEWARE = [
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

# OCPI peers call URLs with and without a trailing slash; a redirect would break their POST/PUT.
APPEND_SLASH = False

ROOT_URLCONF = "echargo.urls"
WSGI_APPLICATION = "echargo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side binding lets psycopg prepare the statements a request repeats (token and
    # credentials lookups): PostgreSQL then skips planning them on every call.
    # (Django leaves psycopg's prepare_threshold off; behind PgBouncer in transaction mode set
    # DB_PREPARE_THRESHOLD=0 to disable it again.)
    _prepare = env.int("DB_PREPARE_THRESHOLD", default=5)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=_prepare or None
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) speed up PostgreSQL; SQLite, the demo's database, ignores them.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
# The admin's middleware checks look in MIDDLEWARE only; ours run inside StaffSiteMiddleware
# (STAFF_MIDDLEWARE) and tests/echargo_core/test_staff_middleware.py checks they are there.
SILENCED_SYSTEM_CHECKS += ["admin.E408", "admin.E409", "admin.E410"]

# --- Time and language -----------------------------------------------------------------------

# OCPI timestamps are UTC; a timestamp without offset is read as UTC because of this setting.
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True

# --- Static files ----------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Security --------------------------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HSTS: browsers reaching the staff site keep to https for this long (a year in production;
# 0, no header, in the demo, which runs on plain http). includeSubDomains covers only names
# below our own host. Preloading is a commitment an operator makes for its whole domain, in
# the browsers' lists, and cannot be undone quickly: off unless set (W021 silenced while off).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS += ["security.W021"]
# http -> https redirect. Off by default, also in production: the TLS-terminating proxy in
# front of us redirects (and a redirect here would answer partners' plain-http POST/PUT with a
# 301 they do not follow). Set it where nothing in front redirects; W008 is silenced while off.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
if not SECURE_SSL_REDIRECT:
    SILENCED_SYSTEM_CHECKS += ["security.W008"]
# check --deploy looks for CsrfViewMiddleware (W003) and XFrameOptionsMiddleware (W002) in
# MIDDLEWARE only; both run for every staff page inside StaffSiteMiddleware (STAFF_MIDDLEWARE
# above), and /ocpi/ needs neither (token-authenticated JSON, no cookies, never framed).
# tests/echargo_core/test_staff_middleware.py checks they are in the chain.
SILENCED_SYSTEM_CHECKS += ["security.W002", "security.W003"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- REST framework (OCPI) -------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.partners.authentication.OcpiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.partners.permissions.IsConnectedPartner"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["echargo.ocpi.parsers.OcpiJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "echargo.ocpi.negotiation.OcpiContentNegotiation",
    "EXCEPTION_HANDLER": "echargo.ocpi.exceptions.ocpi_exception_handler",
    "UNAUTHENTICATED_USER": None,
    # OCPI numbers are JSON numbers, not strings (see STYLE.md, trap 3).
    "COERCE_DECIMAL_TO_STRING": False,
}

# --- Staff map -------------------------------------------------------------------------------

# Background tiles of the admin's station map, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png
# with its attribution (OpenStreetMap requires one). Off by default: the stations show on a plain
# background, and the map works with no internet access.
MAP_TILES_URL = env.str("MAP_TILES_URL", default="")
MAP_TILES_ATTRIBUTION = env.str("MAP_TILES_ATTRIBUTION", default="")

# --- OCPI ------------------------------------------------------------------------------------

# The public base URL partners reach us at; our versions URL is OCPI_BASE_URL + /ocpi/versions.
# Without OCPI_BASE_URL, outside production, the URL bin/demo serves at is read from a file
# beside the SQLite database (`manage.py ocpi_base_url --record URL` writes it), so commands run
# in another shell announce the URLs the demo server answers on.
_SQLITE_NAME = str(DATABASES["default"].get("NAME") or "")
OCPI_BASE_URL_FILE = (
    Path(_SQLITE_NAME + ".base-url")
    if not PRODUCTION
    and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    and _SQLITE_NAME not in ("", ":memory:")
    else None
)


def _recorded_base_url() -> str:
    try:
        return OCPI_BASE_URL_FILE.read_text().strip() if OCPI_BASE_URL_FILE else ""
    except OSError:
        return ""


OCPI_BASE_URL = env.str(
    "OCPI_BASE_URL", default=_recorded_base_url() or "http://127.0.0.1:8000"
).rstrip("/")
# How far a partner's clock may run ahead of ours: an object whose last_updated lies further in
# the future is refused (2001), since it would make every later real update look stale.
OCPI_MAX_CLOCK_SKEW_SECONDS = env.int("OCPI_MAX_CLOCK_SKEW_SECONDS", default=300)
# Server-side cap on list pages (announced as X-Limit).
OCPI_MAX_PAGE_LIMIT = env.int("OCPI_MAX_PAGE_LIMIT", default=100)
# Outgoing calls: (connect, read) seconds, and a cap on a partner's response body.
OCPI_CLIENT_TIMEOUT = (
    env.float("OCPI_CLIENT_CONNECT_TIMEOUT", default=3.05),
    env.float("OCPI_CLIENT_READ_TIMEOUT", default=15.0),
)
OCPI_CLIENT_MAX_RESPONSE_BYTES = env.int("OCPI_CLIENT_MAX_RESPONSE_BYTES", default=20 * 1024 * 1024)
# Registration only calls partner URLs that are safe: https, public addresses. The demo and the
# tests run partners on loopback, so the guard is strict only in production.
OCPI_REQUIRE_HTTPS = env.bool("OCPI_REQUIRE_HTTPS", default=PRODUCTION)
OCPI_ALLOW_PRIVATE_URLS = env.bool("OCPI_ALLOW_PRIVATE_URLS", default=not PRODUCTION)
# A one-time token A handed to a partner stops working after this many hours.
OCPI_TOKEN_A_TTL_HOURS = env.int("OCPI_TOKEN_A_TTL_HOURS", default=72)
# Key for the keyed hash and encryption of credentials tokens; defaults to one derived from
# SECRET_KEY, so rotating SECRET_KEY invalidates stored tokens unless this is set on its own.
OCPI_TOKEN_KEY = secret("OCPI_TOKEN_KEY", SECRET_KEY)
# Bodies kept in the exchange log are cut to this many characters.
# Request bodies (what partners wrote) are kept longer than response bodies (mostly our pages).
OCPI_EXCHANGE_LOG_MAX_REQUEST_BODY = env.int("OCPI_EXCHANGE_LOG_MAX_REQUEST_BODY", default=65_536)
OCPI_EXCHANGE_LOG_MAX_RESPONSE_BODY = env.int("OCPI_EXCHANGE_LOG_MAX_RESPONSE_BODY", default=4096)
OCPI_EXCHANGE_LOG_RETENTION_DAYS = env.int("OCPI_EXCHANGE_LOG_RETENTION_DAYS", default=180)
# Audit log rows (exchange log, authorization decisions) are queued and written by a background
# thread every this many seconds (apps/audit/log_writer.py says what that trades); 0 inserts each
# row at once. SQLite, the demo's database, takes one writer at a time: there rows go at once.
AUDIT_LOG_FLUSH_SECONDS = env.float(
    "AUDIT_LOG_FLUSH_SECONDS",
    default=0.1 if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" else 0.0,
)

# Outbox: a delivery lease longer than any partner call, capped exponential backoff, and how
# long a message is retried before it is parked as a dead letter (state vs billing messages).
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=120)
OUTBOX_MAX_BACKOFF_SECONDS = env.int("OUTBOX_MAX_BACKOFF_SECONDS", default=900)
OUTBOX_RETRY_WINDOW_HOURS = {
    "state": env.float("OUTBOX_STATE_RETRY_WINDOW_HOURS", default=24),
    "billing": env.float("OUTBOX_BILLING_RETRY_WINDOW_HOURS", default=72),
}
# Initial sync of a new connection: objects queued per transaction, and how long the first
# delivery waits when the partner registered with us (it stores our parties only once our
# credentials answer has reached it).
OCPI_INITIAL_SYNC_BATCH = env.int("OCPI_INITIAL_SYNC_BATCH", default=200)
OCPI_INITIAL_SYNC_DELAY_SECONDS = env.float("OCPI_INITIAL_SYNC_DELAY_SECONDS", default=10)

# --- Settlement ------------------------------------------------------------------------------

# Reconciliation of partners' CDRs: a price is accepted when it is within the absolute OR the
# relative tolerance of what our engine computes with the partner's tariff (currency units, %).
SETTLEMENT_PRICE_TOLERANCE = Decimal(env.str("SETTLEMENT_PRICE_TOLERANCE", default="0.01"))
SETTLEMENT_PRICE_TOLERANCE_PERCENT = Decimal(
    env.str("SETTLEMENT_PRICE_TOLERANCE_PERCENT", default="1")
)
# The CDR against the session we saw: energy (kWh or %) and start/end times (seconds).
SETTLEMENT_ENERGY_TOLERANCE_KWH = Decimal(
    env.str("SETTLEMENT_ENERGY_TOLERANCE_KWH", default="0.01")
)
SETTLEMENT_ENERGY_TOLERANCE_PERCENT = Decimal(
    env.str("SETTLEMENT_ENERGY_TOLERANCE_PERCENT", default="1")
)
SETTLEMENT_TIME_TOLERANCE_SECONDS = env.int("SETTLEMENT_TIME_TOLERANCE_SECONDS", default=300)
# A CDR naming a session we never received opens a dispute, for partners that send us Sessions.
SETTLEMENT_DISPUTE_UNKNOWN_SESSION = env.bool("SETTLEMENT_DISPUTE_UNKNOWN_SESSION", default=True)
# Tariff clocks of a CDR whose location and session we do not hold.
SETTLEMENT_DEFAULT_TIME_ZONE = env.str("SETTLEMENT_DEFAULT_TIME_ZONE", default="UTC")

# Real-time token authorization: how long a tap at our station waits for the eMSP (seconds,
# capped at 5: chargers give up after about 20 s and drivers sooner).
TOKENS_REALTIME_TIMEOUT = env.float("TOKENS_REALTIME_TIMEOUT", default=2.0)

# Commands (eMSP side): the read timeout (s) of our POST of a command to a CPO, whose
# CommandResponse is its synchronous answer; and the grace (s) beyond the CPO's own timeout
# before a command without a result ends in TIMEOUT.
COMMANDS_SEND_TIMEOUT = env.float("COMMANDS_SEND_TIMEOUT", default=10.0)
COMMANDS_RESULT_GRACE = env.int("COMMANDS_RESULT_GRACE", default=30)

# --- Our chargers (OCPP 1.6J) and their sessions ------------------------------------------

# `manage.py ocpp_server` listens here; chargers connect to ws://HOST:PORT/ocpp/<charge_point_id>.
OCPP_HOST = env.str("OCPP_HOST", default="0.0.0.0")  # noqa: S104 (chargers connect from outside)
OCPP_PORT = env.int("OCPP_PORT", default=9000)
# Answered in BootNotification: how often a charger sends Heartbeat (seconds).
OCPP_HEARTBEAT_INTERVAL = env.int("OCPP_HEARTBEAT_INTERVAL", default=300)
# How long a call to a charger (Reset, UnlockConnector, ...) waits for its answer (seconds), and
# how long a queued staff command waits for its charger to be connected before it is final.
OCPP_CALL_TIMEOUT = env.float("OCPP_CALL_TIMEOUT", default=30.0)
OCPP_COMMAND_OFFLINE_SECONDS = env.float("OCPP_COMMAND_OFFLINE_SECONDS", default=60.0)
# Without Redis the server polls the command table this often (seconds); with REDIS_URL the web
# process also wakes it through pub/sub, and the poll only catches what a lost wake-up missed.
OCPP_COMMAND_POLL_SECONDS = env.float("OCPP_COMMAND_POLL_SECONDS", default=1.0)
# Worker threads of the ocpp_server process (one database connection each): for charger events,
# and for the events that may wait on a partner's real-time authorization; and the WebSocket
# ping that finds dead connections (seconds, 0 = off).
OCPP_DB_THREADS = env.int("OCPP_DB_THREADS", default=2)
OCPP_PARTNER_THREADS = env.int("OCPP_PARTNER_THREADS", default=8)
OCPP_PING_INTERVAL = env.float("OCPP_PING_INTERVAL", default=60.0)
# Sessions: currency when no tariff applies, and the longest charging period (seconds).
SESSIONS_DEFAULT_CURRENCY = env.str("SESSIONS_DEFAULT_CURRENCY", default="TRY")
SESSIONS_PERIOD_SECONDS = env.int("SESSIONS_PERIOD_SECONDS", default=900)
# A PENDING session (accepted, no energy yet) that is not ACTIVE after this long ends INVALID.
SESSIONS_PENDING_TIMEOUT_SECONDS = env.int("SESSIONS_PENDING_TIMEOUT_SECONDS", default=600)

# --- Celery ----------------------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
# No broker configured: run tasks inline so the demo needs no Redis.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# --- Logging ---------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The ocpp library logs every frame at INFO; the chargers' journal keeps them instead.
        "ocpp": {"level": "WARNING"},
    },
}
