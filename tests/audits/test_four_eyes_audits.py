"""Nobody decides their own item in audits and section 11: the follow-up check of a case, excusing a return,
waiving an audit's guard, agreeing a section 11 return. Each is refused to the item's own party on the page
and through the API, saying why, and allowed to someone else."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audits.models import (
    Audit,
    CaseAudit,
    CaseAuditState,
    Framework,
    Grade,
    Section11Cycle,
    Section11Return,
    Standard,
)
from audits.section11_defaults import install_default
from audits.services.case_audits import (
    ShortfallCheck,
    case_audit_follow_up,
    case_audit_grade,
    case_audit_schedule,
    shortfall_add_action,
)
from audits.services.section11 import (
    challenge_review,
    cycle_add_agency,
    cycle_create,
    rating_add_evidence,
    rating_save,
    return_assign_reviewer,
)
from tests.audits.helpers import answer, returns_of
from tests.factories import person_in
from tests.workflows.helpers import advance
from workflows import roles
from workflows.models import Agency, RefusedAttempt
from workflows.transitions import TransitionRefused, transition_perform

pytestmark = pytest.mark.django_db


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def unescaped(response: object) -> str:
    return response.content.decode().replace("&#x27;", "'")  # type: ignore[attr-defined]


# The follow-up check of a case audit.


@pytest.fixture
def case_worker(police: Agency) -> User:
    return person_in(police, roles.ACTION_OWNER, username="police.worker")


@pytest.fixture
def in_follow_up(police_lead: User, case_worker: User, manager: User) -> CaseAudit:
    """A case audit in its follow-up check, whose remedial actions the police lead (its auditor) owns."""
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
        shortfalls=["No chronology"],
    )
    for shortfall in case_audit.shortfalls.all():
        action = shortfall_add_action(
            shortfall=shortfall,
            actor=police_lead,
            description="Put the chronology on file",
            owner=police_lead,
            due_on=timezone.localdate() + dt.timedelta(days=20),
        )
        advance(action, "completed", manager=manager)
    transition_perform(obj=case_audit, name="set_remedial_actions", actor=police_lead)
    transition_perform(obj=case_audit, name="start_follow_up", actor=police_lead)
    return case_audit


def all_addressed(case_audit: CaseAudit) -> list[ShortfallCheck]:
    return [ShortfallCheck(s.pk, addressed=True) for s in case_audit.shortfalls.all()]


def test_the_owner_of_a_remedial_action_cannot_make_the_follow_up_check(
    in_follow_up: CaseAudit, police_lead: User, auditor: User
) -> None:
    why = "You cannot make the follow-up check of a case you work on or whose remedial action you own"
    with pytest.raises(PermissionDenied, match=why):
        case_audit_follow_up(case_audit=in_follow_up, actor=police_lead, checks=all_addressed(in_follow_up))
    page = logged_in(police_lead).get(in_follow_up.get_absolute_url())
    assert why in unescaped(page) and 'name="addressed_' not in unescaped(page)
    shortfall = in_follow_up.shortfalls.get()
    posted = logged_in(police_lead).post(
        f"{in_follow_up.get_absolute_url()}follow-up/", {f"addressed_{shortfall.pk}": "yes"}, follow=True
    )
    assert why in unescaped(posted)
    response = api(police_lead).post(
        f"/api/case-audits/{in_follow_up.pk}/transitions/close/", {}, format="json"
    )
    assert response.status_code == 400 and response.json()["detail"].startswith(why)
    assert CaseAudit.objects.get(pk=in_follow_up.pk).state == CaseAuditState.FOLLOW_UP_CHECK
    # An auditor who is no party to the case may.
    case_audit_follow_up(case_audit=in_follow_up, actor=auditor, checks=all_addressed(in_follow_up))
    assert CaseAudit.objects.get(pk=in_follow_up.pk).state == CaseAuditState.CLOSED


def test_two_auditors_recording_the_follow_up_check_at_once_one_wins_and_both_leave_a_trace(
    in_follow_up: CaseAudit, auditor: User, manager: User
) -> None:
    first, second = CaseAudit.objects.get(pk=in_follow_up.pk), CaseAudit.objects.get(pk=in_follow_up.pk)
    case_audit_follow_up(case_audit=first, actor=auditor, checks=all_addressed(first))
    with pytest.raises(ValidationError, match="The follow-up check was already recorded by"):
        case_audit_follow_up(case_audit=second, actor=manager, checks=all_addressed(second))
    assert CaseAudit.objects.get(pk=in_follow_up.pk).follow_up_by == auditor
    attempt = RefusedAttempt.objects.get()
    assert (attempt.actor, attempt.attempted) == (manager, "Record the follow-up check")


# Multi-agency audits: excusing a return, waiving the moderation guard.


@pytest.fixture
def police_manager(police: Agency) -> User:
    return person_in(police, roles.MANAGER, username="police.manager")


def test_a_manager_cannot_record_their_own_agencys_return_as_not_received(
    fieldwork_audit: Audit, police_manager: User, manager: User
) -> None:
    police_return = next(r for r in returns_of(fieldwork_audit) if r.agency == police_manager.person.agency)
    why = "You cannot record your own agency's return as not received: a manager from another agency must"
    response = api(police_manager).post(
        f"/api/audit-returns/{police_return.pk}/transitions/mark_not_received/",
        {"comment": "Not needed"},
        format="json",
    )
    assert response.status_code == 400 and response.json()["detail"] == why
    # Nor by moderating without it, on the audit's page or through the API.
    page = logged_in(police_manager).post(
        f"/audits/{fieldwork_audit.pk}/transitions/override_to_moderation/", {"comment": "Late"}, follow=True
    )
    assert why in unescaped(page)
    response = api(police_manager).post(
        f"/api/audits/{fieldwork_audit.pk}/transitions/override_to_moderation/",
        {"comment": "Going ahead"},
        format="json",
    )
    assert response.status_code == 400 and response.json()["detail"] == why
    assert Audit.objects.get(pk=fieldwork_audit.pk).state == "fieldwork"
    transition_perform(obj=police_return, name="mark_not_received", actor=manager, comment="Not needed")


def test_the_lead_of_an_audit_cannot_waive_its_returns_for_moderation(
    fieldwork_audit: Audit, manager: User, second_manager: User, owner: User
) -> None:
    Audit.objects.filter(pk=fieldwork_audit.pk).update(lead_auditor=manager)
    answer(next(r for r in returns_of(fieldwork_audit) if r.agency == owner.person.agency), owner)
    why = "You lead this audit: another manager must decide that moderation goes ahead without every return"
    page = logged_in(manager).post(
        f"/audits/{fieldwork_audit.pk}/transitions/override_to_moderation/", {"comment": "Late"}, follow=True
    )
    assert why in unescaped(page)
    response = api(manager).post(
        f"/api/audits/{fieldwork_audit.pk}/transitions/override_to_moderation/",
        {"comment": "Late"},
        format="json",
    )
    assert response.status_code == 400 and response.json()["detail"] == why
    assert Audit.objects.get(pk=fieldwork_audit.pk).state == "fieldwork"
    transition_perform(
        obj=Audit.objects.get(pk=fieldwork_audit.pk),
        name="override_to_moderation",
        actor=second_manager,
        comment="Late",
    )


# Section 11: an agency never agrees its own return.


@pytest.fixture
def under_challenge(
    manager: User, owner: User, health_owner: User, health_lead: User, police: Agency, health: Agency
) -> Section11Return:
    """The police return under challenge by the ICB's lead, who has agreed every (Green) rating."""
    install_default(Framework, Standard)
    today = timezone.localdate()
    cycle = cycle_create(
        actor=manager,
        name="Section 11 2026",
        lead=manager,
        returns_due_on=today + dt.timedelta(days=30),
        challenge_due_on=today + dt.timedelta(days=60),
    )
    police_return = cycle_add_agency(cycle=cycle, actor=manager, agency=police, owner=owner)
    cycle_add_agency(cycle=cycle, actor=manager, agency=health, owner=health_owner)
    transition_perform(obj=cycle, name="open", actor=manager)
    for rating in police_return.ratings.all():
        rating_save(rating=rating, actor=owner, self_rating="green", commentary="As shown")
        rating_add_evidence(rating=rating, actor=owner, description="Minutes", url="https://example.org/m")
    police_return.refresh_from_db()
    transition_perform(obj=police_return, name="submit", actor=owner)
    transition_perform(obj=Section11Cycle.objects.get(pk=cycle.pk), name="start_challenge", actor=manager)
    return_assign_reviewer(agency_return=police_return, actor=manager, reviewer=health_lead)
    transition_perform(obj=police_return, name="begin_challenge", actor=manager)
    for rating in police_return.ratings.all():
        challenge_review(rating=rating, actor=health_lead, agree=True)
    return Section11Return.objects.get(pk=police_return.pk)


def test_a_manager_cannot_agree_their_own_agencys_section11_return(
    under_challenge: Section11Return, police_manager: User, health_lead: User
) -> None:
    why = "You cannot agree your own agency's return: its reviewer, or a manager, from another agency must"
    with pytest.raises(TransitionRefused, match=why):
        transition_perform(obj=under_challenge, name="agree", actor=police_manager)
    page = logged_in(police_manager).post(
        f"/section11/returns/{under_challenge.pk}/transitions/agree/",
        {"state": "under_challenge"},
        follow=True,
    )
    assert why in unescaped(page)
    response = api(police_manager).post(
        f"/api/section11-returns/{under_challenge.pk}/transitions/agree/", {}, format="json"
    )
    assert response.status_code == 400 and response.json()["detail"] == why
    assert Section11Return.objects.get(pk=under_challenge.pk).state == "under_challenge"
    transition_perform(obj=under_challenge, name="agree", actor=health_lead)
    assert under_challenge.state == "agreed"
