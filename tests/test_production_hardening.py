"""Production as a partnership's information governance would check it: config.settings.production."""

import datetime as dt
import json
import logging
import re
import smtplib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client, RequestFactory
from django.utils import timezone
from django.utils.log import AdminEmailHandler
from pytest_django.fixtures import Settings

from config.observability import JsonFormatter
from notifications.delivery import deliver_pending
from notifications.models import ChasePolicy
from tests.notifications.test_delivery import owed_today
from tests.test_foundation import PRODUCTION_ENV, ROOT, TEST_ONLY_ENVIRONMENT
from workflows.models import Action

__all__ = ["owed_today"]

CASE_REFERENCE = "EHE-03"


def production_settings(*names: str, code: str = "", **env: str) -> dict[str, Any]:
    """The named settings as config.settings.production makes them from ``env``, read in a fresh process."""
    import os

    inherited = {k: v for k, v in os.environ.items() if k not in TEST_ONLY_ENVIRONMENT}
    script = (
        "import json, django; django.setup(); from django.conf import settings; out = {}\n"
        f"for name in {list(names)!r}: out[name] = getattr(settings, name)\n"
        f"{code}\n"
        "print(json.dumps(out, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**inherited, **PRODUCTION_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_production_cookies_headers_and_connections_are_hardened() -> None:
    s = production_settings(
        "SESSION_COOKIE_NAME",
        "CSRF_COOKIE_NAME",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "CSRF_COOKIE_HTTPONLY",
        "SESSION_COOKIE_DOMAIN",
        "CSRF_COOKIE_DOMAIN",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_REFERRER_POLICY",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "X_FRAME_OPTIONS",
        "SECURE_SSL_REDIRECT",
        "DATABASES",
        "CACHES",
        "MIDDLEWARE",
    )
    # __Host- cookies: HTTPS only, this host alone, the whole site.
    assert s["SESSION_COOKIE_NAME"].startswith("__Host-") and s["CSRF_COOKIE_NAME"].startswith("__Host-")
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"]
    assert s["SESSION_COOKIE_HTTPONLY"] and s["CSRF_COOKIE_HTTPONLY"]
    assert s["SESSION_COOKIE_DOMAIN"] is None and s["CSRF_COOKIE_DOMAIN"] is None
    assert s["SECURE_HSTS_SECONDS"] >= 31536000 and s["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert s["SECURE_REFERRER_POLICY"] == "same-origin"
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] and s["X_FRAME_OPTIONS"] == "DENY" and s["SECURE_SSL_REDIRECT"]
    assert "csp.middleware.CSPMiddleware" in s["MIDDLEWARE"]
    assert s["DATABASES"]["default"]["CONN_MAX_AGE"] == 60
    assert s["DATABASES"]["default"]["CONN_HEALTH_CHECKS"] is True
    # Throttles and lockouts count in Redis, shared by every web process.
    assert s["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert (
        production_settings("DATABASES", DJANGO_CONN_MAX_AGE="0")["DATABASES"]["default"]["CONN_MAX_AGE"] == 0
    )


def test_the_admin_lives_at_the_path_the_environment_gives() -> None:
    code = "from django.urls import reverse; out['admin'] = reverse('admin:index')"
    assert production_settings(code=code, DJANGO_ADMIN_PATH="office-7f3k")["admin"] == "/office-7f3k/"
    assert production_settings(code=code)["admin"] == "/admin/"


def test_a_session_ends_after_thirty_minutes_without_a_request_by_default() -> None:
    s = production_settings("SESSION_COOKIE_AGE", "SESSION_SAVE_EVERY_REQUEST")
    assert s == {"SESSION_COOKIE_AGE": 30 * 60, "SESSION_SAVE_EVERY_REQUEST": True}
    assert production_settings("SESSION_COOKIE_AGE", FOLLOWTHROUGH_SESSION_IDLE_MINUTES="15") == {
        "SESSION_COOKIE_AGE": 15 * 60
    }


@pytest.mark.django_db
def test_a_person_idle_past_the_timeout_is_signed_out_and_each_request_restarts_the_clock(
    client: Client, owner: User, settings: Settings
) -> None:
    settings.SESSION_SAVE_EVERY_REQUEST = True
    client.force_login(owner)
    assert client.get("/my-work/").status_code == 200
    session = Session.objects.get()
    remaining = (session.expire_date - timezone.now()).total_seconds()
    assert 29 * 60 < remaining <= 30 * 60
    # Twenty minutes later they click again: the half hour starts again.
    Session.objects.update(expire_date=timezone.now() + dt.timedelta(minutes=10))
    assert client.get("/my-work/").status_code == 200
    assert (Session.objects.get().expire_date - timezone.now()).total_seconds() > 29 * 60
    # Thirty minutes without a request: the same cookie is refused.
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/my-work/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


def our_templates() -> Sequence[Path]:
    return [
        path
        for path in ROOT.glob("**/templates/**/*.html")
        if ".venv" not in path.parts and "node_modules" not in path.parts and "emails" not in path.parts
    ]


def test_no_page_template_has_inline_script_handlers_or_styles() -> None:
    templates = our_templates()
    assert len(templates) > 20
    for path in templates:
        text = path.read_text()
        assert not INLINE_SCRIPT.search(text), f"inline <script> in {path}"
        assert not INLINE_HANDLER.search(text), f"inline event handler in {path}"
        assert not INLINE_STYLE.search(text), f"inline style in {path}"


@pytest.mark.django_db
def test_every_page_carries_a_content_security_policy_with_no_inline_script(
    client: Client, owner: User
) -> None:
    client.force_login(owner)
    response = client.get("/")
    policy = dict(
        ([*part.strip().split(" ", 1), ""])[:2] for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    page = response.content.decode()
    assert (
        not INLINE_SCRIPT.search(page) and not INLINE_HANDLER.search(page) and not INLINE_STYLE.search(page)
    )
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    # The API docs page runs Swagger UI's script from a file; only its styles may be inline.
    docs = client.get("/api/docs/")
    assert "'unsafe-inline'" not in docs["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert not INLINE_SCRIPT.search(docs.content.decode())
    production = production_settings("CONTENT_SECURITY_POLICY")["CONTENT_SECURITY_POLICY"]
    assert production["DIRECTIVES"]["script-src"] == ["'self'"]


def test_errors_go_to_sentry_when_a_dsn_is_set_without_personal_data() -> None:
    code = (
        "import sentry_sdk; c = sentry_sdk.get_client(); out['active'] = c.is_active();"
        "out['options'] = {k: c.options.get(k) for k in "
        "('send_default_pii', 'include_local_variables', 'max_request_body_size')}"
    )
    reported = production_settings(code=code, SENTRY_DSN="https://key@o0.ingest.example.invalid/1")
    assert reported["active"] is True
    assert reported["options"] == {
        "send_default_pii": False,
        "include_local_variables": False,
        "max_request_body_size": "never",
    }
    mailed = production_settings("ADMINS", code=code, DJANGO_ADMINS="Service desk <ops@example.org>")
    assert mailed["active"] is False
    assert mailed["ADMINS"] == [["Service desk", "ops@example.org"]]


def failing_with(case_reference: str) -> BaseException:
    try:
        reference = case_reference  # noqa: F841  (a local the report must not show)
        raise ValueError(f"Could not save {case_reference}")
    except ValueError as error:
        return error


def test_an_error_mail_names_the_code_that_failed_not_the_case_it_was_handling(settings: Settings) -> None:
    settings.ADMINS = [("Service desk", "ops@example.org")]
    request = RequestFactory().post("/case-audits/new/", {"case_reference": CASE_REFERENCE})
    error = failing_with(CASE_REFERENCE)
    record = logging.LogRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "Internal Server Error: %s",
        ("/x",),
        (type(error), error, error.__traceback__),
    )
    record.request = request
    AdminEmailHandler().emit(record)
    assert len(mail.outbox) == 1
    assert "failing_with" in mail.outbox[0].body
    assert "reference" in mail.outbox[0].body  # the variable's name may show; its value never
    assert "EHE" not in mail.outbox[0].body.replace("Could not save EHE-03", "")


def test_a_log_line_is_json_naming_an_error_without_its_message() -> None:
    error = failing_with(CASE_REFERENCE)
    record = logging.LogRecord(
        "x",
        logging.ERROR,
        __file__,
        1,
        "Saving case audit %s failed",
        (42,),
        (type(error), error, error.__traceback__),
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Saving case audit 42 failed" and line["level"] == "ERROR"
    assert line["error"]["type"] == "builtins.ValueError"
    assert any("failing_with" in frame for frame in line["error"]["frames"])
    assert CASE_REFERENCE not in json.dumps(line)


class RefusingWithAnEcho(BaseEmailBackend):
    """A mail server that refuses a message and quotes it back, as some do."""

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise smtplib.SMTPDataError(554, f"Refused: {email_messages[0].body}".encode())


@pytest.mark.django_db
def test_a_digest_the_mail_server_refuses_is_logged_without_its_body(
    owed_today: list[Action], chasing_on: ChasePolicy, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.EMAIL_BACKEND = "tests.test_production_hardening.RefusingWithAnEcho"
    with caplog.at_level(logging.WARNING, logger="notifications.delivery"):
        assert deliver_pending().failed == 2
    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert lines
    for line in lines:
        assert "neglect toolkit" not in line and "Refused" not in line
        assert "SMTPDataError" in line
