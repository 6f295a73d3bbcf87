"""Acting is narrower than seeing: nobody works on, or hangs work on, what is not theirs to act on."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audits.models import CaseAudit
from audits.services.case_audits import case_audit_grade, case_audit_schedule
from tests.factories import ActionFactory, UserFactory
from tests.workflows.helpers import advance
from workflows.models import Action, ActionState, Agency, Recommendation
from workflows.services.actions import action_add_evidence, action_add_progress, action_create
from workflows.transitions import TransitionRefused, transition_perform

pytestmark = pytest.mark.django_db

SOON = (timezone.localdate() + dt.timedelta(days=30)).isoformat()


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def health_shortfall(health: Agency, health_lead: User, health_owner: User) -> Recommendation:
    """A shortfall found in a health case audit: the health service's private finding."""
    case_audit = case_audit_schedule(
        actor=health_lead, agency=health, case_reference="H-123", scheduled_for=timezone.localdate()
    )
    transition_perform(obj=case_audit, name="start", actor=health_lead)
    case_audit_grade(
        case_audit=case_audit,
        actor=health_lead,
        grade="requires_improvement",
        shortfalls=["HEALTH-ONLY: the health visitor did not see the child alone"],
    )
    return CaseAudit.objects.get(pk=case_audit.pk).shortfalls.get().recommendation


def test_a_police_lead_cannot_hang_an_action_on_a_health_shortfall_through_the_api(
    health_shortfall: Recommendation, police_lead: User, owner: User
) -> None:
    response = api(police_lead).post(
        "/api/actions/",
        {
            "recommendation": health_shortfall.pk,
            "description": "Police do it",
            "owner": owner.pk,
            "due_on": SOON,
        },
        format="json",
    )
    assert response.status_code in (400, 403), response.content
    assert not Action.objects.filter(recommendation=health_shortfall).exists()
    assert "HEALTH-ONLY" not in api(police_lead).get("/api/actions/").content.decode()


def test_a_police_lead_cannot_hang_an_action_on_a_health_shortfall_through_the_service(
    health_shortfall: Recommendation, police_lead: User, owner: User
) -> None:
    with pytest.raises(PermissionDenied):
        action_create(actor=police_lead, recommendation=health_shortfall, description="x", owner=owner)


def test_the_health_lead_still_plans_the_remedial_action_for_their_own_shortfall(
    health_shortfall: Recommendation, health_lead: User, health_owner: User
) -> None:
    action = action_create(
        actor=health_lead, recommendation=health_shortfall, description="Health does it", owner=health_owner
    )
    assert action.agency == health_owner.person.agency


def test_an_action_cannot_be_given_to_someone_outside_every_agency(
    police_lead: User, owner: User, police: Agency
) -> None:
    mine = ActionFactory.create(owner=owner)
    stranger = UserFactory.create(person=None, username="no.agency")
    stranger.person.delete()
    stranger = User.objects.get(pk=stranger.pk)
    response = api(police_lead).post(
        "/api/actions/",
        {
            "recommendation": mine.recommendation_id,
            "description": "Given away",
            "owner": stranger.pk,
            "agency": police.pk,
            "due_on": SOON,
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert not Action.objects.filter(owner=stranger).exists()
    patched = api(police_lead).patch(f"/api/actions/{mine.pk}/", {"owner": stranger.pk}, format="json")
    assert patched.status_code == 400
    assert Action.objects.get(pk=mine.pk).owner == owner


@pytest.mark.parametrize("role", ["executive", "auditor"])
def test_the_executive_and_the_auditor_see_every_agencys_action_but_cannot_work_on_it(
    role: str, request: pytest.FixtureRequest, owner: User, manager: User
) -> None:
    onlooker: User = request.getfixturevalue(role)
    action = advance(
        ActionFactory.create(owner=owner, description="Police plan"), "in_progress", manager=manager
    )
    assert api(onlooker).get(f"/api/actions/{action.pk}/").status_code == 200

    with pytest.raises(PermissionDenied):
        action_add_progress(action=action, actor=onlooker, text="Looks done to me")
    with pytest.raises(PermissionDenied):
        action_add_evidence(action=action, actor=onlooker, description="A report", url="https://example.org/")
    patched = api(onlooker).patch(f"/api/actions/{action.pk}/", {"description": "Do less"}, format="json")
    assert patched.status_code == 403
    client = Client()
    client.force_login(onlooker)
    client.post(f"/actions/{action.pk}/progress/", {"text": "Page progress"})
    client.post(f"/actions/{action.pk}/evidence/", {"description": "Page evidence", "url": "https://e.org/"})
    action_add_evidence(action=action, actor=owner, description="The owner's report", url="https://e.org/r")
    with pytest.raises(TransitionRefused):
        transition_perform(obj=action, name="submit_for_sign_off", actor=onlooker)
    submitted = api(onlooker).post(
        f"/api/actions/{action.pk}/transitions/submit_for_sign_off/", {"state": "in_progress"}, format="json"
    )
    assert submitted.status_code in (400, 403)
    action.refresh_from_db()
    assert action.state == ActionState.IN_PROGRESS
    assert action.description == "Police plan"
    assert not action.progress_notes.exists()
    assert list(action.evidence.values_list("description", flat=True)) == ["The owner's report"]


def test_a_manager_still_works_on_any_agencys_action(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    action_add_progress(action=action, actor=manager, text="Chased with the team")
    assert action.progress_notes.count() == 1
