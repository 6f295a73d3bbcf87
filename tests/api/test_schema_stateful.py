"""Sequences of API calls for two roles, each call fed by an earlier answer along the links schemathesis
infers from the schema (a created or listed object's id into its detail, change and transition
operations): no server error, and every answer as the schema says, on objects that really exist and
that earlier calls have just made or changed."""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.core.transport import Response
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput

from tests.api.conftest import CHECKS, api_schema, bearer

pytestmark = pytest.mark.django_db

ROLES = ["police.owner", "manager"]
# Per role: scenarios, and calls at most in each; enough to chain create -> read -> change -> transition,
# few enough for CI (about a minute for both roles on SQLite).
SCENARIOS = 40
STEPS = 10


def test_chained_api_calls_answer_as_the_schema_says_for_an_owner_and_a_manager(
    wsgi_app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    schema = api_schema()
    machine = schema.as_state_machine()  # infers the links first, from response schemas and path names
    links = schema.statistic.transitions.total
    calls: list[tuple[str, bool]] = []  # each call's operation and answer, and whether it followed a link
    failures: list[str] = []
    started = time.monotonic()

    def as_role(headers: dict[str, str]) -> Any:
        class AsRole(machine):  # type: ignore[misc, valid-type]
            def step(self, input: StepInput) -> StepOutput:
                # Whether this call takes an id (or more) from an earlier answer, through a link.
                self.via_link = input.transition is not None and input.is_applied
                return super().step(input)

            def before_call(self, case: Case) -> None:
                # The rate limits count in the cache, as in the stateless suite: each call starts afresh.
                cache.clear()

            def get_call_kwargs(self, case: Case) -> dict[str, Any]:
                return {"app": wsgi_app, "headers": headers}

            def validate_response(
                self,
                response: Response,
                case: Case,
                additional_checks: list[Any] | None = None,
                **kwargs: Any,
            ) -> None:
                calls.append((f"{case.operation.label} -> {response.status_code}", self.via_link))
                case.validate_response(response, checks=CHECKS, headers=headers)

        return AsRole

    for username in ROLES:
        try:
            as_role(bearer(username)).run(
                settings=settings(
                    max_examples=SCENARIOS,
                    stateful_step_count=STEPS,
                    derandomize=True,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
            )
        except (Exception, BaseExceptionGroup) as failure:
            failures.append(f"as {username}: {failure}"[:5000])

    if os.environ.get("SCHEMA_SUITE_PROGRESS") == "1":
        with capsys.disabled():
            print(*sorted(Counter(calls).items()), sep="\n")
    along_links = [call for call, via in calls if via]
    answered = sum(" -> 2" in call for call, _ in calls)
    with capsys.disabled():
        print(
            f"\nschemathesis stateful: {links} links, {len(calls)} steps, {len(along_links)} of them along a "
            f"link ({sum(' -> 2' in call for call in along_links)} answered 2xx), {answered} answered 2xx "
            f"in all, {len(failures)} roles failing, {time.monotonic() - started:.0f}s"
        )
    assert links >= 100
    assert not failures, "\n\n".join(failures)
