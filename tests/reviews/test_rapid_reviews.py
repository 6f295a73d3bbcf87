"""Rapid reviews walked from notified to closed, every guard tried, scoped to the agencies asked."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from notifications.models import OutboxEntry
from notifications.sweep import sweep
from reviews.models import Chronology, ChronologyState, PracticeReview, RapidReview
from reviews.selectors import ClockRow as ReviewClockRow
from reviews.selectors import review_dashboard
from reviews.services import (
    chronology_save,
    practice_review_create,
    rapid_review_ask_agency,
    rapid_review_create,
    rapid_review_update,
)
from tests.factories import AgencyFactory, person_in
from tests.reviews.conftest import NOTIFIED
from workflows import roles
from workflows.calendar import working_calendar
from workflows.models import Agency, StatutoryClock, TransitionLog
from workflows.transitions import TransitionRefused, transition_perform

pytestmark = pytest.mark.django_db


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def refused(review: RapidReview, name: str, actor: User) -> str:
    with pytest.raises(TransitionRefused) as refusal:
        transition_perform(obj=review, name=name, actor=actor)
    assert RapidReview.objects.get(pk=review.pk).state == review.state
    return str(refusal.value)


def clocks(review: RapidReview) -> dict[str, StatutoryClock]:
    found = StatutoryClock.objects.filter(
        source_type=ContentType.objects.get_for_model(RapidReview), source_id=review.pk
    )
    return {c.name: c for c in found}


def test_walk_a_rapid_review_from_notified_to_closed_through_the_api(
    manager: User,
    second_manager: User,
    owner: User,
    health_owner: User,
    health_lead: User,
    police: Agency,
    health: Agency,
    after_christmas: dt.date,
) -> None:
    lead = api(manager)
    created = lead.post(
        "/api/rapid-reviews/",
        {
            "reference": "RR-2026-01",
            "child_reference": "Child A",
            "incident_type": "serious_harm",
            "became_aware_on": "2026-12-17",
            "lead": manager.pk,
            "chair": second_manager.pk,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    review = RapidReview.objects.get(pk=pk)
    # Aware Thursday 17 December: five working days are Fri 18, Mon 21, Tue 22, Wed 23, Thu 24 December.
    assert clocks(review)["panel_notification"].due_on == dt.date(2026, 12, 24)
    assert "rapid_review" not in clocks(review)

    def step(name: str) -> str:
        response = lead.post(f"/api/rapid-reviews/{pk}/transitions/{name}/", {}, format="json")
        assert response.status_code == 200, response.json()
        return str(response.json()["state"])

    refusal = lead.post(
        f"/api/rapid-reviews/{pk}/transitions/start_information_gathering/", {}, format="json"
    )
    assert refusal.status_code == 400 and "date the national Panel was notified" in refusal.json()["detail"]
    assert (
        lead.patch(
            f"/api/rapid-reviews/{pk}/", {"notified_on": NOTIFIED.isoformat()}, format="json"
        ).status_code
        == 200
    )
    assert clocks(review)["panel_notification"].met_on == NOTIFIED
    assert clocks(review)["rapid_review"].due_on == dt.date(2027, 1, 14)
    assert (
        lead.post(
            f"/api/rapid-reviews/{pk}/agencies/", {"agency": police.pk, "owner": owner.pk}, format="json"
        ).status_code
        == 201
    )
    assert (
        lead.post(f"/api/rapid-reviews/{pk}/agencies/", {"agency": health.pk}, format="json").status_code
        == 201
    )
    assert {c.due_on for c in Chronology.objects.filter(review=review)} == {
        dt.date(2027, 1, 7)
    }  # working day 10
    assert step("start_information_gathering") == "information_gathering"

    for person in (owner, health_owner):
        client = api(person)
        (mine,) = client.get("/api/chronologies/").json()["results"]
        assert (
            client.patch(
                f"/api/chronologies/{mine['id']}/",
                {"summary": "Two contacts; shared with CSC"},
                format="json",
            ).status_code
            == 200
        )
        assert (
            client.post(f"/api/chronologies/{mine['id']}/transitions/submit/", {}, format="json").status_code
            == 200
        )

    assert (
        lead.patch(
            f"/api/rapid-reviews/{pk}/",
            {"panel_meeting_on": "2027-01-11", "attendees": "Police, ICB, CSC"},
            format="json",
        ).status_code
        == 200
    )
    assert step("hold_panel_meeting") == "panel_meeting"
    lead.patch(
        f"/api/rapid-reviews/{pk}/",
        {
            "decision": "lcspr_recommended",
            "decision_rationale": "Multi-agency learning about neglect",
            "immediate_learning": "Share the chronology template",
        },
        format="json",
    )
    assert step("record_decision") == "decision"
    assert step("submit_to_panel") == "submitted_to_panel"
    review.refresh_from_db()
    assert clocks(review)["rapid_review"].met_on == review.sent_to_panel_on is not None
    refusal = lead.post(f"/api/rapid-reviews/{pk}/transitions/close/", {}, format="json")
    assert refusal.status_code == 400 and "commission it before closing" in refusal.json()["detail"]
    practice = lead.post(
        "/api/practice-reviews/",
        {
            "reference": "LCSPR-1",
            "title": "Child A",
            "rapid_review": pk,
            "child_reference": "Child A",
            "decided_on": "2027-01-12",
            "lead": manager.pk,
        },
        format="json",
    )
    assert practice.status_code == 201, practice.json()
    assert step("close") == "closed"
    log = TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(RapidReview), object_id=pk
    )
    assert [e.to_state for e in log] == [
        "information_gathering",
        "panel_meeting",
        "decision",
        "submitted_to_panel",
        "closed",
    ]
    assert review.history.count() >= 8


def test_information_gathering_needs_an_agency_asked(rapid_review: RapidReview, manager: User) -> None:
    assert "ask at least one agency" in refused(rapid_review, "start_information_gathering", manager).lower()


def test_the_panel_meeting_and_decision_must_be_recorded(asked_review: RapidReview, manager: User) -> None:
    transition_perform(obj=asked_review, name="start_information_gathering", actor=manager)
    assert (
        refused(asked_review, "hold_panel_meeting", manager)
        == "Record the panel meeting's date and who attended"
    )
    rapid_review_update(
        review=asked_review, actor=manager, panel_meeting_on=dt.date(2027, 1, 11), attendees="Police"
    )
    transition_perform(
        obj=asked_review,
        name="hold_panel_meeting_without_chronologies",
        actor=manager,
        comment="The panel could not wait",
    )
    assert refused(asked_review, "record_decision", manager) == "Record the decision and its rationale"


def test_a_panel_that_meets_without_a_chronology_records_it_not_received_with_the_reason(
    asked_review: RapidReview, manager: User, owner: User
) -> None:
    transition_perform(obj=asked_review, name="start_information_gathering", actor=manager)
    police = Chronology.objects.get(review=asked_review, owner=owner)
    chronology_save(chronology=police, actor=owner, summary="Known since 2025", submit=True)
    rapid_review_update(
        review=asked_review, actor=manager, panel_meeting_on=dt.date(2027, 1, 11), attendees="Police"
    )
    assert refused(asked_review, "hold_panel_meeting", manager).startswith(
        "Chronologies are still outstanding"
    )
    client = Client()
    client.force_login(manager)
    page = client.get(f"/reviews/rapid/{asked_review.pk}/").content.decode()
    assert "Reason for “Record the panel meeting without the outstanding chronologies”" in page
    url = f"/reviews/rapid/{asked_review.pk}/transitions/hold_panel_meeting_without_chronologies/"
    refusal = client.post(url, {"state": "information_gathering", "comment": " "}, follow=True)
    assert "Say why the panel went ahead without every chronology" in refusal.content.decode()
    assert RapidReview.objects.get(pk=asked_review.pk).state == "information_gathering"
    response = api(manager).post(
        f"/api/rapid-reviews/{asked_review.pk}/transitions/hold_panel_meeting_without_chronologies/",
        {"comment": "Health could not send it in time; the panel could not wait"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    states = dict(Chronology.objects.filter(review=asked_review).values_list("agency__kind", "state"))
    assert states == {"police": ChronologyState.SUBMITTED, "health": ChronologyState.NOT_RECEIVED}
    health = Chronology.objects.get(review=asked_review, agency__kind="health")
    (logged,) = TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Chronology), object_id=health.pk
    )
    assert logged.comment == (
        "The panel met on 11 January 2027 without it: "
        "Health could not send it in time; the panel could not wait"
    )
    with pytest.raises(ValidationError, match="panel has met"):
        chronology_save(chronology=police, actor=owner, summary="late edit")


def test_an_agency_sees_its_own_chronology_only(
    asked_review: RapidReview, owner: User, health_owner: User
) -> None:
    police = Chronology.objects.get(review=asked_review, agency__kind="police")
    health = Chronology.objects.get(review=asked_review, agency__kind="health")
    client = Client()
    client.force_login(health_owner)
    assert client.get(f"/chronologies/{health.pk}/").status_code == 200
    assert client.get(f"/chronologies/{police.pk}/").status_code == 404
    assert client.post(f"/chronologies/{police.pk}/", {"summary": "x", "submit": "1"}).status_code == 404
    assert api(health_owner).get(f"/api/chronologies/{police.pk}/").status_code == 404
    page = client.get(f"/reviews/rapid/{asked_review.pk}/").content.decode()
    assert f"/chronologies/{health.pk}/" in page and f"/chronologies/{police.pk}/" not in page


def test_an_agency_not_asked_gets_404(asked_review: RapidReview) -> None:
    outsider = person_in(AgencyFactory.create(name="Probation"), roles.AGENCY_LEAD)
    client = Client()
    client.force_login(outsider)
    pk = asked_review.pk
    assert client.get(f"/reviews/rapid/{pk}/").status_code == 404
    assert client.get(f"/reviews/rapid/{pk}/edit/").status_code == 404
    for url in [
        f"/reviews/rapid/{pk}/transitions/close/",
        f"/reviews/rapid/{pk}/agencies/",
        f"/reviews/rapid/{pk}/recommendations/",
    ]:
        assert client.post(url, {}).status_code == 404, url
    assert api(outsider).get(f"/api/rapid-reviews/{pk}/").status_code == 404
    assert api(outsider).get("/api/rapid-reviews/").json()["count"] == 0
    assert "RR-2026-01" not in client.get("/reviews/").content.decode()


def test_an_agency_without_a_lead_needs_a_named_person(rapid_review: RapidReview, manager: User) -> None:
    with pytest.raises(ValidationError, match="has no agency lead"):
        rapid_review_ask_agency(
            review=rapid_review, actor=manager, agency=AgencyFactory.create(name="Youth Network")
        )


def test_child_references_are_pseudonymised(manager: User) -> None:
    with pytest.raises(ValidationError):
        rapid_review_create(
            actor=manager,
            reference="RR-X",
            child_reference="Jane Smith",
            incident_type="death",
            became_aware_on=dt.date(2026, 12, 1),
            lead=manager,
        )
    assert not RapidReview.objects.exists()


def test_clocks_and_chronologies_are_chased(
    asked_review: RapidReview, manager: User, chasing_on, owner: User
) -> None:  # type: ignore[no-untyped-def]
    transition_perform(obj=asked_review, name="start_information_gathering", actor=manager)
    # Two working days before the review's clock runs out, and the chronologies due last Thursday: their
    # due-date notice (never sent, as no sweep ran then) goes out now, to the owner or the agency's lead.
    sweep(on=dt.date(2027, 1, 12))
    chased = set(OutboxEntry.objects.values_list("item_type__model", "recipient__username", "rule"))
    assert ("statutoryclock", "manager", "remind_second") in chased
    assert ("chronology", "police.owner", "due") in chased
    assert ("chronology", "health.lead", "due") in chased


def test_the_practice_review_is_commissioned_once(asked_review: RapidReview, manager: User) -> None:
    practice_review_create(
        actor=manager,
        reference="L-1",
        title="Child A",
        rapid_review=asked_review,
        decided_on=dt.date(2027, 1, 12),
        lead=manager,
    )
    with pytest.raises(ValidationError, match="already has its practice review"):
        practice_review_create(
            actor=manager,
            reference="L-2",
            title="Child A",
            rapid_review=asked_review,
            decided_on=dt.date(2027, 1, 12),
            lead=manager,
        )


def test_the_review_page_shows_its_timeline(asked_review: RapidReview, manager: User, owner: User) -> None:
    transition_perform(
        obj=asked_review, name="start_information_gathering", actor=manager, comment="All asked"
    )
    chronology_save(chronology=Chronology.objects.get(owner=owner), actor=owner, summary="Known", submit=True)
    client = Client()
    client.force_login(manager)
    page = client.get(f"/reviews/rapid/{asked_review.pk}/").content.decode()
    assert "Start information gathering (chronologies become due): Notified → Information gathering" in page
    assert "Chronology (Greater Manchester Police): Submit the chronology: Owed → Submitted" in page


def test_a_manager_commissions_the_practice_review_from_the_rapid_reviews_page(
    asked_review: RapidReview, manager: User
) -> None:
    client = Client()
    client.force_login(manager)
    form = client.get(f"/reviews/practice/new/?rapid_review={asked_review.pk}")
    assert form.status_code == 200
    response = client.post(
        f"/reviews/practice/new/?rapid_review={asked_review.pk}",
        {
            "reference": "L-1",
            "rapid_review": asked_review.pk,
            "title": "Child A",
            "child_reference": "Child A",
            "decided_on": "2027-01-12",
            "lead": manager.username,
        },
        follow=True,
    )
    page = response.content.decode()
    assert "already has its practice review" not in page
    practice = PracticeReview.objects.get(rapid_review=asked_review)
    assert response.redirect_chain[-1][0] == f"/reviews/practice/{practice.pk}/"
    # The second attempt, from a page loaded before the first, is still refused.
    again = client.post(
        "/reviews/practice/new/",
        {
            "reference": "L-2",
            "rapid_review": asked_review.pk,
            "title": "Child A",
            "child_reference": "Child A",
            "decided_on": "2027-01-12",
            "lead": manager.username,
        },
    )
    assert again.status_code == 200 and "already" in again.content.decode()
    assert PracticeReview.objects.count() == 1


def test_a_manager_cannot_record_the_panel_notified_before_the_authority_knew_or_in_the_future(
    rapid_review: RapidReview, manager: User, after_christmas: dt.date
) -> None:
    before = "Date the national Panel was notified cannot be before the date the local authority became aware"
    tomorrow = (after_christmas + dt.timedelta(days=1)).isoformat()
    client = Client()
    client.force_login(manager)
    edit = f"/reviews/rapid/{rapid_review.pk}/edit/"
    fields = {
        "child_reference": "Child A",
        "incident_type": "serious_harm",
        "became_aware_on": "2026-12-17",
        "lead": manager.username,
    }
    page = client.post(edit, {**fields, "notified_on": "2026-12-16"}).content.decode()
    assert f"{before} (17 December 2026)" in page
    page = client.post(edit, {**fields, "notified_on": tomorrow}).content.decode()
    assert "Date the national Panel was notified cannot be in the future" in page
    page = client.post(
        edit, {**fields, "notified_on": "2026-12-21", "panel_meeting_on": tomorrow}
    ).content.decode()
    assert "Date of the panel meeting cannot be in the future" in page
    create = client.post("/reviews/rapid/new/", {**fields, "reference": "RR-F", "became_aware_on": tomorrow})
    assert "Date the local authority became aware cannot be in the future" in create.content.decode()

    response = api(manager).patch(
        f"/api/rapid-reviews/{rapid_review.pk}/", {"notified_on": "2026-12-16"}, format="json"
    )
    assert response.status_code == 400 and before in str(response.json())
    page = client.post(edit, {**fields, "notified_on": "2026-12-21"}, follow=True).content.decode()
    assert "cannot be" not in page and "Saved" in page
    response = api(manager).post(
        "/api/rapid-reviews/",
        {**fields, "reference": "RR-F", "lead": manager.pk, "notified_on": tomorrow},
        format="json",
    )
    assert response.status_code == 400 and "cannot be in the future" in str(response.json())
    rapid_review.refresh_from_db()
    assert rapid_review.notified_on == NOTIFIED and RapidReview.objects.count() == 1


def test_a_practice_review_cannot_be_published_before_it_was_decided_or_in_the_future(
    manager: User, after_christmas: dt.date
) -> None:
    with pytest.raises(ValidationError, match="cannot be published before it was decided on"):
        practice_review_create(
            actor=manager,
            reference="L-9",
            title="Child B",
            child_reference="Child B",
            decided_on=dt.date(2027, 1, 12),
            published_on=dt.date(2027, 1, 11),
            lead=manager,
        )
    with pytest.raises(ValidationError, match="cannot be in the future"):
        practice_review_create(
            actor=manager,
            reference="L-9",
            title="Child B",
            child_reference="Child B",
            decided_on=after_christmas + dt.timedelta(days=1),
            lead=manager,
        )


def test_a_review_four_working_days_from_its_deadline_with_no_panel_meeting_is_at_risk(
    manager: User, after_christmas: dt.date
) -> None:
    notified = working_calendar().add_working_days(after_christmas, -11)
    review = rapid_review_create(
        actor=manager,
        reference="RR-P12",
        child_reference="Child G",
        incident_type="serious_harm",
        became_aware_on=notified - dt.timedelta(days=1),
        notified_on=notified,
        lead=manager,
    )

    def running() -> dict[str, ReviewClockRow]:
        return {row.clock.name: row for row in review_dashboard(manager, on=after_christmas)}

    rows = running()
    assert rows["rapid_review"].left == 4 and rows["rapid_review"].status == "at risk"
    assert rows["review_panel"].due_on == dt.date(2027, 2, 2) and rows["review_panel"].status == "at risk"
    said = "The panel meeting is due by Tue 2 Feb 2027 and is not recorded"
    client = Client()
    client.force_login(manager)
    assert said in client.get("/reviews/").content.decode()
    assert said in client.get(f"/reviews/rapid/{review.pk}/").content.decode()

    rapid_review_update(review=review, actor=manager, panel_meeting_on=after_christmas, attendees="Police")
    rows = running()
    assert rows["rapid_review"].status == "on track" and "review_panel" not in rows
    assert said not in client.get("/reviews/").content.decode()


def test_my_work_lists_the_chronologies_waiting_on_me(
    asked_review: RapidReview, owner: User, health_lead: User, health_owner: User
) -> None:
    police = Chronology.objects.get(review=asked_review, agency__kind="police")
    health = Chronology.objects.get(review=asked_review, agency__kind="health")

    def my_work(user: User) -> str:
        client = Client()
        client.force_login(user)
        return client.get("/my-work/").content.decode()

    # The police named their owner; the ICB named nobody, so its lead is asked and its other people not.
    assert f"/chronologies/{police.pk}/" in my_work(owner) and f"/chronologies/{health.pk}/" not in my_work(
        owner
    )
    assert f"/chronologies/{health.pk}/" in my_work(health_lead)
    assert "/chronologies/" not in my_work(health_owner)
