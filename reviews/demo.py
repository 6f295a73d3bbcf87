"""Demo reviews: a rapid review running out of time, a practice review at draft report, and a published
one whose actions are overdue. Safe to run again: a review that exists already is left as it is."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from workflows.calendar import working_calendar
from workflows.demo import DemoContext
from workflows.services.actions import action_transition
from workflows.transitions import transition_perform

from .models import Chronology, PracticeReview, RapidReview
from .services import (
    chronology_save,
    practice_review_create,
    practice_review_update,
    rapid_review_ask_agency,
    rapid_review_create,
    review_add_action,
    review_add_recommendation,
)


def seed(context: DemoContext) -> None:
    with transaction.atomic():
        _rapid_review(context)
        _draft_report(context)
        _published(context)


def _rapid_review(context: DemoContext) -> None:
    """Information gathering with 4 working days left on the clock; the ICB's chronology a day late."""
    if RapidReview.objects.filter(reference="RR-2026-03").exists():
        return
    manager, chair = context.users["manager"], context.users["chair"]
    calendar = working_calendar()
    notified_on = calendar.add_working_days(timezone.localdate(), 4 - 15)
    review = rapid_review_create(
        actor=manager,
        reference="RR-2026-03",
        child_reference="Child C",
        incident_type=RapidReview.IncidentType.SERIOUS_HARM,
        incident_summary="A nine-month-old admitted to hospital with unexplained injuries.",
        became_aware_on=calendar.add_working_days(notified_on, -2),
        notified_on=notified_on,
        lead=manager,
        chair=chair,
    )
    for username in ("police.owner", "health.owner", "csc.owner"):
        user = context.users[username]
        rapid_review_ask_agency(review=review, actor=manager, agency=user.person.agency, owner=user)
    transition_perform(obj=review, name="start_information_gathering", actor=manager)
    for chronology in Chronology.objects.filter(review=review).select_related("owner"):
        if chronology.owner == context.users["health.owner"]:
            continue  # the overdue one
        assert chronology.owner is not None
        chronology_save(
            chronology=chronology,
            actor=chronology.owner,
            summary="Contacts with the family in the six months before the incident, and what was shared.",
            submit=True,
        )


def _draft_report(context: DemoContext) -> None:
    if PracticeReview.objects.filter(reference="LCSPR-2026-01").exists():
        return
    manager = context.users["manager"]
    review = practice_review_create(
        actor=manager,
        reference="LCSPR-2026-01",
        title="Child B: neglect and missed appointments",
        child_reference="Child B",
        decided_on=timezone.localdate() - dt.timedelta(days=120),
        lead=manager,
        chair=context.users["chair"],
    )
    for name, changes in [
        ("appoint_reviewer", {"reviewer": "Independent reviewer (commissioned)"}),
        ("start_review", {"terms_of_reference": "How agencies recognised and responded to neglect."}),
        (
            "receive_draft",
            {
                "practitioner_involvement": "Two practitioner learning events.",
                "family_involvement": "The child's mother met the reviewer twice.",
            },
        ),
    ]:
        practice_review_update(review=review, actor=manager, **changes)
        transition_perform(obj=review, name=name, actor=manager)


def _published(context: DemoContext) -> None:
    if PracticeReview.objects.filter(reference="LCSPR-2025-02").exists():
        return
    manager, today = context.users["manager"], timezone.localdate()
    review = practice_review_create(
        actor=manager,
        reference="LCSPR-2025-02",
        title="Child D: adolescent exploitation",
        child_reference="Child D",
        decided_on=today - dt.timedelta(days=300),
        lead=manager,
        chair=context.users["chair"],
    )
    practice_review_update(
        review=review,
        actor=manager,
        reviewer="Independent reviewer",
        terms_of_reference="Contextual safeguarding and transitions to adult services.",
        practitioner_involvement="Practitioner workshop.",
        family_involvement="The family chose not to take part.",
        published_on=today - dt.timedelta(days=90),
        publication_url="https://www.oldhamscp.co.uk/",
    )
    for name in ("appoint_reviewer", "start_review", "receive_draft", "finalise", "publish"):
        transition_perform(obj=review, name=name, actor=manager)
    recommendation = review_add_recommendation(
        review=review, actor=manager, reference="D-R1", text="Agencies share exploitation concerns at once"
    )
    transition_perform(obj=review, name="start_action_planning", actor=manager)
    for username, description, due_in in [
        ("police.owner", "Brief neighbourhood teams on the exploitation pathway", -21),
        ("earlyhelp.owner", "Add exploitation screening to early help assessments", -45),
    ]:
        action = review_add_action(
            review=review,
            recommendation=recommendation,
            actor=manager,
            description=description,
            owner=context.users[username],
            due_on=today + dt.timedelta(days=due_in),
        )
        action_transition(
            action=action, actor=manager, name="agree", comment="Agreed at the review's action planning"
        )
        action_transition(action=action, actor=context.users[username], name="start")
    transition_perform(obj=review, name="start_monitoring", actor=manager)
