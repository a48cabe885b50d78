"""AlgoDesk settings: one module, every value read from the environment (see README, "Settings").

Embedded defaults (nothing set): SQLite under var/, a file cache under var/ shared by every process,
Celery on kombu's filesystem transport under var/, development secrets generated into var/.
Production sets DEBUG=False and must provide SECRET_KEY, FERNET_KEYS and API_KEY_PEPPER.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config import devsecrets

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
VAR_DIR = Path(env.str("ALGODESK_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    # Values already in the environment win; the file only fills the gaps.
    environ.Env.read_env(devsecrets.ensure(VAR_DIR / "dev-secrets.env"), overwrite=False)
else:
    missing = [name for name in devsecrets.NAMES if not env.str(name, default="").strip()]
    if missing:
        raise ImproperlyConfigured(
            "AlgoDesk refuses to start with DEBUG off: missing required setting(s) "
            + ", ".join(missing)
            + ". Set them in the environment (see README, Settings)."
        )

SECRET_KEY = env.str("SECRET_KEY")
FERNET_KEYS = [k.strip() for k in env.list("FERNET_KEYS") if k.strip()]
API_KEY_PEPPER = env.str("API_KEY_PEPPER")
if not FERNET_KEYS:
    raise ImproperlyConfigured("FERNET_KEYS must list at least one Fernet key (newest first).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "accounts.adminconfig.AlgoDeskAdminConfig",  # django.contrib.admin with the 2FA site as admin.site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI as static files: /api/docs/ works offline
    "csp",
    "django_otp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_celery_beat",
    "django_celery_results",
    "accounts",
    "brokers",
    "trading",
    "marketdata",
    "strategies",
    "sandbox",
    "feed",
    "analytics",
    "maintenance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy on every response (see Security below)
    # 503 JSON on the APIs when the database or the cache cannot be reached (its process_exception).
    "core.outage.OutageMiddleware",
    # 403 for a banned address before any other work (one cache read; nothing above it touches the database).
    "analytics.middleware.IpBanMiddleware",
    # Serves the admin's static files from gunicorn too, so the embedded default needs no proxy.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Traffic and API logs (buffered, written off the request path), not-found counting for bans.
    "analytics.middleware.RequestLogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns lock-outs raised below it into the lock-out response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "feed.asgi.application"  # the real-time feed (manage.py feed); the web stays on WSGI

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

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'algodesk.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, worker and beat read while one of them writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
         "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=20.0),  # seconds a writer waits for the lock
         "transaction_mode": "IMMEDIATE"}
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that accepts connections but never answers would hold each request for psycopg's default
    # 130 s: fail fast instead (the APIs answer 503, core.outage). Values in the URL's query win.
    _pg = DATABASES["default"].setdefault("OPTIONS", {})
    _pg.setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
    _statement_ms = int(env.float("DB_STATEMENT_TIMEOUT", default=30.0) * 1000)
    if _statement_ms > 0 and "statement_timeout" not in _pg.get("options", ""):
        _pg["options"] = f"{_pg.get('options', '')} -c statement_timeout={_statement_ms}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Traffic, API and system logs (analytics.routers): their own database with LOGS_DATABASE_URL; on the SQLite
# default a second file, so log writes never hold the orders' write lock; on PostgreSQL without it, default.
if env.str("LOGS_DATABASE_URL", default=""):
    DATABASES["logs"] = env.db("LOGS_DATABASE_URL")
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["logs"] = {**DATABASES["default"], "NAME": str(VAR_DIR / "logs.sqlite3"),
                         "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {}))}
if "logs" in DATABASES:
    DATABASES["logs"].setdefault("CONN_MAX_AGE", DATABASES["default"]["CONN_MAX_AGE"])
DATABASE_ROUTERS = ["analytics.routers.LogsRouter"]

# --- Cache and Celery -----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="algodesk"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # Seconds to connect and to wait for an answer: past them the APIs answer 503 (core.outage).
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_TIMEOUT", default=2.0),
                "SOCKET_TIMEOUT": env.float("REDIS_TIMEOUT", default=2.0),
            },
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    # A file cache, not local memory: web, worker and beat must see the same API-key cache entries.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="algodesk"),
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
    _queue = VAR_DIR / "celery"
    for _sub in ("queue", "processed", "control"):
        (_queue / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue / "queue"),
        "data_folder_out": str(_queue / "queue"),
        "processed_folder": str(_queue / "processed"),
        # Exchange tables (broadcasts, worker control); kombu's default is ./control in the cwd.
        "control_folder": str(_queue / "control"),
        "store_processed": False,
    }

CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The queue tasks go to unless routed elsewhere (workers consume it: `celery worker -Q <name>`).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Task results are kept this many days (maintenance's housekeeping deletes older ones; Redis expires them).
TASK_RESULT_KEEP_DAYS = env.int("TASK_RESULT_KEEP_DAYS", default=7)
CELERY_RESULT_EXPIRES = timedelta(days=TASK_RESULT_KEEP_DAYS)
# --- Maintenance: retention and housekeeping (README, "Retention") ------------------------------
# Seconds one retention run may take; it stops between batches past it and the next run continues.
RETENTION_TIME_LIMIT = env.int("RETENTION_TIME_LIMIT", default=3300)
if TASK_RESULT_KEEP_DAYS < 1 or RETENTION_TIME_LIMIT < 1:
    raise ImproperlyConfigured("TASK_RESULT_KEEP_DAYS and RETENTION_TIME_LIMIT must be at least 1.")

# --- Authentication -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "accounts.hashers.PepperedArgon2PasswordHasher",
    # Kept so hashes made before the pepper was introduced still verify (and are upgraded).
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# API keys: verified keys are cached (keyed by a SHA-256 of the key) so Argon2 runs once per period.
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=10 * 60 * 60)
API_KEY_INVALID_CACHE_SECONDS = env.int("API_KEY_INVALID_CACHE_SECONDS", default=5 * 60)

# Lock-out after repeated failures (django-axes for passwords; the same limits for second factors).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_LOCKOUT_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="AlgoDesk")
# A trader enrolls a second factor before creating API keys or changing risk limits or analyze mode.
# Off only for demos; approving pending orders always needs one.
REQUIRE_SECOND_FACTOR = env.bool("REQUIRE_SECOND_FACTOR", default=True)

# --- Internationalisation and time ----------------------------------------------------------
LANGUAGE_CODE = "en-in"
USE_I18N = True
USE_TZ = True  # stored in UTC
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Kolkata")  # displayed in
FORMAT_MODULE_PATH = ["config.formats"]  # en-in's number grouping (1,00,000.00), which Django does not ship

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]  # the project's own files (favicon), beside the apps' static/

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # What the credential may do (an API key's mode, a session's second factor) beside who it is.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated",
                                   "accounts.permissions.CredentialPermission"],
    # DRF's parsers, JSON's behind a check that refuses NUL, lone surrogates and deep nesting (core.parsers).
    # Rate limits per API key in the shared cache; a view opts in with `throttle_scope`.
    "DEFAULT_THROTTLE_CLASSES": ["accounts.ratelimit.ScopedRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.SafeJSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend",
                                "rest_framework.filters.OrderingFilter"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "config.renderers.BrowsableAPIRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AlgoDesk API",
    "DESCRIPTION": "AlgoDesk's resource API. The OpenAlgo-compatible API lives under /api/v1/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "PREPROCESSING_HOOKS": ["trading.resource_api.schema.exclude_openalgo_api"],
    # Served from drf-spectacular-sidecar's static files (pinned), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    # Two models have an `action` choice field (an order's side, what a risk rule did): name both.
    "ENUM_NAME_OVERRIDES": {"OrderActionEnum": "trading.models.Action",
                            "RiskActionEnum": "strategies.models.RiskAction"},
}

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
X_FRAME_OPTIONS = "DENY"
# HTTPS in production: redirect plain HTTP, and HSTS (sent by SecurityMiddleware on HTTPS responses only).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading is a commitment the operator makes for the whole domain (hstspreload.org), so it is opt-in
# and its check --deploy reminder is silenced unless SECURE_HSTS_PRELOAD is set.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Content-Security-Policy (django-csp): only this site's own files run or style the page; an inline
# <style> or <script> needs the request's nonce ({{ request.csp_nonce }}); a view that needs more
# widens it for itself with csp.decorators.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"},
                 # WARNING and above into the system log (analytics.handlers), redacted, written off the caller.
                 "system_log": {"class": "analytics.handlers.SystemLogHandler",
                                "level": env.str("SYSTEM_LOG_LEVEL", default="WARNING")},
                 # maintenance's one-line run summaries are stored too, at INFO (README, "Retention").
                 "system_log_summaries": {"class": "analytics.handlers.SystemLogHandler", "level": "INFO"}},
    "root": {"handlers": ["console", "system_log"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"},
                "maintenance": {"handlers": ["console", "system_log_summaries"], "level": "INFO",
                                "propagate": False}},
}

# --- Analytics: logs and IP bans (README, "Logs and IP bans") -----------------------------------
TRAFFIC_LOG_ENABLED = env.bool("TRAFFIC_LOG_ENABLED", default=True)
API_LOG_ENABLED = env.bool("API_LOG_ENABLED", default=True)
API_LOG_PREFIXES = env.list("API_LOG_PREFIXES", default=["/api/", "/strategy/webhook/", "/chartink/webhook/"])
API_LOG_BODY_LIMIT = env.int("API_LOG_BODY_LIMIT", default=4096)  # characters kept of each body, after redaction
API_LOG_CAPTURE_LIMIT = 64 * 1024  # bytes: a larger body is logged by its size (redaction parses the whole)
LOG_FLUSH_SECONDS = env.float("LOG_FLUSH_SECONDS", default=1.0)  # 0: no thread, analytics.buffer.flush() by hand
LOG_FLUSH_BATCH = env.int("LOG_FLUSH_BATCH", default=500)
LOG_BUFFER_MAX = env.int("LOG_BUFFER_MAX", default=20_000)  # records waiting per process; more are dropped
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])  # addresses/networks whose X-Forwarded-For is read
IP_BANS_ENABLED = env.bool("IP_BANS_ENABLED", default=True)
IP_BAN_NOT_FOUND_LIMIT = env.int("IP_BAN_NOT_FOUND_LIMIT", default=50)  # per address per day; 0 = never
# Not-found answers that never count: what browsers ask for on their own, and missing static files.
IP_BAN_NOT_FOUND_IGNORE = env.list("IP_BAN_NOT_FOUND_IGNORE", default=[
    "/favicon.ico", "/robots.txt", "/apple-touch-icon", "/static/", "/.well-known/"])
IP_BAN_INVALID_KEY_LIMIT = env.int("IP_BAN_INVALID_KEY_LIMIT", default=20)
IP_BAN_HOURS = env.float("IP_BAN_HOURS", default=24.0)
IP_BAN_PERMANENT_AFTER = env.int("IP_BAN_PERMANENT_AFTER", default=3)  # the third ban is permanent; 0 = never
IP_BAN_ALLOWLIST = env.list("IP_BAN_ALLOWLIST", default=[])  # never banned, with loopback and the admin's list
IP_BAN_CACHE_SECONDS = env.int("IP_BAN_CACHE_SECONDS", default=300)
# Ended bans are deleted this many days after they end (housekeeping); until then a new ban counts toward
# IP_BAN_PERMANENT_AFTER. 0: never deleted.
IP_BAN_FORGET_DAYS = env.int("IP_BAN_FORGET_DAYS", default=30)
if LOG_BUFFER_MAX < 1 or LOG_FLUSH_BATCH < 1 or API_LOG_BODY_LIMIT < 0 or IP_BAN_HOURS <= 0:
    raise ImproperlyConfigured("LOG_BUFFER_MAX and LOG_FLUSH_BATCH must be at least 1, API_LOG_BODY_LIMIT at "
                               "least 0 and IP_BAN_HOURS more than 0.")

# --- Analytics: dashboards (README, "Dashboards") -----------------------------------------------
# The worker's and beat's heartbeat (analytics.tasks.heartbeat, every minute) older than this shows red.
HEARTBEAT_STALE_SECONDS = env.int("HEARTBEAT_STALE_SECONDS", default=300)
# The operators' dashboard keeps its heavy figures (P&L, latency, traffic) this long in the shared cache.
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=30)
if HEARTBEAT_STALE_SECONDS < 60 or DASHBOARD_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("HEARTBEAT_STALE_SECONDS must be at least 60 and DASHBOARD_CACHE_SECONDS at least 0.")

# --- Trading ----------------------------------------------------------------------------------
# Broker adapters by name (dotted paths): adding a broker is adding a module and a line here.
BROKER_ADAPTERS = {
    "openalgo": "brokers.adapters.openalgo.OpenAlgoAdapter",
    "sandbox": "sandbox.adapter.SandboxAdapter",
}
# OpenAlgo-compatible upstream servers: seconds to open a connection / to wait for an answer, and
# the pooled keep-alive connections per host and process. A timeout counts as "broker unavailable".
OPENALGO_CONNECT_TIMEOUT = env.float("OPENALGO_CONNECT_TIMEOUT", default=3.0)
OPENALGO_READ_TIMEOUT = env.float("OPENALGO_READ_TIMEOUT", default=10.0)
OPENALGO_MAX_CONNECTIONS = env.int("OPENALGO_MAX_CONNECTIONS", default=10)
# Broker health and failover (brokers.services.failover). The health check pings every active trading
# account; its beat row is seeded every BROKER_HEALTH_CHECK_SECONDS and is edited in the admin afterwards.
BROKER_HEALTH_CHECK_SECONDS = env.float("BROKER_HEALTH_CHECK_SECONDS", default=30.0)
BROKER_HEALTH_CHECK_TIMEOUT = env.float("BROKER_HEALTH_CHECK_TIMEOUT", default=3.0)  # seconds per ping
BROKER_HEALTH_CHECK_CONCURRENCY = env.int("BROKER_HEALTH_CHECK_CONCURRENCY", default=16)  # pings at once
BROKER_FAILOVER_ENABLED = env.bool("BROKER_FAILOVER_ENABLED", default=True)
BROKER_FAILOVER_AFTER_FAILURES = env.int("BROKER_FAILOVER_AFTER_FAILURES", default=3)  # N failed checks in a row
BROKER_FAILBACK_AFTER_SUCCESSES = env.int("BROKER_FAILBACK_AFTER_SUCCESSES", default=5)  # M healthy checks in a row
if (BROKER_HEALTH_CHECK_SECONDS <= 0 or BROKER_HEALTH_CHECK_TIMEOUT <= 0 or BROKER_HEALTH_CHECK_CONCURRENCY < 1
        or BROKER_FAILOVER_AFTER_FAILURES < 1 or BROKER_FAILBACK_AFTER_SUCCESSES < 1):
    raise ImproperlyConfigured("BROKER_HEALTH_CHECK_SECONDS and BROKER_HEALTH_CHECK_TIMEOUT must be more than 0; "
                               "BROKER_HEALTH_CHECK_CONCURRENCY, BROKER_FAILOVER_AFTER_FAILURES and "
                               "BROKER_FAILBACK_AFTER_SUCCESSES at least 1.")
# Orders whose broker answer was lost (a timeout after sending) await confirmation: the reconcile looks
# for them in the broker's order book and, after this many minutes without finding them, rejects them.
ORDER_RECONCILE_WINDOW_MINUTES = env.int("ORDER_RECONCILE_WINDOW_MINUTES", default=15)
if ORDER_RECONCILE_WINDOW_MINUTES < 1:
    raise ImproperlyConfigured("ORDER_RECONCILE_WINDOW_MINUTES must be a whole number of minutes, at least 1.")
# Prefix of the reference each order carries to its broker ("AD-1234" inside OpenAlgo's strategy tag):
# installations that share one upstream account must use different prefixes.
ORDER_REFERENCE_PREFIX = env.str("ORDER_REFERENCE_PREFIX", default="AD")
if not re.fullmatch(r"[A-Za-z0-9]{1,16}", ORDER_REFERENCE_PREFIX):
    raise ImproperlyConfigured("ORDER_REFERENCE_PREFIX must be 1-16 letters or digits.")
# Refuse orders outside exchange hours (the market calendar). Off for demos and tests.
ENFORCE_MARKET_HOURS = env.bool("ENFORCE_MARKET_HOURS", default=True)
# The daily loss limit counts today's realized P&L of live accounts; on, it adds the unrealized P&L
# of their open positions (valued at their last known price).
RISK_DAILY_LOSS_INCLUDES_UNREALIZED = env.bool("RISK_DAILY_LOSS_INCLUDES_UNREALIZED", default=False)

# Rate limits (OpenAlgo's defaults), per API key, or per IP where there is no key; compound allowed.
RATE_LIMITS_ENABLED = env.bool("RATE_LIMITS_ENABLED", default=True)
RATE_LIMITS = {
    "order": env.str("ORDER_RATE_LIMIT", default="10/second"),
    "smart_order": env.str("SMART_ORDER_RATE_LIMIT", default="10/second"),
    "api": env.str("API_RATE_LIMIT", default="50/second"),
    "webhook": env.str("WEBHOOK_RATE_LIMIT", default="100/minute"),
    "login": env.str("LOGIN_RATE_LIMIT", default="5/minute;25/hour"),
    "invalid_key": env.str("INVALID_KEY_RATE_LIMIT", default="20/minute"),
}

# --- Strategies (webhooks and the fan-out) ------------------------------------------------------
# The same raw body at one webhook within this many seconds is a duplicate (0: only idempotency keys count).
STRATEGY_DUPLICATE_WINDOW = env.int("STRATEGY_DUPLICATE_WINDOW", default=10)
STRATEGY_WEBHOOK_MAX_BYTES = env.int("STRATEGY_WEBHOOK_MAX_BYTES", default=65536)
# Deployments placed by one fan-out task; beyond it, batches (a user's deployments never split) run as tasks.
STRATEGY_FANOUT_BATCH = env.int("STRATEGY_FANOUT_BATCH", default=25)

# --- Sandbox (paper trading) ------------------------------------------------------------------
# Defaults for a new SandboxConfig row; operators change the live values in the admin.
# STARTING_CAPITAL is a decimal string (never a float): money stays exact.
SANDBOX = {
    "STARTING_CAPITAL": env.str("SANDBOX_STARTING_CAPITAL", default="10000000.00"),  # 1,00,00,000 INR
    # The embedded default's `prices simulate` walks these (EXCHANGE:SYMBOL=start price).
    "SIMULATE_SYMBOLS": env.list("SANDBOX_SIMULATE_SYMBOLS", default=[
        "NSE:SBIN=812.50", "NSE:RELIANCE=1290.00", "NSE:INFY=1850.00", "NSE:TCS=4100.00", "NSE:HDFCBANK=1720.00",
    ]),
    "SIMULATE_INTERVAL": env.float("SANDBOX_SIMULATE_INTERVAL", default=1.0),  # seconds between steps
    # How long a price stays in the shared cache; the database row behind it is kept.
    "PRICE_CACHE_SECONDS": env.int("SANDBOX_PRICE_CACHE_SECONDS", default=24 * 60 * 60),
}

# --- Strategies: risk monitor, square-off, performance -----------------------------------------
# The risk monitor checks at most this many active deployments with armed risk rules per run (every
# STRATEGY_RISK_INTERVAL_SECONDS, a beat row seeded once and editable in the admin), resuming where the
# previous run stopped, so a run's work is bounded whatever the number of deployments.
STRATEGY_RISK_BATCH = env.int("STRATEGY_RISK_BATCH", default=200)
STRATEGY_RISK_INTERVAL_SECONDS = env.int("STRATEGY_RISK_INTERVAL_SECONDS", default=5)
# The price store the risk monitor and P&L read (the sandbox's, by dotted path: strategies may not
# import the sandbox): a function [(exchange, symbol)] -> {(exchange, symbol): quote with .ltp}.
STRATEGY_PRICE_READER = env.str("STRATEGY_PRICE_READER", default="sandbox.services.prices.stored_quotes")

# --- Real-time feed (feed/, README "The real-time feed") -----------------------------------------
# OpenAlgo's WebSocket protocol on its own port (8765 is OpenAlgo's, the official client's default).
FEED_HOST = env.str("FEED_HOST", default="127.0.0.1")
FEED_PORT = env.int("FEED_PORT", default=8765)
FEED_AUTH_TIMEOUT = env.float("FEED_AUTH_TIMEOUT", default=15.0)  # seconds to authenticate, else closed (4401)
FEED_MAX_SYMBOLS_PER_CONNECTION = env.int("FEED_MAX_SYMBOLS_PER_CONNECTION", default=1000)  # OpenAlgo's limit
FEED_MAX_CONNECTIONS_PER_KEY = env.int("FEED_MAX_CONNECTIONS_PER_KEY", default=10)  # across feed processes (cache)
FEED_REAUTH_SECONDS = env.float("FEED_REAUTH_SECONDS", default=60.0)  # re-verify open connections' keys this often
FEED_SEND_QUEUE = env.int("FEED_SEND_QUEUE", default=2000)  # messages waiting for one client before it is dropped
# Without Redis, every process hands its price ticks and order changes to the feed process through this
# Unix socket (the feed listens on it); with Redis they go through the channel layer below.
FEED_SOCKET = env.str("FEED_SOCKET", default=str(VAR_DIR / "feed.sock"))
FEED_UPSTREAM_RETRY_SECONDS = env.float("FEED_UPSTREAM_RETRY_SECONDS", default=10.0)  # re-try a failed upstream
FEED_UPSTREAM_HEARTBEAT_SECONDS = env.float("FEED_UPSTREAM_HEARTBEAT_SECONDS", default=10.0)
if (FEED_AUTH_TIMEOUT <= 0 or FEED_REAUTH_SECONDS <= 0 or FEED_MAX_SYMBOLS_PER_CONNECTION < 1
        or FEED_MAX_CONNECTIONS_PER_KEY < 1 or FEED_SEND_QUEUE < 10 or FEED_UPSTREAM_RETRY_SECONDS <= 0
        or FEED_UPSTREAM_HEARTBEAT_SECONDS <= 0
        or not 0 < FEED_PORT < 65536 or len(FEED_SOCKET.encode()) > 100):
    raise ImproperlyConfigured(
        "Feed settings: FEED_AUTH_TIMEOUT, FEED_REAUTH_SECONDS, FEED_UPSTREAM_RETRY_SECONDS and "
        "FEED_UPSTREAM_HEARTBEAT_SECONDS must be more than 0, FEED_MAX_SYMBOLS_PER_CONNECTION and "
        "FEED_MAX_CONNECTIONS_PER_KEY at least 1, FEED_SEND_QUEUE at least 10, FEED_PORT a port number and "
        "FEED_SOCKET a path of at most 100 bytes.")


def _redis_db(url: str) -> str:
    """The database number of a Redis URL (redis://host:port/N, or ?db=N; 0 without one)."""
    found = re.search(r"[?&]db=(\d+)", url) or re.match(r"rediss?://[^/?]*/(\d+)", url)
    return found.group(1) if found else "0"


# Channels' layer on Redis (publish/subscribe: ticks are fanned out, never queued for absent readers).
# Redis's publish/subscribe ignores the database number, so the prefix carries it: deployments (or test
# runs) sharing one Redis on different databases must not hear each other's ticks and order updates.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        # REDIS_TIMEOUT to connect, as for the cache: a Redis that cannot be reached fails a publish, never
        # hangs it (no read timeout: the feed's subscription waits for messages as long as it takes).
        "CONFIG": {"hosts": [{"address": REDIS_URL,
                              "socket_connect_timeout": env.float("REDIS_TIMEOUT", default=2.0)}],
                   "prefix": f'{env.str("CACHE_KEY_PREFIX", default="algodesk")}.feed.{_redis_db(REDIS_URL)}'},
    }
} if REDIS_URL else {}
