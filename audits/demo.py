"""Demo audits: the two the business plan names (objectives 5.2 and 9.2), at the stages that show the most.

Safe to run again: an audit that exists already is left as it is.
"""

from __future__ import annotations

import datetime as dt
from itertools import cycle

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from workflows.demo import DemoContext
from workflows.models import Agency, Theme
from workflows.services.actions import action_transition
from workflows.transitions import transition_perform

from .models import (
    AgencyReturn,
    Audit,
    Finding,
    Framework,
    Grade,
    Rating,
    Section11Cycle,
    Section11Return,
    Standard,
)
from .section11_defaults import install_default
from .services.audits import (
    audit_add_action,
    audit_add_agency,
    audit_add_case,
    audit_add_recommendation,
    audit_create,
    case_moderate,
    finding_add,
    return_save,
)
from .services.section11 import (
    challenge_respond,
    challenge_review,
    cycle_add_agency,
    cycle_create,
    rating_add_evidence,
    rating_save,
    return_assign_reviewer,
)

ANSWERS = {
    "knew": "The family was known to the agency before the period under audit.",
    "did": "Contact recorded; information shared with the lead professional.",
    "strengths": "Information was shared promptly.",
    "shortfalls": "The child's own views were not recorded.",
}


def seed(context: DemoContext) -> None:
    with transaction.atomic():
        _elective_home_education(context)
        _neglect_toolkit(context)
        _section11(context)


def _agency(context: DemoContext, username: str) -> Agency:
    return context.users[username].person.agency


def _elective_home_education(context: DemoContext) -> None:
    """In fieldwork: every return in but the ICB's for one case, five days late."""
    if Audit.objects.filter(reference="EHE-2019").exists():
        return
    auditor, chair = context.users["auditor"], context.users["chair"]
    today = timezone.localdate()
    audit = audit_create(
        actor=auditor,
        reference="EHE-2019",
        title="Multi-agency audit of elective home education",
        kind=Audit.Kind.THEMATIC,
        theme=Theme.objects.get_or_create(
            name="Children missing from education including elective home education"
        )[0],
        terms_of_reference="How agencies understand why children are electively home educated, and whether "
        "the support offer and safeguarding response are right.",
        lead_auditor=auditor,
        commissioning_group="Learning and Improvement subgroup",
        chair=chair,
        scoping_due_on=today - dt.timedelta(days=40),
        returns_due_on=today - dt.timedelta(days=5),
        moderation_due_on=today + dt.timedelta(days=14),
        reporting_due_on=today + dt.timedelta(days=42),
    )
    transition_perform(obj=audit, name="start_scoping", actor=auditor, comment="Commissioned by the subgroup")
    for reference in ("EHE-01", "EHE-02", "EHE-03"):
        audit_add_case(audit=audit, actor=auditor, reference=reference)
    completers = ["education.owner", "earlyhelp.owner", "csc.owner", "health.owner"]
    for username in completers:
        audit_add_agency(
            audit=audit, actor=auditor, agency=_agency(context, username), contact=context.users[username]
        )
    transition_perform(obj=audit, name="start_fieldwork", actor=auditor)
    grades = cycle([Grade.GOOD, Grade.REQUIRES_IMPROVEMENT, Grade.GOOD])
    for agency_return in AgencyReturn.objects.filter(case__audit=audit).select_related("owner", "case"):
        if agency_return.case.reference == "EHE-03" and agency_return.owner == context.users["health.owner"]:
            continue  # the one overdue return, chased by the daily sweep
        assert agency_return.owner is not None
        return_save(
            agency_return=agency_return,
            actor=agency_return.owner,
            submit=True,
            own_grade=next(grades),
            **ANSWERS,
        )


def _neglect_toolkit(context: DemoContext) -> None:
    """In monitoring: 50 social care cases graded, two recommendations, some of their actions overdue."""
    if Audit.objects.filter(reference="NT-2020").exists():
        return
    auditor, manager, chair = context.users["auditor"], context.users["manager"], context.users["chair"]
    today = timezone.localdate()
    audit = audit_create(
        actor=auditor,
        reference="NT-2020",
        title="Desktop audit: effectiveness of the neglect practice toolkit",
        kind=Audit.Kind.DESKTOP,
        theme=Theme.objects.get_or_create(name="Neglect")[0],
        terms_of_reference="Evaluate the effectiveness of the neglect practice toolkit in supporting "
        "practitioners' assessment and planning (business plan objective 9.2).",
        lead_auditor=auditor,
        commissioning_group="Learning and Improvement subgroup",
        chair=chair,
        returns_due_on=today - dt.timedelta(days=200),
    )
    transition_perform(obj=audit, name="start_scoping", actor=auditor)
    for number in range(1, 51):
        audit_add_case(audit=audit, actor=auditor, reference=f"NT-{number:03d}")
    for username in ("csc.owner", "earlyhelp.owner"):
        audit_add_agency(
            audit=audit, actor=auditor, agency=_agency(context, username), contact=context.users[username]
        )
    transition_perform(obj=audit, name="start_fieldwork", actor=auditor)
    grades = cycle([Grade.GOOD, Grade.REQUIRES_IMPROVEMENT, Grade.GOOD, Grade.INADEQUATE, Grade.OUTSTANDING])
    agreed = {}
    for case in audit.cases.all():
        grade = next(grades)
        agreed[case.pk] = grade
        for agency_return in AgencyReturn.objects.filter(case=case).select_related("owner"):
            assert agency_return.owner is not None
            return_save(
                agency_return=agency_return,
                actor=agency_return.owner,
                submit=True,
                own_grade=grade,
                **ANSWERS,
            )
    transition_perform(obj=audit, name="start_moderation", actor=auditor)
    for case in audit.cases.all():
        case_moderate(case=case, actor=auditor, agreed_grade=agreed[case.pk])
    transition_perform(obj=audit, name="start_reporting", actor=auditor)
    finding_add(
        audit=audit,
        actor=auditor,
        kind=Finding.Kind.STRENGTH,
        text="Where the toolkit was used, assessments described the child's daily lived experience well.",
    )
    finding_add(
        audit=audit,
        actor=auditor,
        text="The toolkit was used in fewer than half of the 50 cases, and rarely revisited at review.",
    )
    plans = [
        (
            "NT-R1",
            "Embed the neglect toolkit in assessment and review",
            [
                ("csc.owner", "Add the toolkit to the assessment template and audit its use quarterly", -30),
                ("earlyhelp.owner", "Train early help practitioners in the toolkit", -10),
            ],
        ),
        (
            "NT-R2",
            "Re-audit the use of the toolkit in a year",
            [("csc.owner", "Repeat the desktop audit on 50 cases", 120)],
        ),
    ]
    transition_perform(obj=audit, name="start_action_planning", actor=auditor)
    for reference, text, actions in plans:
        recommendation = audit_add_recommendation(audit=audit, actor=auditor, text=text, reference=reference)
        for username, description, due_in in actions:
            action = audit_add_action(
                audit=audit,
                recommendation=recommendation,
                actor=auditor,
                description=description,
                owner=context.users[username],
                due_on=today + dt.timedelta(days=due_in),
            )
            action_transition(action=action, actor=manager, name="agree", comment="Agreed at the subgroup")
            action_transition(action=action, actor=context.users[username], name="start")
    transition_perform(obj=audit, name="start_monitoring", actor=auditor)


# Who completes each agency's section 11 return in the demo (the eighth, the partnership's own, is the
# business manager's).
SECTION11 = [
    "police.lead",
    "health.lead",
    "csc.lead",
    "earlyhelp.lead",
    "education.lead",
    "probation.lead",
    "voluntary.lead",
]


def _section11(context: DemoContext) -> None:
    """A cycle in challenge with eight agencies: most returns submitted, one late, one under challenge with a
    rating revised down."""
    if Section11Cycle.objects.filter(name="Section 11 audit 2026").exists():
        return
    manager, today = context.users["manager"], timezone.localdate()
    cycle = cycle_create(
        actor=manager,
        name="Section 11 audit 2026",
        lead=manager,
        framework=install_default(Framework, Standard),
        returns_due_on=today - dt.timedelta(days=10),
        challenge_due_on=today + dt.timedelta(days=21),
    )
    people = [context.users[who] for who in SECTION11]
    agencies = {
        person.pk: cycle_add_agency(cycle=cycle, actor=manager, agency=person.person.agency, owner=person)
        for person in people
    }
    # The eighth agency is the partnership itself, its return completed by the business manager.
    partnership_return = cycle_add_agency(
        cycle=cycle, actor=manager, agency=manager.person.agency, owner=manager
    )
    transition_perform(obj=cycle, name="open", actor=manager)
    ratings = cycle_ratings()
    late = context.users["voluntary.lead"]
    for person, agency_return in zip(people, agencies.values(), strict=True):
        if person == late:
            continue  # the late one: not started, chased
        _complete(agency_return, person, ratings)
    _complete(partnership_return, manager, ratings)
    transition_perform(obj=cycle, name="start_challenge", actor=manager)
    # The police return is under challenge: its reviewer revised standard 4 (training) down to Amber.
    police, reviewer = context.users["police.lead"], context.users["health.lead"]
    police_return = agencies[police.pk]
    return_assign_reviewer(agency_return=police_return, actor=manager, reviewer=reviewer)
    police_return.refresh_from_db()
    transition_perform(obj=police_return, name="begin_challenge", actor=manager)
    for rating in police_return.ratings.select_related("standard"):
        if rating.standard.number == 4:
            challenge_review(
                rating=rating,
                actor=reviewer,
                agree=False,
                proposed_rating=Rating.AMBER,
                reasoning="The training figures show 62% of frontline officers trained to level 3.",
            )
            challenge_respond(rating=rating, actor=police, accept=True)
        else:
            challenge_review(rating=rating, actor=reviewer, agree=True)


def cycle_ratings() -> list[str]:
    return [
        Rating.GREEN,
        Rating.GREEN,
        Rating.AMBER,
        Rating.GREEN,
        Rating.GREEN,
        Rating.AMBER,
        Rating.GREEN,
        Rating.GREEN,
    ]


def _complete(agency_return: Section11Return, person: User, ratings: list[str]) -> None:
    for rating, value in zip(agency_return.ratings.select_related("standard"), ratings, strict=False):
        rating_save(rating=rating, actor=person, self_rating=value, commentary="Evidence attached.")
        rating_add_evidence(
            rating=rating,
            actor=person,
            description=f"Evidence for standard {rating.standard.number}",
            url="https://www.oldhamscp.co.uk/",
        )
    agency_return.refresh_from_db()
    transition_perform(obj=agency_return, name="submit", actor=person)
