"""The foundation a new user and an operator rely on."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from pytest_django.fixtures import Settings

from tests.conftest import celery_client, free_port
from workflows import roles
from workflows.models import Action, Agency, Person, TransitionLog

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


# Overrides the test run itself needs, which a deployment never has.
TEST_ONLY_ENVIRONMENT = {"DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k not in TEST_ONLY_ENVIRONMENT}
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "q8-0v7m9x!r2t5w8z1c4f7j0n3q6t9w2z5c8f1j4n7q0t3w6z9c2",
    "DJANGO_ALLOWED_HOSTS": "followthrough.example.org",
}


def test_production_settings_pass_the_deploy_check() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("key", ["", "local-only-not-a-secret-4d6c1f0e8b7a", "short"])
def test_production_refuses_a_missing_or_default_secret_key(key: str) -> None:
    result = run_manage("check", **{**PRODUCTION_ENV, "DJANGO_SECRET_KEY": key})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_local_settings_refuse_the_built_in_key_when_debug_is_off() -> None:
    result = run_manage("check", DJANGO_SETTINGS_MODULE="config.settings.local", DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_settings_read_the_environment_with_the_documented_defaults() -> None:
    from config.settings import base

    assert base.TIME_ZONE == "Europe/London"
    assert base.DEFAULT_AUTO_FIELD == "django.db.models.BigAutoField"
    assert base.env("REDIS_URL", default="redis://127.0.0.1:6379/0").startswith("redis://")
    assert (
        os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
        == base.EMAIL_BACKEND
    )


def test_migrations_are_committed() -> None:
    result = run_manage(
        "makemigrations", "--check", "--dry-run", DJANGO_SETTINGS_MODULE="config.settings.test"
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.django_db
def test_every_role_is_a_group_with_its_permissions() -> None:
    # The test database is made by migrate, as an install is: nothing here syncs the groups again.
    for role, names in roles.ROLE_PERMISSIONS.items():
        held = Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename")
        assert sorted(f"{app_label}.{codename}" for app_label, codename in held) == sorted(names), role


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_the_logins(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("seed_demo")
    counts = (
        Agency.objects.count(),
        User.objects.count(),
        Action.objects.count(),
        TransitionLog.objects.count(),
    )
    call_command("seed_demo")
    assert (
        Agency.objects.count(),
        User.objects.count(),
        Action.objects.count(),
        TransitionLog.objects.count(),
    ) == counts
    out = capsys.readouterr().out
    assert "password: followthrough-demo" in out
    for username in ("manager", "police.owner", "csc.lead", "executive", "auditor", "admin"):
        assert username in out
    kinds = set(Agency.objects.values_list("kind", flat=True))
    assert {"police", "health", "social_care", "education", "early_help", "probation", "voluntary"} <= kinds
    line_manager = Person.objects.get(user__username="police.owner").line_manager
    assert line_manager is not None and line_manager.username == "police.lead"


@pytest.mark.django_db
def test_demo_has_green_amber_red_and_grey_actions_today() -> None:
    from workflows.deadlines import with_rag

    call_command("seed_demo")
    rags = set(with_rag(Action.objects.all()).values_list("rag", flat=True))
    assert {"green", "amber", "red", "grey"} <= rags
    # The business plan's 30 objectives, 8 of them complete; the demo audits add their own actions.
    plan_actions = Action.objects.filter(recommendation__source_type__model="plan")
    assert plan_actions.count() == 30
    assert plan_actions.filter(state="completed").count() == 8


@pytest.mark.django_db
def test_login_then_home_page_says_who_you_are(client: Client) -> None:
    call_command("seed_demo")
    response = client.post(
        "/login/", {"username": "police.owner", "password": "followthrough-demo"}, follow=True
    )
    page = response.content.decode()
    assert "Welcome, Paul Green" in page
    assert "Greater Manchester Police" in page
    assert "My work" in page


@pytest.mark.django_db
def test_wrong_password_shows_a_clear_error(client: Client) -> None:
    call_command("seed_demo")
    page = client.post("/login/", {"username": "manager", "password": "nope"}).content.decode()
    assert "Enter a correct username and password" in page


@pytest.mark.django_db
def test_healthz_reports_database_and_redis(client: Client, use_redis: str) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "outbox": {"oldest_pending_seconds": None, "failed": 0},
    }


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client: Client, settings: Settings) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"].startswith("error")


@pytest.mark.redis
def test_a_real_celery_worker_answers_a_ping(redis_url: str) -> None:
    env = {**os.environ, "REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    worker = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--hostname",
            "ping@test",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with celery_client(redis_url) as client:
            deadline = time.monotonic() + 30
            replies: list[dict[str, object]] | None = []
            while not replies and time.monotonic() < deadline:
                replies = client.control.ping(timeout=1.0)
        assert replies == [{"ping@test": {"ok": "pong"}}]
    finally:
        worker.terminate()
        worker.wait(timeout=20)


def test_static_assets_come_from_govuk_frontend_not_a_cdn() -> None:
    base = (ROOT / "templates" / "base.html").read_text()
    assert "govuk/govuk-frontend.min.css" in base
    assert "http" not in base.split("<body")[0].replace("http-equiv", "")
    assert (ROOT / "assets" / "govuk" / "govuk-frontend.min.css").exists(), "run bin/build-assets"
    assert "url(/assets/" not in (ROOT / "assets" / "govuk" / "govuk-frontend.min.css").read_text()
    assert settings.STATIC_URL == "/static/"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/my-work/", "/api/actions/", "/notifications/"])
def test_a_signed_in_page_is_never_kept_by_the_browser_or_a_proxy(client: Client, path: str) -> None:
    # A shared computer's back button or a proxy's cache must not show the next person a signed-in page.
    owner = User.objects.create_user("cache.owner", password="x")
    client.force_login(owner)
    response = client.get(path)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_signed_in_download_is_never_kept_either(client: Client, manager: User) -> None:
    client.force_login(manager)
    response = client.get("/api/schema/")
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_api_schema_and_docs_need_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (302, 401, 403)
    if response.status_code == 302:
        assert response["Location"].startswith("/login/")
    assert b"openapi" not in response.content.lower()


def settings_module_loaded_by(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Import ``module`` the way its server does, with no DJANGO_SETTINGS_MODULE, and say which settings
    Django ended up with."""
    inherited = {k: v for k, v in os.environ.items() if k not in TEST_ONLY_ENVIRONMENT}
    return subprocess.run(
        [PYTHON, "-c", f"import {module}; from django.conf import settings; print(settings.SETTINGS_MODULE)"],
        cwd=ROOT,
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi", "config.celery_app"])
def test_servers_and_workers_start_with_production_settings_unless_told_otherwise(module: str) -> None:
    deployment = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = settings_module_loaded_by(module, **deployment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "config.settings.production"
    # Without a real secret key they refuse to start, rather than run on development settings.
    refused = settings_module_loaded_by(module)
    assert refused.returncode != 0
    assert "DJANGO_SECRET_KEY" in refused.stderr


def test_the_procfile_processes_leave_the_settings_to_the_environment() -> None:
    # The demo exports local settings before starting them; a deployment gets production by default.
    processes = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line
    )
    assert set(processes) == {"web", "worker", "beat"}
    assert "config.wsgi" in processes["web"]
    assert all("-A config " in processes[name] for name in ("worker", "beat"))
    assert not any("DJANGO_SETTINGS_MODULE" in command for command in processes.values())
    assert "export DJANGO_SETTINGS_MODULE=config.settings.local" in (ROOT / "bin" / "demo").read_text()
