"""Settings shared by every environment; what differs between machines comes from the environment."""

import datetime as dt
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "simple_history",
    # For its graph_transitions command, which draws every state machine.
    "django_fsm",
    "workflows",
    "audits",
    "reviews",
    "notifications",
    "oversight",
    "accounts",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "workflows.middleware.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "workflows.middleware.NeverCacheSignedInMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in with the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out account or address before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'followthrough.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Signed out after this many minutes without a request (each request starts the count again).
SESSION_COOKIE_AGE = env.int("FOLLOWTHROUGH_SESSION_IDLE_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# The admin's address; production sets its own so the admin is not where every scanner looks.
ADMIN_PATH = env("DJANGO_ADMIN_PATH", default="admin/").strip("/") + "/"
# Scripts, styles, images and fonts come from this site only: no inline script or handler, no other
# origin, no framing (templates keep their JavaScript in static/).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Error mails to ADMINS show where the code failed, never the values it held.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.observability.WithoutDataExceptionReporterFilter"
# Sign-in lockout (django-axes): this many failures for one username, or from one address, locks it for
# the cool-off time; an administrator unlocks sooner by deleting the access attempt in the admin.
AXES_FAILURE_LIMIT = env.int("FOLLOWTHROUGH_LOCKOUT_FAILURES", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("FOLLOWTHROUGH_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "accounts.addresses.client_address"
# Sign-ins are recorded once, by accounts (with token use and role changes), not again by axes.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# A password reset link works once, for this long.
PASSWORD_RESET_TIMEOUT = env.int("FOLLOWTHROUGH_PASSWORD_RESET_MINUTES", default=60) * 60
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT: Path | None = BASE_DIR / "staticfiles"
# static/ is ours; assets/ is GOV.UK Frontend, copied from node_modules by bin/build-assets, never committed.
STATICFILES_DIRS = [BASE_DIR / "static", BASE_DIR / "assets"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Evidence files live outside the static root and are only ever served through a view that checks
# who is asking.
MEDIA_ROOT = env.path("FOLLOWTHROUGH_MEDIA_ROOT", default=BASE_DIR / "media")
EVIDENCE_MAX_BYTES = env.int("FOLLOWTHROUGH_EVIDENCE_MAX_BYTES", default=10 * 1024 * 1024)
# A plan spreadsheet larger than this is refused before it is read.
PLAN_IMPORT_MAX_BYTES = env.int("FOLLOWTHROUGH_PLAN_IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
# A plan with more rows than this is imported by a worker, the page showing its progress.
PLAN_IMPORT_INLINE_ROWS = env.int("FOLLOWTHROUGH_PLAN_IMPORT_INLINE_ROWS", default=200)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The sweep at 07:00 London time on weekdays (the task skips bank holidays), and a delivery run every few
# minutes that sends whatever an outage of Redis, a worker or the mail server left in the outbox.
# The hour of the sweep is also when the daily digest goes: a chase or escalation from the queue waits
# for it (notifications.delivery.next_digest_at).
FOLLOWTHROUGH_SWEEP_HOUR = env.int("FOLLOWTHROUGH_SWEEP_HOUR", default=7)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "daily-sweep": {
        "task": "notifications.tasks.sweep_today",
        "schedule": crontab(hour=FOLLOWTHROUGH_SWEEP_HOUR, minute=0, day_of_week="mon-fri"),
        "options": {"expires": 6 * 60 * 60},
    },
    "draw-dashboard-figures": {
        "task": "oversight.tasks.draw_dashboard",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    "archive-sent-entries": {
        "task": "notifications.tasks.archive_sent_entries",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 6 * 60 * 60},
    },
    "deliver-waiting-digests": {
        "task": "notifications.tasks.deliver_digests",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
}
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Followthrough <followthrough@localhost>")
# A digest lists at most this many items; a bigger one is summarised by agency and rung, with links to
# the queue, so a business manager owed 800,000 entries gets an email they can read (and we can build).
FOLLOWTHROUGH_DIGEST_MAX_LINES = env.int("FOLLOWTHROUGH_DIGEST_MAX_LINES", default=50)
# A digest the mail server did not take is retried after this many seconds, doubling each time (at most
# 6 hours apart); after FOLLOWTHROUGH_DELIVERY_MAX_ATTEMPTS its entries are marked failed and shown to
# the managers on /chasing/ instead of being retried forever.
FOLLOWTHROUGH_DELIVERY_BACKOFF_SECONDS = env.int("FOLLOWTHROUGH_DELIVERY_BACKOFF_SECONDS", default=300)
FOLLOWTHROUGH_DELIVERY_MAX_ATTEMPTS = env.int("FOLLOWTHROUGH_DELIVERY_MAX_ATTEMPTS", default=10)
# For the fault suite: every digest names each outbox entry it carries in an X-Followthrough-Entries
# header, so a mail sink can count entries. Off in production (a big digest carries 800,000).
FOLLOWTHROUGH_DIGEST_ENTRY_IDS_HEADER = env.bool("FOLLOWTHROUGH_DIGEST_ENTRY_IDS_HEADER", default=False)
# Links in emails must be absolute; the site's public address is configuration, not a guess.
FOLLOWTHROUGH_BASE_URL = env("FOLLOWTHROUGH_BASE_URL", default="http://127.0.0.1:8000")

# How many reverse proxies in front of the site add to X-Forwarded-For: the address the lockout, the API
# throttles and the sign-in record see is the one the outermost of them received (accounts.addresses).
FOLLOWTHROUGH_TRUSTED_PROXIES = env.int("FOLLOWTHROUGH_TRUSTED_PROXIES", default=0)

REST_FRAMEWORK = {
    # Never a password on an API call: the browser's session (with its CSRF check) or a personal token.
    # The token comes first so a caller without either is told to send one (401, WWW-Authenticate).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.throttling.PersonRateThrottle",
        "accounts.throttling.AddressRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("FOLLOWTHROUGH_API_RATE_PERSON", default="1200/hour"),
        "anon": env("FOLLOWTHROUGH_API_RATE_ANONYMOUS", default="60/hour"),
        # Wrong tokens from one address.
        "failed_token": env("FOLLOWTHROUGH_API_RATE_FAILED_TOKEN", default="20/hour"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Followthrough API",
    "DESCRIPTION": "Actions, audits and their transitions, scoped to what the caller may see.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema names every field and filter: only people who have signed in may read it.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "workflows.api.schema.document_errors",
    ],
    # Choice sets used by several fields (grades; section 11 ratings), one enum each in the schema.
    "ENUM_NAME_OVERRIDES": {
        "Grade": "workflows.validators.Grade",
        "Section11Rating": "audits.models.section11.Rating",
        "RequestDecision": "workflows.models.actions.RequestDecision",
        "DecisionChoice": [("approve", "Approve"), ("refuse", "Refuse")],
    },
    # Swagger UI served from our own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# RAG tolerance: how many days past due an action may be before it turns Red (the business plan's
# "acceptable tolerance").
FOLLOWTHROUGH_RAG_TOLERANCE_DAYS = env.int("FOLLOWTHROUGH_RAG_TOLERANCE_DAYS", default=14)
# The sweep recomputes in full every item changed since the last sweep read them, less this margin: a
# change saved just before that sweep read the items but committed just after was not seen by it.
FOLLOWTHROUGH_SWEEP_CHANGE_MARGIN_SECONDS = env.int("FOLLOWTHROUGH_SWEEP_CHANGE_MARGIN_SECONDS", default=900)
# Sent outbox entries older than this move to the archive (their keys still refuse a second sending).
FOLLOWTHROUGH_OUTBOX_RETENTION_DAYS = env.int("FOLLOWTHROUGH_OUTBOX_RETENTION_DAYS", default=90)
# An action due within this many days with no progress note in the same period is Amber.
FOLLOWTHROUGH_RAG_DUE_SOON_DAYS = env.int("FOLLOWTHROUGH_RAG_DUE_SOON_DAYS", default=14)
# A running statutory clock with fewer working days left than this is at risk.
FOLLOWTHROUGH_CLOCK_AT_RISK_WORKING_DAYS = env.int("FOLLOWTHROUGH_CLOCK_AT_RISK_WORKING_DAYS", default=3)
# Completed actions are checked for impact this many days after completion.
FOLLOWTHROUGH_IMPACT_CHECK_DAYS = env.int("FOLLOWTHROUGH_IMPACT_CHECK_DAYS", default=90)
# The case audit programme's target per agency each quarter (the source documents' policy: 10 a quarter).
# The dashboard's action figures (the partnership's and each agency's) are drawn every 5 minutes (beat),
# never inside a request; older than this they are still shown, with a warning that the task has stopped.
FOLLOWTHROUGH_DASHBOARD_MAX_AGE_MINUTES = env.int("FOLLOWTHROUGH_DASHBOARD_MAX_AGE_MINUTES", default=10)
# The queue counts what matches up to this and then says "more than": counting a million open actions on
# every view would cost more than the page itself.
FOLLOWTHROUGH_QUEUE_COUNT_CAP = env.int("FOLLOWTHROUGH_QUEUE_COUNT_CAP", default=10_000)
FOLLOWTHROUGH_CASE_AUDITS_PER_QUARTER = env.int("FOLLOWTHROUGH_CASE_AUDITS_PER_QUARTER", default=10)

# Statutory clocks: (length, unit). Working Together to Safeguard Children 2023 sets the first three;
# the last two are what partnerships' own rapid review protocols set. Settings, because guidance changes.
FOLLOWTHROUGH_CLOCKS = {
    # The local authority notifies the national Panel within 5 working days of becoming aware.
    "panel_notification": (env.int("FOLLOWTHROUGH_NOTIFICATION_WORKING_DAYS", default=5), "working_days"),
    # The rapid review is completed and sent to the Panel within 15 working days of the notification.
    "rapid_review": (env.int("FOLLOWTHROUGH_RAPID_REVIEW_WORKING_DAYS", default=15), "working_days"),
    # A local practice review is completed and published within 6 months of the decision to hold it.
    "practice_review": (env.int("FOLLOWTHROUGH_PRACTICE_REVIEW_MONTHS", default=6), "months"),
    # Within the rapid review: agencies' summaries by working day 10, the panel by working day 12.
    "agency_summaries": (env.int("FOLLOWTHROUGH_AGENCY_SUMMARIES_WORKING_DAY", default=10), "working_days"),
    "review_panel": (env.int("FOLLOWTHROUGH_REVIEW_PANEL_WORKING_DAY", default=12), "working_days"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    # WeasyPrint and fontTools narrate every PDF step at INFO.
    "loggers": {name: {"level": "WARNING"} for name in ("weasyprint", "fontTools")},
}
