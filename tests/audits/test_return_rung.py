"""An audit return's escalation rung is derived from its due date and the policy, never stored: the API
shows it without waiting for a sweep, and a submitted return leaves the ladder at once."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from audits.models import Audit
from audits.services.audits import audit_update
from tests.audits.helpers import answer, returns_of
from workflows.transitions import transition_perform

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def test_a_late_returns_rung_is_in_the_api_and_a_submitted_return_leaves_the_ladder(
    scoped_audit: Audit, auditor: User, owner: User, manager: User
) -> None:
    audit_update(audit=scoped_audit, actor=auditor, returns_due_on=TODAY - dt.timedelta(days=30))
    transition_perform(obj=scoped_audit, name="start_fieldwork", actor=auditor)
    api = APIClient()
    api.force_authenticate(manager)

    def levels() -> dict[str, int]:
        found = api.get("/api/audit-returns/").json()
        return {r["case"] + "/" + str(r["agency"]): r["escalation_level"] for r in found["results"]}

    assert set(levels().values()) == {2}
    police_return = next(r for r in returns_of(scoped_audit) if r.agency == owner.person.agency)
    answer(police_return, owner)
    after = levels()
    assert after[f"{police_return.case.reference}/{police_return.agency_id}"] == 0
    assert sorted(after.values()) == [0, 2, 2, 2]
