"""Production: every secret from the environment, HTTPS only, refuse to start on a default key."""

from email.utils import parseaddr

from django.core.exceptions import ImproperlyConfigured

from config.observability import start_error_reporting

from .base import *  # noqa: F403
from .base import DATABASES, DEFAULT_FROM_EMAIL, LOGGING, REDIS_URL, REST_FRAMEWORK, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
if (
    not SECRET_KEY
    or SECRET_KEY.startswith(("local-only", "test-only", "django-insecure"))
    or len(SECRET_KEY) < 50
):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a long random value in production.")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# __Host- cookies are sent only over HTTPS, to this host alone, for the whole site: no subdomain or
# plain-HTTP page can set or overwrite them.
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True

# Keep database connections open between requests, and check them before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# The API throttles and the sign-in lockout count in one place for every web process.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# Errors go to Sentry when a DSN is given; otherwise Django mails them to ADMINS ("Name <address>", ...).
ADMINS = [parseaddr(entry) for entry in env.list("DJANGO_ADMINS", default=[])]
SERVER_EMAIL = env("DJANGO_SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    start_error_reporting(
        SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        release=env("SENTRY_RELEASE", default=None),
    )

# One JSON object a line on standard error, for the platform's log collector (config.observability says
# what a line may hold).
LOGGING = {
    **LOGGING,
    "formatters": {"json": {"()": "config.observability.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
}

# The browsable API renders HTML forms, choice lists included, for anyone signed in: JSON only unless an
# operator turns it on.
if not env.bool("DJANGO_BROWSABLE_API", default=False):
    REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}
