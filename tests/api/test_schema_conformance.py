"""Every operation in the OpenAPI schema, called by two roles with generated input (valid and invalid),
on made-up ids and on real ones: no server error, and every answer matches the schema (its status
documented, its body and headers of the documented shape)."""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from werkzeug.test import Client as WsgiClient

from tests.api.conftest import CHECKS, api_schema, bearer

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
    schema = api_schema()
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
