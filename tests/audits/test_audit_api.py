"""A multi-agency audit walked from commissioned to closed through the API, as its users would."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from rest_framework.test import APIClient

from audits.models import AgencyReturn, Audit, AuditState
from tests.workflows.helpers import advance
from workflows.models import Action, Agency, TransitionLog

pytestmark = pytest.mark.django_db

ANSWERS = {
    "knew": "Open to early help in 2025",
    "did": "Referred to the education welfare service",
    "strengths": "Timely referral",
    "shortfalls": "The child was not seen alone",
}


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def step(client: APIClient, pk: int, name: str, **body: str) -> str:
    response = client.post(f"/api/audits/{pk}/transitions/{name}/", body, format="json")
    assert response.status_code == 200, response.json()
    return str(response.json()["state"])


def submit_returns(person: User) -> None:
    client = api(person)
    listed = client.get("/api/audit-returns/").json()
    for item in listed["results"] if isinstance(listed, dict) else listed:
        assert (
            client.patch(
                f"/api/audit-returns/{item['id']}/", {**ANSWERS, "own_grade": "good"}, format="json"
            ).status_code
            == 200
        )
        response = client.post(f"/api/audit-returns/{item['id']}/transitions/submit/", {}, format="json")
        assert response.status_code == 200, response.json()


def test_walk_an_audit_from_commissioned_to_closed(
    auditor: User,
    manager: User,
    owner: User,
    health_owner: User,
    health_lead: User,
    police: Agency,
    health: Agency,
) -> None:
    lead = api(auditor)
    created = lead.post(
        "/api/audits/",
        {
            "reference": "EHE-2026",
            "title": "Elective home education",
            "kind": "thematic",
            "terms_of_reference": "How agencies respond when a child is withdrawn from school",
            "returns_due_on": (timezone.localdate() + dt.timedelta(days=14)).isoformat(),
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["state"] == "commissioned"
    assert step(lead, pk, "start_scoping") == "scoping"
    for reference in ("EHE-01", "EHE-02"):
        assert (
            lead.post(f"/api/audits/{pk}/cases/", {"reference": reference}, format="json").status_code == 201
        )
    assert (
        lead.post(
            f"/api/audits/{pk}/agencies/", {"agency": police.pk, "contact": owner.pk}, format="json"
        ).status_code
        == 201
    )
    assert lead.post(f"/api/audits/{pk}/agencies/", {"agency": health.pk}, format="json").status_code == 201
    assert step(lead, pk, "start_fieldwork") == "fieldwork"
    assert AgencyReturn.objects.filter(case__audit_id=pk).count() == 4

    submit_returns(owner)
    submit_returns(health_owner)
    assert step(lead, pk, "start_moderation") == "moderation"
    for reference in ("EHE-01", "EHE-02"):
        moderated = lead.post(
            f"/api/audits/{pk}/cases/{reference}/moderate/", {"agreed_grade": "good"}, format="json"
        )
        assert moderated.status_code == 200, moderated.json()
    assert step(lead, pk, "start_reporting") == "reporting"
    lead.post(f"/api/audits/{pk}/findings/", {"text": "Children were not seen alone"}, format="json")
    recommendation = lead.post(
        f"/api/audits/{pk}/recommendations/",
        {"text": "See the child alone at every visit", "reference": "R1"},
        format="json",
    )
    assert recommendation.status_code == 201
    assert step(lead, pk, "start_action_planning") == "action_planning"
    recommendation_id = recommendation.json()["recommendations"][0]
    action = lead.post(
        "/api/actions/",
        {
            "recommendation": recommendation_id,
            "description": "Brief every officer on seeing the child alone by March",
            "owner": owner.pk,
            "due_on": (timezone.localdate() + dt.timedelta(days=60)).isoformat(),
        },
        format="json",
    ).json()
    assert (
        api(auditor).post(f"/api/actions/{action['id']}/transitions/agree/", {}, format="json").status_code
        == 200
    )
    assert step(lead, pk, "start_monitoring") == "monitoring"

    refused = lead.post(f"/api/audits/{pk}/transitions/close/", {}, format="json")
    assert refused.status_code == 400
    assert "actions are open" in refused.json()["detail"]
    advance(Action.objects.get(pk=action["id"]), "completed", manager=manager)
    assert step(lead, pk, "close") == "closed"

    log = TransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(Audit), object_id=pk)
    assert [(e.from_state, e.to_state, e.actor) for e in log] == [
        ("commissioned", "scoping", auditor),
        ("scoping", "fieldwork", auditor),
        ("fieldwork", "moderation", auditor),
        ("moderation", "reporting", auditor),
        ("reporting", "action_planning", auditor),
        ("action_planning", "monitoring", auditor),
        ("monitoring", "closed", auditor),
    ]
    audit = Audit.objects.get(pk=pk)
    assert audit.state == AuditState.CLOSED and audit.closed_at is not None
    assert list(audit.history.order_by("history_date").values_list("state", flat=True)) == [
        "commissioned",
        "scoping",
        "fieldwork",
        "moderation",
        "reporting",
        "action_planning",
        "monitoring",
        "closed",
    ]
    assert {h.history_user for h in audit.history.all()} == {auditor}
    submitted = AgencyReturn.objects.filter(case__audit=audit, state="submitted")
    assert submitted.count() == 4
    assert (
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(AgencyReturn), transition="submit"
        ).count()
        == 4
    )


def test_transitions_lists_only_what_the_caller_may_do(
    fieldwork_audit: Audit, auditor: User, manager: User
) -> None:
    def names(user: User) -> list[str]:
        return [t["name"] for t in api(user).get(f"/api/audits/{fieldwork_audit.pk}/transitions/").json()]

    # Returns are outstanding: the auditor cannot move on; only a manager may override, with a reason.
    assert names(auditor) == ["cancel"]
    assert sorted(names(manager)) == ["cancel", "override_to_moderation"]


def test_stale_state_gets_409(fieldwork_audit: Audit, auditor: User) -> None:
    response = api(auditor).post(
        f"/api/audits/{fieldwork_audit.pk}/transitions/cancel/",
        {"comment": "x", "state": "scoping"},
        format="json",
    )
    assert response.status_code == 409


def test_someone_from_an_agency_not_taking_part_gets_404(fieldwork_audit: Audit, partnership: Agency) -> None:
    from tests.factories import AgencyFactory, person_in
    from workflows import roles

    outsider = person_in(AgencyFactory.create(name="Probation"), roles.AGENCY_LEAD)
    client = api(outsider)
    assert client.get(f"/api/audits/{fieldwork_audit.pk}/").status_code == 404
    assert client.get(f"/api/audits/{fieldwork_audit.pk}/transitions/").status_code == 404
    assert (
        client.post(
            f"/api/audits/{fieldwork_audit.pk}/transitions/cancel/", {"comment": "x"}, format="json"
        ).status_code
        == 404
    )
    assert client.get("/api/audits/").json()["count"] == 0
    assert client.get("/api/audit-returns/").json()["count"] == 0
