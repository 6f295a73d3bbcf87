"""Every operation in the OpenAPI schema, called by two roles with generated input (valid and invalid),
on made-up ids and on real ones: no server error, and every answer matches the schema (its status
documented, its body and headers of the documented shape)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks
from schemathesis.core.result import Ok
from werkzeug.test import Client as WsgiClient

from accounts.services import issue_token

pytestmark = pytest.mark.django_db

# Per operation, role, mode and id: enough to reach the documented answers, few enough for CI.
MAX_EXAMPLES = 8
# Real objects tried per detail operation, besides generated ids (which mostly find nothing).
REAL_IDS = 1
# Valid input as an owner and as a manager; invalid input, which no role may get past, as the owner.
RUNS = [
    ("police.owner", GenerationMode.POSITIVE),
    ("manager", GenerationMode.POSITIVE),
    ("police.owner", GenerationMode.NEGATIVE),
]
PROGRESS = os.environ.get("SCHEMA_SUITE_PROGRESS") == "1"
# What the schema promises. (Not schemathesis's extra heuristics: "ignored auth" cannot take away the
# credentials this harness adds to every call, and "positive data acceptance" cannot know that a valid
# id may name a recommendation the caller may not use.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """The real WSGI application, in this process, on the test's database connection: Django would close
    the connection at each request's start and end, as the test client also stops it doing."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def bearer(username: str) -> dict[str, str]:
    """Each role calls with a personal token, as an API client does."""
    _, key = issue_token(User.objects.get(username=username), "schema suite")
    return {"Authorization": f"Bearer {key}"}


def real_ids(path: str, app: Any, auth: dict[str, str]) -> list[Any]:
    """A few ids of real objects for a detail path, from its collection as the manager sees it."""
    match = re.match(r"^(/api/[^{]+/)\{id\}/", path)
    if match is None:
        return []
    collection = WsgiClient(app).get(match.group(1), headers=auth)
    if collection.status_code != 200:  # reached only through its parent, as section 11 ratings are
        return []
    page = collection.get_json()
    rows = page["results"] if isinstance(page, dict) else page
    return [row["id"] for row in rows[:REAL_IDS]]


def test_every_api_operation_answers_as_its_schema_says_for_an_owner_and_a_manager(
    wsgi_app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    tokens = {username: bearer(username) for username, _ in RUNS}
    failures: list[str] = []
    calls = 0

    def exercise(operation: Any, username: str, mode: GenerationMode, path_parameters: Any) -> None:
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            # The API's rate limits count in the cache: each call starts afresh, or the suite would
            # soon test nothing but the limit (whose 429 the schema documents).
            cache.clear()
            response = case.call(app=wsgi_app, headers=tokens[username])
            case.validate_response(response, checks=CHECKS, headers=tokens[username])

        call()

    for operation in operations:
        targets = [None, *({"id": pk} for pk in real_ids(operation.path, wsgi_app, tokens["manager"]))]
        for username, mode in RUNS:
            for path_parameters in targets:
                started = time.monotonic()
                try:
                    exercise(operation, username, mode, path_parameters)
                except (Exception, BaseExceptionGroup) as failure:
                    where = f"{operation.label} {path_parameters or ''} as {username} ({mode.value})"
                    failures.append(f"{where}: {failure}"[:3000])
                if PROGRESS:
                    with capsys.disabled():
                        print(f"{time.monotonic() - started:6.1f}s {operation.label} {username} {mode}")
    with capsys.disabled():
        print(f"\nschemathesis: {len(operations)} operations, {calls} calls, {len(failures)} failing")
    assert len(operations) >= 70
    assert not failures, "\n\n".join(failures)
