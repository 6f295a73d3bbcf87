"""Local child safeguarding practice reviews from commissioned to closed, every guard tried; and the
reviews dashboard, sorted by working days left."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from reviews.models import PracticeReview, RapidReview
from reviews.selectors import review_dashboard
from reviews.services import (
    practice_review_create,
    practice_review_update,
    rapid_review_create,
    review_add_action,
    review_add_recommendation,
)
from tests.workflows.helpers import advance
from workflows.models import Action, StatutoryClock
from workflows.transitions import TransitionRefused, transition_perform

pytestmark = pytest.mark.django_db


def refused(review: PracticeReview, name: str, actor: User) -> str:
    with pytest.raises(TransitionRefused) as refusal:
        transition_perform(obj=review, name=name, actor=actor)
    assert PracticeReview.objects.get(pk=review.pk).state == review.state
    return str(refusal.value)


def test_walk_a_practice_review_from_commissioned_to_closed_trying_every_guard(
    manager: User, owner: User
) -> None:
    review = practice_review_create(
        actor=manager,
        reference="LCSPR-1",
        title="Child B",
        child_reference="Child B",
        decided_on=timezone.localdate(),
        lead=manager,
    )
    clock = StatutoryClock.objects.get(name="practice_review")
    assert clock.due_on.month == (timezone.localdate().month + 6 - 1) % 12 + 1

    def go(name: str, **changes: object) -> None:
        if changes:
            practice_review_update(review=review, actor=manager, **changes)
        transition_perform(obj=review, name=name, actor=manager)

    assert refused(review, "appoint_reviewer", manager) == "Name the independent reviewer first"
    go("appoint_reviewer", reviewer="Dr A Reviewer")
    assert refused(review, "start_review", manager) == "Agree the terms of reference before the review starts"
    go("start_review", terms_of_reference="How agencies responded to neglect")
    assert "how practitioners and the family were involved" in refused(review, "receive_draft", manager)
    go(
        "receive_draft",
        practitioner_involvement="Two workshops",
        family_involvement="Mother met the reviewer",
    )
    go("finalise")
    assert "publication date" in refused(review, "publish", manager)
    go("publish", published_on=timezone.localdate(), publication_url="https://example.org/lcspr-child-b")
    assert StatutoryClock.objects.get(pk=clock.pk).met_on == timezone.localdate()
    recommendation = review_add_recommendation(review=review, actor=manager, text="Use the neglect toolkit")
    go("start_action_planning")
    assert "Every recommendation needs" in refused(review, "start_monitoring", manager)
    action = review_add_action(
        review=review,
        recommendation=recommendation,
        actor=manager,
        description="Train staff",
        owner=owner,
        due_on=timezone.localdate() + dt.timedelta(days=30),
    )
    advance(action, "agreed", manager=manager)
    go("start_monitoring")
    assert "cannot close while actions are open" in refused(review, "close", manager)
    advance(Action.objects.get(pk=action.pk), "completed", manager=manager)
    go("close")
    assert review.state == "closed"
    assert list(review.history.order_by("history_date").values_list("state", flat=True))[-1] == "closed"


def test_monitoring_needs_recommendations(manager: User) -> None:
    review = practice_review_create(
        actor=manager,
        reference="L2",
        title="x",
        child_reference="Child C",
        decided_on=timezone.localdate(),
        lead=manager,
    )
    steps: list[tuple[str, dict[str, object]]] = [
        ("appoint_reviewer", {"reviewer": "R"}),
        ("start_review", {"terms_of_reference": "T"}),
        ("receive_draft", {"practitioner_involvement": "P", "family_involvement": "Declined"}),
        ("finalise", {}),
        ("publish", {"published_on": timezone.localdate(), "publication_url": "https://example.org/r"}),
        ("start_action_planning", {}),
    ]
    for name, changes in steps:
        if changes:
            practice_review_update(review=review, actor=manager, **changes)
        transition_perform(obj=review, name=name, actor=manager)
    assert (
        refused(review, "start_monitoring", manager) == "Add the review's recommendations before monitoring"
    )


def test_the_dashboard_sorts_clocks_by_working_days_left_and_flags_risk(
    manager: User, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()

    def notified(reference: str, on: dt.date) -> RapidReview:
        return rapid_review_create(
            actor=manager,
            reference=reference,
            child_reference="Child D",
            incident_type="death",
            became_aware_on=on - dt.timedelta(days=1),
            notified_on=on,
            lead=manager,
        )

    fresh = notified("RR-FRESH", today)
    late = notified("RR-LATE", today - dt.timedelta(days=40))
    with django_assert_max_num_queries(6):
        rows = review_dashboard(manager, on=today)
    assert [(row.review.reference, row.clock.name, row.status) for row in rows] == [
        ("RR-LATE", "review_panel", "late"),
        ("RR-LATE", "rapid_review", "late"),
        ("RR-FRESH", "review_panel", "on track"),
        ("RR-FRESH", "rapid_review", "on track"),
    ]
    assert rows[0].overdue_by > rows[1].overdue_by > 0 and rows[2].left == 12 and rows[3].left == 15
    client = Client()
    client.force_login(manager)
    page = client.get("/reviews/").content.decode()
    assert page.index("RR-LATE") < page.index("RR-FRESH") and "Late by" in page
    assert fresh.pk and late.pk


def test_review_pages_render(manager: User) -> None:
    review = rapid_review_create(
        actor=manager,
        reference="RR-P",
        child_reference="Child E",
        incident_type="death",
        became_aware_on=timezone.localdate(),
        lead=manager,
    )
    practice = practice_review_create(
        actor=manager,
        reference="L-P",
        title="x",
        rapid_review=review,
        decided_on=timezone.localdate(),
        lead=manager,
    )
    client = Client()
    client.force_login(manager)
    for url in [
        "/reviews/",
        "/reviews/rapid/new/",
        f"/reviews/rapid/{review.pk}/",
        f"/reviews/rapid/{review.pk}/edit/",
        "/reviews/practice/new/",
        f"/reviews/practice/{practice.pk}/",
        f"/reviews/practice/{practice.pk}/edit/",
    ]:
        assert client.get(url).status_code == 200, url
    assert client.get(f"/reviews/other/{review.pk}/edit/").status_code == 404
    clock = StatutoryClock.objects.filter(name="panel_notification").get()
    assert client.get(f"/clocks/{clock.pk}/")["Location"] == f"/reviews/rapid/{review.pk}/"


def test_an_owner_cannot_run_reviews(owner: User) -> None:
    client = Client()
    client.force_login(owner)
    assert client.get("/reviews/rapid/new/").status_code == 403
    assert client.get("/reviews/practice/new/").status_code == 403


def test_the_demo_has_the_three_reviews() -> None:
    from django.core.management import call_command

    from reviews.models import Chronology

    call_command("seed_demo")
    call_command("seed_demo")
    rapid = RapidReview.objects.get(reference="RR-2026-03")
    assert rapid.state == "information_gathering"
    manager = User.objects.get(username="manager")
    rows = {r.clock.name: r for r in review_dashboard(manager, on=timezone.localdate()) if r.review == rapid}
    # Four working days left and no panel yet: the panel milestone (working day 12) puts it at risk.
    assert rows["rapid_review"].left == 4 and rows["rapid_review"].status == "at risk"
    assert rows["review_panel"].left == 1 and rows["review_panel"].status == "at risk"
    overdue = Chronology.objects.filter(review=rapid, state="owed")
    assert [c.agency.kind for c in overdue] == ["health"] and overdue[0].due_on < timezone.localdate()
    assert PracticeReview.objects.get(reference="LCSPR-2026-01").state == "draft_report"
    published = PracticeReview.objects.get(reference="LCSPR-2025-02")
    assert published.state == "monitoring"
    overdue_actions = Action.objects.filter(
        recommendation__practice_review=published, due_on__lt=timezone.localdate()
    )
    assert overdue_actions.count() == 2
