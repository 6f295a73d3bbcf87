"""Single-agency case audits: graded, remedial actions set, and checked by someone other than the worker."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audits.models import CaseAudit, CaseAuditState, Grade
from audits.selectors import case_audit_programme, quarter_of
from audits.services.case_audits import (
    ShortfallCheck,
    case_audit_follow_up,
    case_audit_grade,
    case_audit_schedule,
    shortfall_add_action,
)
from tests.factories import person_in
from tests.workflows.helpers import advance
from workflows import roles
from workflows.models import Action, ActionState, Agency, TransitionLog
from workflows.transitions import TransitionRefused, transition_perform

pytestmark = pytest.mark.django_db


@pytest.fixture
def case_worker(police: Agency) -> User:
    return person_in(police, roles.ACTION_OWNER, username="police.worker")


def graded_with_actions(police_lead: User, case_worker: User, owner: User, manager: User) -> CaseAudit:
    case_audit = case_audit_schedule(
        actor=police_lead,
        agency=police_lead.person.agency,
        case_reference="Child A",
        scheduled_for=timezone.localdate(),
        case_worker=case_worker,
    )
    transition_perform(obj=case_audit, name="start", actor=police_lead)
    case_audit_grade(
        case_audit=case_audit,
        actor=police_lead,
        grade=Grade.REQUIRES_IMPROVEMENT,
        shortfalls=["No chronology on file", "Voice of the child not recorded"],
    )
    for shortfall in case_audit.shortfalls.all():
        action = shortfall_add_action(
            shortfall=shortfall,
            actor=police_lead,
            description=f"Put right: {shortfall.description}",
            owner=owner,
            due_on=timezone.localdate() + dt.timedelta(days=20),
        )
        advance(action, "agreed", manager=manager)
    transition_perform(obj=case_audit, name="set_remedial_actions", actor=police_lead)
    return case_audit


def test_a_follow_up_check_reopens_the_action_of_a_shortfall_not_addressed(
    police_lead: User, case_worker: User, owner: User, manager: User
) -> None:
    case_audit = graded_with_actions(police_lead, case_worker, owner, manager)
    with pytest.raises(TransitionRefused, match="Every remedial action must be completed"):
        transition_perform(obj=case_audit, name="start_follow_up", actor=police_lead)
    shortfalls = list(case_audit.shortfalls.select_related("action"))
    for shortfall in shortfalls:
        assert shortfall.action is not None
        advance(shortfall.action, "completed", manager=manager)
    transition_perform(obj=case_audit, name="start_follow_up", actor=police_lead)

    new_date = timezone.localdate() + dt.timedelta(days=14)
    case_audit_follow_up(
        case_audit=case_audit,
        actor=police_lead,
        checks=[
            ShortfallCheck(shortfalls[0].pk, addressed=True),
            ShortfallCheck(
                shortfalls[1].pk, addressed=False, comment="Still no record of her views", new_due_on=new_date
            ),
        ],
    )
    assert case_audit.state == CaseAuditState.REMEDIAL_ACTIONS
    kept, reopened = (Action.objects.get(pk=s.action_id) for s in shortfalls)
    assert kept.state == ActionState.COMPLETED
    assert reopened.state == ActionState.IN_PROGRESS
    assert reopened.due_on == new_date and reopened.reopened_count == 1 and reopened.signed_off_by is None
    log = TransitionLog.objects.get(object_id=reopened.pk, transition="reopen")
    assert log.actor == police_lead and "Still no record of her views" in log.comment

    advance(reopened, "completed", manager=manager)
    transition_perform(obj=case_audit, name="start_follow_up", actor=police_lead)
    case_audit_follow_up(
        case_audit=case_audit,
        actor=police_lead,
        checks=[ShortfallCheck(s.pk, addressed=True) for s in shortfalls],
    )
    assert case_audit.state == CaseAuditState.CLOSED and case_audit.follow_up_by == police_lead


def test_the_case_worker_cannot_do_the_follow_up_check(
    police: Agency, case_worker: User, owner: User, manager: User, police_lead: User
) -> None:
    case_audit = graded_with_actions(police_lead, case_worker, owner, manager)
    for shortfall in case_audit.shortfalls.select_related("action"):
        assert shortfall.action is not None
        advance(shortfall.action, "completed", manager=manager)
    transition_perform(obj=case_audit, name="start_follow_up", actor=police_lead)
    # Even with an auditor's powers, the worker of the case may not check their own case.
    case_worker.groups.add(*police_lead.groups.all())
    case_worker = User.objects.get(pk=case_worker.pk)
    checks = [ShortfallCheck(s.pk, addressed=True) for s in case_audit.shortfalls.all()]
    with pytest.raises(PermissionDenied, match="not the case's worker"):
        case_audit_follow_up(case_audit=case_audit, actor=case_worker, checks=checks)
    assert CaseAudit.objects.get(pk=case_audit.pk).state == CaseAuditState.FOLLOW_UP_CHECK


def test_a_shortfall_not_addressed_needs_what_is_left_and_a_new_date(
    police_lead: User, case_worker: User, owner: User, manager: User
) -> None:
    case_audit = graded_with_actions(police_lead, case_worker, owner, manager)
    shortfalls = list(case_audit.shortfalls.select_related("action"))
    for shortfall in shortfalls:
        assert shortfall.action is not None
        advance(shortfall.action, "completed", manager=manager)
    transition_perform(obj=case_audit, name="start_follow_up", actor=police_lead)
    with pytest.raises(ValidationError) as error:
        case_audit_follow_up(
            case_audit=case_audit,
            actor=police_lead,
            checks=[ShortfallCheck(s.pk, addressed=False) for s in shortfalls],
        )
    assert len(error.value.message_dict) == 4
    with pytest.raises(ValidationError, match="for every shortfall"):
        case_audit_follow_up(
            case_audit=case_audit, actor=police_lead, checks=[ShortfallCheck(shortfalls[0].pk, True)]
        )
    assert {Action.objects.get(pk=s.action_id).state for s in shortfalls} == {ActionState.COMPLETED}


def test_a_case_graded_below_good_must_list_its_shortfalls(police_lead: User) -> None:
    case_audit = case_audit_schedule(
        actor=police_lead,
        agency=police_lead.person.agency,
        case_reference="C-1",
        scheduled_for=timezone.localdate(),
    )
    transition_perform(obj=case_audit, name="start", actor=police_lead)
    with pytest.raises(ValidationError, match="needs the shortfalls"):
        case_audit_grade(case_audit=case_audit, actor=police_lead, grade=Grade.INADEQUATE, shortfalls=[])
    case_audit_grade(case_audit=case_audit, actor=police_lead, grade=Grade.GOOD, shortfalls=[])
    transition_perform(obj=case_audit, name="close_without_shortfalls", actor=police_lead)
    assert case_audit.state == CaseAuditState.CLOSED


def test_an_agency_lead_cannot_audit_another_agencys_cases(
    police_lead: User, health: Agency, health_lead: User
) -> None:
    with pytest.raises(PermissionDenied):
        case_audit_schedule(
            actor=police_lead, agency=health, case_reference="H-1", scheduled_for=timezone.localdate()
        )
    case_audit = case_audit_schedule(
        actor=health_lead, agency=health, case_reference="H-1", scheduled_for=timezone.localdate()
    )
    with pytest.raises(TransitionRefused):
        transition_perform(obj=case_audit, name="start", actor=police_lead)
    client = Client()
    client.force_login(police_lead)
    assert client.get(f"/case-audits/{case_audit.pk}/").status_code == 404
    assert client.post(f"/case-audits/{case_audit.pk}/transitions/start/").status_code == 404
    assert client.post(f"/case-audits/{case_audit.pk}/grade/", {"grade": "good"}).status_code == 404
    assert client.post(f"/case-audits/{case_audit.pk}/follow-up/").status_code == 404
    api = APIClient()
    api.force_authenticate(police_lead)
    assert api.get(f"/api/case-audits/{case_audit.pk}/").status_code == 404
    assert (
        api.post(f"/api/case-audits/{case_audit.pk}/transitions/start/", {}, format="json").status_code == 404
    )


def test_the_programme_counts_graded_audits_against_the_quarterly_target(
    police_lead: User, health_lead: User, manager: User, police: Agency, health: Agency, partnership: Agency
) -> None:
    today = timezone.localdate()
    for n, grade in enumerate([Grade.GOOD, Grade.GOOD, Grade.INADEQUATE]):
        case_audit = case_audit_schedule(
            actor=police_lead, agency=police, case_reference=f"P-{n}", scheduled_for=today
        )
        transition_perform(obj=case_audit, name="start", actor=police_lead)
        case_audit_grade(
            case_audit=case_audit, actor=police_lead, grade=grade, shortfalls=["x"] if n == 2 else []
        )
    # Scheduled but not graded: not done.
    case_audit_schedule(actor=health_lead, agency=health, case_reference="H-1", scheduled_for=today)
    rows = {row.agency.name: row for row in case_audit_programme(manager, quarter_containing=today)}
    assert set(rows) == {"Greater Manchester Police", "NHS Greater Manchester ICB"}
    police_row = rows["Greater Manchester Police"]
    assert (police_row.done, police_row.target, police_row.short_by) == (3, 10, 7)
    assert police_row.grade_counts == [
        ("Outstanding", 0),
        ("Good", 2),
        ("Requires improvement", 0),
        ("Inadequate", 1),
    ]
    assert rows["NHS Greater Manchester ICB"].done == 0
    # An agency lead sees their own agency's programme only.
    assert [row.agency for row in case_audit_programme(health_lead, quarter_containing=today)] == [health]
    _, end, _ = quarter_of(today)
    assert case_audit_programme(manager, quarter_containing=end + dt.timedelta(days=1))[0].done == 0


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 4, 1), (dt.date(2026, 4, 1), dt.date(2026, 6, 30), "Q1 2026-27")),
        (dt.date(2026, 11, 23), (dt.date(2026, 10, 1), dt.date(2026, 12, 31), "Q3 2026-27")),
        (dt.date(2027, 1, 5), (dt.date(2027, 1, 1), dt.date(2027, 3, 31), "Q4 2026-27")),
        (dt.date(2027, 3, 31), (dt.date(2027, 1, 1), dt.date(2027, 3, 31), "Q4 2026-27")),
    ],
)
def test_quarters_follow_the_financial_year(day: dt.date, expected: tuple[dt.date, dt.date, str]) -> None:
    assert quarter_of(day) == expected


def test_case_audit_pages_render(police_lead: User, case_worker: User, owner: User, manager: User) -> None:
    case_audit = graded_with_actions(police_lead, case_worker, owner, manager)
    client = Client()
    client.force_login(police_lead)
    for url in ["/case-audits/", "/case-audits/new/", f"/case-audits/{case_audit.pk}/"]:
        assert client.get(url).status_code == 200, url
