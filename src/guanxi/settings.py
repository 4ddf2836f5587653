"""Guanxi settings: configured only from environment variables, with safe defaults.

The defaults give the embedded set-up (SQLite file and an SQLite-backed broker under ./var);
production sets DATABASE_URL, BROKER_URL, SECRET_KEY, ALLOWED_HOSTS and friends.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from celery.schedules import crontab


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env("GUANXI_VAR_DIR", "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)  # WhiteNoise expects STATIC_ROOT to exist


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once into ./var and reused."""
    if env("SECRET_KEY"):
        return env("SECRET_KEY")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("BEHIND_TLS_PROXY")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "guanxi.core",
    "guanxi.customers",
    "guanxi.dedupe",
    "guanxi.sales",
    "guanxi.feedback",
    "guanxi.service",
    "guanxi.analytics",
    "guanxi.automation",
    "guanxi.web",
    "guanxi.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "guanxi.core.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "guanxi.core.middleware.HtmxLoginRedirectMiddleware",
    "guanxi.api.middleware.ApiErrorShapeMiddleware",
]

ROOT_URLCONF = "guanxi.urls"
WSGI_APPLICATION = "guanxi.wsgi.application"
ASGI_APPLICATION = "guanxi.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "guanxi.web.context_processors.shell",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------

DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'guanxi.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(env("DB_CONN_MAX_AGE", "60")))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE transactions take the write
    # lock up front so two writers queue on the busy timeout instead of failing with "locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not memory, so a real worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (API rate limits) -------------------------------------------------------------

CACHE_URL = env("CACHE_URL", f"file://{VAR_DIR / 'cache'}")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL.startswith("locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": CACHE_URL.removeprefix("file://"),
        }
    }

# --- auth -------------------------------------------------------------------------------------

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["guanxi.core.backends.LockoutModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_MAX_FAILURES = int(env("LOGIN_MAX_FAILURES", "5"))
LOGIN_LOCKOUT_MINUTES = int(env("LOGIN_LOCKOUT_MINUTES", "15"))
SESSION_COOKIE_AGE = int(env("SESSION_COOKIE_AGE", str(14 * 24 * 3600)))

# --- API ----------------------------------------------------------------------------------------

API_RATE_LIMIT_PER_MINUTE = int(env("API_RATE_LIMIT_PER_MINUTE", "600"))
# Largest file an import accepts, in bytes (100 MB by default).
IMPORT_MAX_BYTES = int(env("IMPORT_MAX_BYTES", str(100 * 1024 * 1024)))
API_PAGE_SIZE_MAX = 200
DATA_UPLOAD_MAX_MEMORY_SIZE = int(env("DATA_UPLOAD_MAX_MEMORY_SIZE", str(5 * 1024 * 1024)))

# --- i18n ---------------------------------------------------------------------------------------

LANGUAGE_CODE = env("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# Phone numbers written without a country code are read as numbers of this region (ISO 3166 code).
DEFAULT_PHONE_REGION = env("DEFAULT_PHONE_REGION", "CN").upper()

# --- static files -------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": VAR_DIR / "media"}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

# --- jobs ---------------------------------------------------------------------------------------

BROKER_URL = env("BROKER_URL", f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}")
CELERY_BROKER_URL = BROKER_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# PostgreSQL: as many as the worker processes that should dispatch events at once (SQLite has one writer: keep 1)
EVENT_DISPATCH_PARTITIONS = max(1, int(env("EVENT_DISPATCH_PARTITIONS", "1")))
CELERY_BEAT_SCHEDULE = {
    # the event spine, split by record into EVENT_DISPATCH_PARTITIONS parts that workers drain side by side
    **{
        f"events-dispatch-{part}" if part else "events-dispatch": {
            "task": "guanxi.core.tasks.events_dispatch",
            "schedule": 5.0,
            "kwargs": {"partition": part, "partitions": EVENT_DISPATCH_PARTITIONS},
        }
        for part in range(EVENT_DISPATCH_PARTITIONS)
    },
    "jobs-reap-stale": {"task": "guanxi.core.tasks.jobs_reap_stale", "schedule": 300.0},
    "tasks-remind-due": {"task": "guanxi.customers.tasks.tasks_remind_due", "schedule": 300.0},
    "feedback-deadlines": {"task": "guanxi.feedback.tasks.feedback_deadlines", "schedule": 300.0},
    # feedback: scheduled surveys whose next run is due, and "some days after the first order" surveys
    "feedback-surveys-scheduled": {"task": "guanxi.feedback.tasks.surveys_scheduled", "schedule": 900.0},
    "service-sla-sweep": {"task": "guanxi.service.tasks.sla_sweep", "schedule": 60.0},
    "automation-rules-timed": {"task": "guanxi.automation.tasks.rules_sweep_timed", "schedule": 60.0},
    "automation-webhook-retries": {"task": "guanxi.automation.tasks.webhook_retries_due", "schedule": 10.0},
    # the nightly data-quality recompute, at 02:30 in TIME_ZONE (CELERY_TIMEZONE below)
    "quality-recompute-nightly": {
        "task": "guanxi.customers.tasks.quality_recompute_nightly",
        "schedule": crontab(hour=2, minute=30),
    },
    # sales: customers without a purchase for the configured days become churned; sent quotes past validity expire
    "customers-churn-idle": {
        "task": "guanxi.sales.order_tasks.customers_churn_idle",
        "schedule": crontab(hour=3, minute=10),
    },
    "quotes-expire-due": {"task": "guanxi.sales.order_tasks.quotes_expire_due", "schedule": crontab(hour=3, minute=5)},
    # duplicate detection: checked every hour, runs at the hour the administrator set (DedupeSettings)
    "dedupe-nightly": {"task": "guanxi.dedupe.tasks.dedupe_nightly", "schedule": crontab(minute=10)},
    # analytics: re-score customers (RFM, CLV, churn retrained, recommendations) and rebuild KPIs nightly
    "analytics-scores-nightly": {
        "task": "guanxi.analytics.tasks.scores_refresh_nightly",
        "schedule": crontab(hour=3, minute=0),
    },
    "analytics-kpis-nightly": {
        "task": "guanxi.analytics.tasks.kpis_refresh_nightly",
        "schedule": crontab(hour=3, minute=40),
    },
    "analytics-dashboard-emails": {
        "task": "guanxi.analytics.tasks.dashboard_emails_weekly",
        "schedule": crontab(hour=7, minute=30, day_of_week=1),
    },
}
CELERY_TIMEZONE = TIME_ZONE  # crontab schedules run in local time
EVENT_DISPATCH_MAX_ATTEMPTS = int(env("EVENT_DISPATCH_MAX_ATTEMPTS", "10"))
# automation: how long a worker trusts its in-memory rule index, rule-chain depth, webhook limits
AUTOMATION_INDEX_TTL = float(env("AUTOMATION_INDEX_TTL", "1.0"))
AUTOMATION_MAX_DEPTH = int(env("AUTOMATION_MAX_DEPTH", "3"))
AUTOMATION_WEBHOOK_TIMEOUT = float(env("AUTOMATION_WEBHOOK_TIMEOUT", "10"))
AUTOMATION_WEBHOOK_MAX_ATTEMPTS = int(env("AUTOMATION_WEBHOOK_MAX_ATTEMPTS", "6"))
AUTOMATION_WEBHOOK_DISABLE_AFTER = int(env("AUTOMATION_WEBHOOK_DISABLE_AFTER", "5"))
AUTOMATION_INBOUND_TOLERANCE = int(env("AUTOMATION_INBOUND_TOLERANCE", "300"))

# --- email ----------------------------------------------------------------------------------------

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "guanxi@localhost")
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
# the service desk's address: customers write to it, and replies to its mail come back to it
SERVICE_INBOUND_ADDRESS = env("SERVICE_INBOUND_ADDRESS", DEFAULT_FROM_EMAIL)
SERVICE_EMAIL_MAX_BYTES = int(env("SERVICE_EMAIL_MAX_BYTES", str(15 * 1024 * 1024)))
SERVICE_ATTACHMENT_MAX_BYTES = int(env("SERVICE_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))

# --- logging --------------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

SILENCED_SYSTEM_CHECKS: list[str] = []
