"""Settings: one module, driven by environment variables (docs/operations.md §Settings).

With no DATABASE_URL / REDIS_URL the defaults point at the embedded servers that `make run`
starts under var/ (scripts/stack.py), so `manage.py` commands reach the same data.
"""

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from config.checkout import embedded_ports

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

# `make run`'s embedded servers listen on ports of this checkout's own (config/checkout.py).
EMBEDDED_PORTS = embedded_ports(BASE_DIR)
EMBEDDED_POSTGRES_PORT = EMBEDDED_PORTS.postgres
EMBEDDED_REDIS_PORT = EMBEDDED_PORTS.redis

env = environ.Env()

# Where the service runs: the one signal dev conveniences derive from. `production` (the default:
# an unset variable never turns a convenience on), `development` (scripts/stack.py: `make run`,
# and the make targets it wraps), `test` (config/test_settings.py, which pytest loads).
# `make run` also writes var/dev.env (AIDC_ENV=development and a SECRET_KEY generated for this
# checkout), read here only when AIDC_ENV is not given: so `manage.py create_user` in another shell
# of a checkout running `make run` works with no environment set, while any explicit AIDC_ENV (the
# image sets production) ignores the file. var/ is git-ignored and never copied into the image.
DEV_ENV_FILE = Path(env.str("AIDC_DEV_ENV_FILE", default=str(VAR_DIR / "dev.env")))
if "AIDC_ENV" not in env.ENVIRON and DEV_ENV_FILE.is_file():
    environ.Env.read_env(DEV_ENV_FILE)
AIDC_ENV = env.str("AIDC_ENV", default="production")
if AIDC_ENV not in ("production", "development", "test"):
    raise ImproperlyConfigured(
        f"AIDC_ENV must be production, development or test, not {AIDC_ENV!r}."
    )
DEV_CONVENIENCES = AIDC_ENV in ("development", "test")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEV_CONVENIENCES:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random value (outside `make run` and the "
            "tests there is no default)."
        )
    SECRET_KEY = "dev-only-insecure-secret-key-never-in-production"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

# --- Domain settings (docs/domain.md §Money and time) ------------------------------------------
OPERATOR_TIME_ZONE = env.str("OPERATOR_TIME_ZONE", default="Asia/Shanghai")
CURRENCY = env.str("CURRENCY", default="CNY")
VAT_RATE = Decimal(env.str("VAT_RATE", default="0.06"))
# The TrueType font every PDF is set in, embedded (subset) in each document: it must carry CJK
# glyphs. The default comes from the Debian package fonts-wqy-microhei, which `make run`,
# `make test` and the Dockerfile install; a .ttc collection takes PDF_FONT_INDEX.
PDF_FONT_PATH = env.str("PDF_FONT_PATH", default="/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
PDF_FONT_INDEX = env.int("PDF_FONT_INDEX", default=0)
# The seller on every invoice and fapiao request (docs/operations.md §Seller). A production start
# has no seller until the deployer sets one: issuing is refused (409 seller_not_configured) while
# SELLER_TAX_ID is not a valid Unified Social Credit Code. `make run`, the demo and the tests get
# demo values, marked as such in the name, so no document of theirs passes for a real one.
_DEMO_SELLER = DEV_CONVENIENCES
SELLER_NAME = env.str(
    "SELLER_NAME", default="演示 DEMO 算力服务有限公司 (demo seller)" if _DEMO_SELLER else ""
)
SELLER_TAX_ID = env.str("SELLER_TAX_ID", default="91420500MA4DEM0002" if _DEMO_SELLER else "")
SELLER_ADDRESS = env.str(
    "SELLER_ADDRESS", default="演示 DEMO 湖北省宜昌市 Yichang, Hubei" if _DEMO_SELLER else ""
)
SELLER_PHONE = env.str("SELLER_PHONE", default="0717-0000000" if _DEMO_SELLER else "")
SELLER_BANK_NAME = env.str(
    "SELLER_BANK_NAME", default="演示 DEMO 银行宜昌分行" if _DEMO_SELLER else ""
)
SELLER_BANK_ACCOUNT = env.str(
    "SELLER_BANK_ACCOUNT", default="0000 0000 0000 0000" if _DEMO_SELLER else ""
)
# What every fapiao item is called, and its tax classification code (税收分类编码).
FAPIAO_ITEM_NAME = env.str("FAPIAO_ITEM_NAME", default="*信息技术服务*算力租赁服务")
FAPIAO_TAX_CODE = env.str("FAPIAO_TAX_CODE", default="3040203000000000000" if _DEMO_SELLER else "")
# The test clock: never on in production. Refused at start-up unless DEBUG is on or the
# service runs under `make run` or the tests.
TEST_CLOCK = env.bool("TEST_CLOCK", default=False)
if TEST_CLOCK and not DEBUG and not DEV_CONVENIENCES:
    raise ImproperlyConfigured(
        "TEST_CLOCK is on in a production start (DEBUG off, not `make run`, not the tests): "
        "the test clock moves every time-dependent rule. Turn TEST_CLOCK off."
    )
# How far the test clock may be moved: from this date to this long past the real now.
TEST_CLOCK_EARLIEST = dt.date(2000, 1, 1)
TEST_CLOCK_MAX_YEARS_AHEAD = 5  # calendar years past the real now, in operator time
# Unauthenticated baseline endpoints under /bench/ for bench/list_endpoints.py (bench/run.py
# turns them on for its own gunicorn). Never in production: they bypass auth and tenant scoping.
BENCH_ENDPOINTS = env.bool("BENCH_ENDPOINTS", default=False)

# --- Apps ---------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",  # API tokens: stored as SHA-512 digests, with an expiry (core.authentication)
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not a CDN
    "django_celery_beat",
    "axes",  # login throttling (admin and session logins)
    "django_htmx",  # the console's htmx requests (request.htmx)
    "core",
    "accounts",
    "marketplace",
    "events",  # the outbox and webhooks: leasing and billing record their events through it
    "leasing",
    "billing",
    "analytics",
    "bench",  # only the benchmarks' `generate_fleet` command (bench/fleet): no models, no URLs
]

MIDDLEWARE = [
    # outermost: every /api/ answer, the 413 below and error pages included, is `no-store`
    "core.middleware.NoStoreApiMiddleware",
    # a body over the limit is refused before anything reads it
    "core.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files under gunicorn
    "django.contrib.sessions.middleware.SessionMiddleware",
    # the console's language (session choice, else Accept-Language); the API stays in English
    "core.middleware.ConsoleLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.OperatorTimeZoneMiddleware",  # API datetimes in operator time
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.console.console_context",  # nav, operator time (console pages only)
            ],
        },
    },
]

# --- Data stores --------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default=f"postgres://postgres@127.0.0.1:{EMBEDDED_POSTGRES_PORT}/aidc",
    )
}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
# Persistent connections: a fresh connection costs ~30 ms (measured on this machine).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
# Prepared statements for the hot reads (core/prepared.py): psycopg prepares only the statements
# run through core.prepared's cursor (Django's own cursors bind on the client and never prepare).
# Off (PREPARED_STATEMENTS=false) behind a pooler that does not carry prepared statements.
PREPARED_STATEMENTS = env.bool("PREPARED_STATEMENTS", default=True)
if PREPARED_STATEMENTS:
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
# A replica for reports (core/replica.py): optional; its connection is configured like the
# primary's, and the test run points it at the test database (MIRROR).
REPLICA_DATABASE_URL = env.str("REPLICA_DATABASE_URL", default="")
if REPLICA_DATABASE_URL:
    DATABASES["replica"] = {
        **env.db_url_config(REPLICA_DATABASE_URL),
        "ENGINE": "django.db.backends.postgresql",
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 5},
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
# What the router reads from the replica: the nightly figures (written only by the recompute).
REPLICA_READ_MODELS = frozenset(
    {"analytics.occupancydaily", "analytics.sitedaily", "analytics.revenuedaily"}
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default=f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0")
# Every key the service writes in Redis (cache, test clock, throttling) starts with this.
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="aidc")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# --- Auth -----------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Password logins (the Django admin, /api-auth/login/) go through django-axes: after
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that pair is locked out
# for LOGIN_COOLOFF_MINUTES (429 in the error body). Getting an API token by password
# (POST /api/v1/auth/token/) is such a login too. Requests bearing a token do not pass through
# `authenticate()`; tokens are random 256-bit keys and need no such guard.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.api.views.login_locked_out"
# API tokens (django-rest-knox): only a SHA-512 digest of each key is stored, so the key is shown
# once, when it is issued (`create_user`, POST /api/v1/auth/token/). Each expires after
# API_TOKEN_TTL_DAYS; an expired, revoked or unknown key is a 401. No sliding renewal: a client
# gets a new token by password (throttled like every password login) or from an operator.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=90)
REST_KNOX = {
    "TOKEN_TTL": dt.timedelta(days=API_TOKEN_TTL_DAYS),
    "AUTH_HEADER_PREFIX": "Token",  # `Authorization: Token <key>`, as before
    "AUTO_REFRESH": False,
}

# --- I18N / time --------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# The console's languages (the switch in its header; the browser's Accept-Language picks the
# first one). The API answers in English whatever the client asks (core.middleware).
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Storage (and the database session) is UTC; requests render datetimes in OPERATOR_TIME_ZONE
# (core.middleware); operator-local days and months come from core.clock.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated request gets 401 with WWW-Authenticate.
        "core.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies only (the inventory import also reads CSV and multipart files): form
    # encodings have HTML-form meanings (an empty field is an omitted one, no null, no lists)
    # that let `category=` or `now=` through as "not sent"; they are a 415.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.DecimalJSONParser"],
    # DRF's JSON, encoded by orjson (core/renderers.py); the browsable API as DRF has it.
    "DEFAULT_RENDERER_CLASSES": [
        "core.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "core.filters.FilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("THROTTLE_RATE", default="20000/min"),
    },
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    # `?format=csv` is ours (exports, reports): DRF must not treat it as a renderer switch.
    "URL_FORMAT_OVERRIDE": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "TITLE": "AIDC compute-rental marketplace API",
    "DESCRIPTION": (
        "Inventory, leases, usage, compute vouchers, invoices and occupancy of an AI computing "
        "centre. Authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # the schema and Swagger UI: public or behind a login, by API_DOCS_PUBLIC
    "SERVE_PERMISSIONS": ["core.permissions.ApiDocsAccess"],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.staff_only_fields_hook",
        "core.schema.error_responses_hook",
        "core.schema.strict_request_bodies_hook",
        "core.schema.empty_filters_hook",
        "core.schema.text_parameters_hook",
    ],
    "ENUM_NAME_OVERRIDES": {
        "LeaseKindEnum": "leasing.choices.LeaseKind",
        "InvoiceLineKindEnum": "billing.choices.LineKind",
        "LeaseStatusEnum": "leasing.choices.LeaseStatus",
        "EventTypeEnum": "events.choices.EventType",
        "DeliveryStatusEnum": "events.choices.DeliveryStatus",
    },
}

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = OPERATOR_TIME_ZONE  # beat's crontabs are in operator time
CELERY_ENABLE_UTC = True
# Four queues, each servable by workers of its own (docs/scaling.md): `default` (leases' beat,
# housekeeping), `billing` (metering, spend limits, invoice runs), `analytics` (the nightly
# recompute's chunks) and `webhooks` (deliveries: a slow receiver never delays an invoice run).
# Every key carries REDIS_KEY_PREFIX (kombu's global_keyprefix): other projects may share the
# Redis server, queue names and all.
CELERY_TASK_DEFAULT_QUEUE = "default"
WORKER_QUEUES = ("default", "billing", "analytics", "webhooks")  # what the Procfile worker takes
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Fail fast when Redis is away: a web request that enqueues must not hang on a dead broker
# (without these, one `delay()` took ~19 s before failing). Connect within 2 s, publish with
# one quick retry, and the result store gives up after one retry too.
_REDIS_SOCKETS: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 5}
_QUICK_RETRY: dict[str, Any] = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# Visibility: longer than the longest task (a year's backfill, an invoice run): 2 hours.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": 7200,
    "global_keyprefix": f"{REDIS_KEY_PREFIX}:",
    **_REDIS_SOCKETS,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = _QUICK_RETRY
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_REDIS_SOCKET_TIMEOUT = 5
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS: dict[str, Any] = {
    "retry_policy": _QUICK_RETRY,
    "global_keyprefix": f"{REDIS_KEY_PREFIX}:",
}
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_TIME_LIMIT = 3600
# By the task's name: `billing.*`, `analytics.*`, `events.*` (webhooks); the rest `default`. The
# Procfile's worker consumes all four (CELERY_QUEUES picks fewer, for a worker of its own).
CELERY_TASK_ROUTES = {
    "billing.*": {"queue": "billing"},
    "analytics.*": {"queue": "analytics"},
    "events.*": {"queue": "webhooks"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- Webhooks (events/) -------------------------------------------------------------------------
# Receivers on private, loopback or plain-http addresses: only under `make run` and the tests.
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=DEV_CONVENIENCES)
WEBHOOK_TIMEOUT_SECONDS = 5  # for the whole POST: connect, send and answer
WEBHOOK_BATCH_SIZE = 20  # deliveries per task, claimed together and POSTed at once
# After the first attempt fails: ~5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, then failed.
WEBHOOK_RETRY_DELAYS = [5, 60, 300, 1800, 7200, 18000, 36000]
WEBHOOK_DISABLE_AFTER_SECONDS = 3 * 24 * 3600  # an endpoint failing every attempt this long
WEBHOOK_SWEEP_GRACE_SECONDS = 5  # first attempts left to the after-commit hand-over this long
# Events (with their delivery logs) are kept this long, then purged nightly.
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=90)

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Transport and browser headers (docs/security.md §Transport and browser headers) -----------
# On in production, off under `make run` and the tests (plain HTTP on localhost); each can be
# forced either way by its variable. Production runs behind a TLS-terminating proxy that sets
# X-Forwarded-Proto (docs/operations.md, "Production: first start and the first admin"): Django
# then knows a request came over HTTPS, redirects plain-HTTP requests there, and marks its
# cookies Secure. /healthz stays reachable over plain HTTP for load-balancer probes.
PRODUCTION = AIDC_ENV == "production"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
# Trust X-Forwarded-Proto only behind a proxy that sets it (and drops a client's own).
if env.bool("TRUST_X_FORWARDED_PROTO", default=PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The OpenAPI schema (/api/schema/), Swagger UI (/api/docs/) and the /api/v1/ listing: open to
# anyone under `make run` and the tests, behind a login (token or session) in production.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=DEV_CONVENIENCES)

# The largest request body, refused (413) before it is read, Content-Length or chunked alike
# (core.middleware). A usage batch of 10,000 records is ~2.5 MB, an inventory import up to 10 MB.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=16 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES

# --- Price book (docs/domain.md §Leases) ---
# Long-lease discount on the card model's monthly list price, by committed term in months.
LONG_LEASE_DISCOUNTS = {
    12: Decimal("0.10"),
    24: Decimal("0.15"),
    36: Decimal("0.20"),
    48: Decimal("0.25"),
    60: Decimal("0.30"),
}
# Straight-line depreciation of hardware capex in the business case (docs/domain.md §Business case).
DEPRECIATION_YEARS = env.int("DEPRECIATION_YEARS", default=5)

# Largest inventory CSV accepted by inventory/import/.
INVENTORY_IMPORT_MAX_BYTES = 10 * 1024 * 1024

# --- Bounded work per request (docs/decisions.md §Bounded work per request) ---
# reports/recompute/ over more days than this goes to a worker (202 and a run to poll).
RECOMPUTE_SYNC_MAX_DAYS = env.int("RECOMPUTE_SYNC_MAX_DAYS", default=31)
# An invoice run builds its drafts a batch of this many tenant ids at a time (one transaction
# each); other `billing` workers help, up to this many helper tasks queued per run.
INVOICE_RUN_BATCH_TENANTS = env.int("INVOICE_RUN_BATCH_TENANTS", default=1000)
INVOICE_RUN_HELPERS = env.int("INVOICE_RUN_HELPERS", default=8)
# The most rows a report answers (JSON or CSV); beyond it a 400 asks for months or less range.
REPORT_MAX_ROWS = env.int("REPORT_MAX_ROWS", default=100_000)
# A report of more rows is streamed from a server-side cursor (memory stays flat).
REPORT_STREAM_ROWS = env.int("REPORT_STREAM_ROWS", default=10_000)
