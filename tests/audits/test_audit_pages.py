"""The audit pages as each person sees them: scoped to their agency, offering only what they may do."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from audits.models import Audit, Grade, ReturnState
from tests.audits.helpers import answer, returns_of
from tests.factories import AgencyFactory, person_in
from workflows import roles
from workflows.models import Agency

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_agency_sees_its_own_returns_and_not_another_agencys(
    fieldwork_audit: Audit, owner: User, health_owner: User
) -> None:
    police_return = next(r for r in returns_of(fieldwork_audit) if r.owner == owner)
    health_return = next(r for r in returns_of(fieldwork_audit) if r.owner is None)
    police, health = client_for(owner), client_for(health_owner)
    assert police.get(f"/returns/{police_return.pk}/").status_code == 200
    assert police.get(f"/returns/{health_return.pk}/").status_code == 404
    assert health.get(f"/returns/{police_return.pk}/").status_code == 404
    # Posting to another agency's return changes nothing.
    assert health.post(f"/returns/{police_return.pk}/", {"knew": "x", "submit": "1"}).status_code == 404
    page = police.get(f"/audits/{fieldwork_audit.pk}/").content.decode()
    assert "Greater Manchester Police" in page and f"/returns/{health_return.pk}/" not in page
    assert police.get(f"/api/audit-returns/{health_return.pk}/").status_code == 404


def test_someone_from_an_agency_not_taking_part_gets_404_everywhere(fieldwork_audit: Audit) -> None:
    outsider = client_for(person_in(AgencyFactory.create(name="Probation"), roles.AGENCY_LEAD))
    pk = fieldwork_audit.pk
    case = fieldwork_audit.cases.first()
    assert case is not None
    for url in [f"/audits/{pk}/", f"/audits/{pk}/edit/"]:
        assert outsider.get(url).status_code == 404, url
    for url in [
        f"/audits/{pk}/transitions/cancel/",
        f"/audits/{pk}/cases/",
        f"/audits/{pk}/agencies/",
        f"/audits/{pk}/cases/{case.pk}/moderate/",
        f"/audits/{pk}/findings/",
        f"/audits/{pk}/recommendations/",
        f"/audits/{pk}/no-recommendations/",
    ]:
        assert outsider.post(url, {"comment": "x"}).status_code == 404, url
    assert "EHE-2026" not in outsider.get("/audits/").content.decode()


def test_a_person_of_the_agency_fills_in_and_submits_a_return(fieldwork_audit: Audit, owner: User) -> None:
    agency_return = next(r for r in returns_of(fieldwork_audit) if r.owner == owner)
    client = client_for(owner)
    form = {
        "knew": "Known since 2024",
        "did": "Visited twice",
        "strengths": "Quick",
        "shortfalls": "",
        "own_grade": "good",
    }
    response = client.post(f"/returns/{agency_return.pk}/", {**form, "submit": "1"}, follow=True)
    assert "Answer every question" in response.content.decode()
    agency_return.refresh_from_db()
    assert agency_return.state == ReturnState.OWED and agency_return.knew == ""
    response = client.post(
        f"/returns/{agency_return.pk}/", {**form, "shortfalls": "None seen", "submit": "1"}, follow=True
    )
    assert "Return submitted" in response.content.decode()
    agency_return.refresh_from_db()
    assert agency_return.state == ReturnState.SUBMITTED and agency_return.submitted_by == owner


def test_the_audit_page_offers_only_what_the_viewer_may_do(
    fieldwork_audit: Audit, auditor: User, manager: User, owner: User
) -> None:
    def buttons(user: User) -> set[str]:
        page = client_for(user).get(f"/audits/{fieldwork_audit.pk}/").content.decode()
        return {
            name
            for name in ("override_to_moderation", "start_moderation", "cancel")
            if f"/transitions/{name}/" in page
        }

    assert buttons(owner) == set()
    assert buttons(auditor) == {"cancel"}
    assert buttons(manager) == {"override_to_moderation", "cancel"}
    for agency_return in returns_of(fieldwork_audit):
        answer(agency_return, owner if agency_return.owner == owner else person_in(agency_return.agency))
    assert buttons(auditor) == {"start_moderation", "cancel"}


def test_a_refused_transition_on_the_page_says_why(
    scoped_audit: Audit, auditor: User, police: Agency
) -> None:
    scoped_audit.cases.all().delete()
    response = client_for(auditor).post(
        f"/audits/{scoped_audit.pk}/transitions/start_fieldwork/", {"state": "scoping"}, follow=True
    )
    assert "Fieldwork needs at least one case" in response.content.decode()
    assert Audit.objects.get(pk=scoped_audit.pk).state == "scoping"


def test_audit_list_runs_a_fixed_number_of_queries(
    auditor: User,
    scoped_audit: Audit,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    from audits.services.audits import audit_create

    for n in range(15):
        audit_create(actor=auditor, reference=f"X-{n}", title=f"Audit {n}")
    client = client_for(auditor)
    with django_assert_max_num_queries(8):
        response = client.get("/audits/")
    assert response.content.decode().count("/audits/") > 15


def test_audit_page_queries_do_not_grow_with_the_returns(
    fieldwork_audit: Audit,
    manager: User,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    client = client_for(manager)
    client.get(f"/audits/{fieldwork_audit.pk}/")
    with django_assert_max_num_queries(40) as first:
        client.get(f"/audits/{fieldwork_audit.pk}/")
    assert len(returns_of(fieldwork_audit)) == 4
    from audits.models import AgencyReturn, AuditCase

    extra = AuditCase.objects.bulk_create(
        AuditCase(audit=fieldwork_audit, reference=f"EHE-{n}") for n in range(10, 30)
    )
    AgencyReturn.objects.bulk_create(
        AgencyReturn(case=case, agency=p.agency, due_on=fieldwork_audit.returns_due_on, title="r")  # type: ignore[misc]
        for case in extra
        for p in fieldwork_audit.participations.all()
    )
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(f"/audits/{fieldwork_audit.pk}/")


def test_every_audit_page_renders_for_a_manager(fieldwork_audit: Audit, manager: User) -> None:
    client = client_for(manager)
    for url in [
        "/audits/",
        "/audits/new/",
        f"/audits/{fieldwork_audit.pk}/",
        f"/audits/{fieldwork_audit.pk}/edit/",
    ]:
        assert client.get(url).status_code == 200, url
    agency_return = returns_of(fieldwork_audit)[0]
    assert client.get(f"/returns/{agency_return.pk}/").status_code == 200


def test_an_owner_may_not_commission_an_audit(owner: User) -> None:
    assert client_for(owner).get("/audits/new/").status_code == 403


def test_my_work_lists_the_returns_waiting_on_me(
    fieldwork_audit: Audit, owner: User, health_lead: User, health_owner: User
) -> None:
    police_page = client_for(owner).get("/my-work/").content.decode()
    assert police_page.count("EHE-2026 audit return for case") == 2
    # The ICB named nobody: its lead sees the returns; its other people are not asked.
    assert client_for(health_lead).get("/my-work/").content.decode().count("audit return for case") == 2
    assert "audit return for case" not in client_for(health_owner).get("/my-work/").content.decode()
    answer(returns_of(fieldwork_audit)[0], owner)
    assert client_for(owner).get("/my-work/").content.decode().count("audit return for case") == 1


def test_the_demo_has_the_business_plans_two_audits() -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from audits.models import AgencyReturn
    from workflows.models import Action

    call_command("seed_demo")
    call_command("seed_demo")  # again: nothing doubles
    ehe = Audit.objects.get(reference="EHE-2019")
    assert ehe.state == "fieldwork"
    owed = AgencyReturn.objects.filter(case__audit=ehe, state=ReturnState.OWED)
    assert [(r.case.reference, r.agency.kind) for r in owed] == [("EHE-03", "health")]
    assert owed[0].due_on < timezone.localdate()
    neglect = Audit.objects.get(reference="NT-2020")
    assert neglect.state == "monitoring" and neglect.cases.count() == 50
    actions = Action.objects.filter(recommendation__audit=neglect)
    assert actions.filter(due_on__lt=timezone.localdate(), state="in_progress").count() == 2


def test_audit_page_timeline_shows_grade_labels_not_slugs(
    client: Client, fieldwork_audit: Audit, owner: User, auditor: User
) -> None:
    police_return = next(r for r in returns_of(fieldwork_audit) if r.owner == owner)
    answer(police_return, owner, grade=Grade.GOOD, submit=False)
    answer(police_return, owner, grade=Grade.REQUIRES_IMPROVEMENT, submit=False)
    client.force_login(auditor)
    page = client.get(reverse("audit-detail", args=[fieldwork_audit.pk])).content.decode()
    assert "Good → Requires improvement" in page
    assert "requires_improvement" not in page.split("Timeline")[-1]


def test_returns_opened_at_fieldwork_are_in_their_history_with_who_opened_them(
    fieldwork_audit: Audit, auditor: User
) -> None:
    for agency_return in returns_of(fieldwork_audit):
        created = agency_return.history.get(history_type="+")
        assert (created.history_user, created.history_change_reason) == (
            auditor,
            "Owed from the start of fieldwork",
        )
