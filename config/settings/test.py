"""Tests: fast hashing, mail kept in memory, plain static storage so no collectstatic is needed."""

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, STORAGES, env

DEBUG = False
SECRET_KEY = "test-only-not-a-secret-9a8b7c6d5e"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
MEDIA_ROOT = env.path("FOLLOWTHROUGH_MEDIA_ROOT", default=BASE_DIR / ".test-media")
ALLOWED_HOSTS = ["*"]
# SQLite tests use a file, not memory, so a real Celery worker in another process sees the same data.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
# No collectstatic in tests: whitenoise serves straight from the finders (the browser tests need the CSS).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Sessions are saved when they change, not on every request, so the query-count tests measure the page;
# the idle timeout's tests switch saving on every request back on.
SESSION_SAVE_EVERY_REQUEST = False
