"""The demo partnership, modelled on the Oldham source documents. Safe to run again: it finds before it
creates, and resets only the demo passwords."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from . import roles
from .models import Action, Agency, Person, Plan, Recommendation, Theme
from .services import model_update
from .services.actions import action_add_evidence, action_add_progress, action_create, action_transition

DEMO_PASSWORD = "followthrough-demo"
BUSINESS_PLAN_CSV = Path(__file__).parent / "demo_data" / "lscb_business_plan_2019_20.csv"
PLAN_NAME = "LSCB Business Plan 2019-20"

AGENCIES = [
    ("Oldham Safeguarding Children Partnership", Agency.Kind.PARTNERSHIP),
    ("Greater Manchester Police", Agency.Kind.POLICE),
    ("NHS Greater Manchester Integrated Care Board", Agency.Kind.HEALTH),
    ("Oldham Council Children's Social Care", Agency.Kind.SOCIAL_CARE),
    ("Oldham Early Help", Agency.Kind.EARLY_HELP),
    ("Oldham Schools and Colleges", Agency.Kind.EDUCATION),
    ("Probation Service North West", Agency.Kind.PROBATION),
    ("Oldham Youth Voluntary Network", Agency.Kind.VOLUNTARY),
]
PARTNERSHIP = AGENCIES[0][0]

# username, first, last, job title, agency, roles, line manager's username
PEOPLE: list[tuple[str, str, str, str, str, list[str], str | None]] = [
    ("admin", "Alex", "Admin", "Partnership administrator", PARTNERSHIP, [roles.ADMINISTRATOR], None),
    ("manager", "Morgan", "Reid", "Partnership business manager", PARTNERSHIP, [roles.MANAGER], None),
    (
        "chair",
        "Chris",
        "Patel",
        "Chair, Learning and Improvement subgroup",
        PARTNERSHIP,
        [roles.MANAGER],
        None,
    ),
    ("auditor", "Ash", "Khan", "Quality assurance officer", PARTNERSHIP, [roles.AUDITOR], "manager"),
    (
        "executive",
        "Elaine",
        "Hughes",
        "Director of Children's Services",
        AGENCIES[3][0],
        [roles.EXECUTIVE],
        None,
    ),
    (
        "police.lead",
        "Priya",
        "Shah",
        "Detective Superintendent, safeguarding",
        AGENCIES[1][0],
        [roles.AGENCY_LEAD],
        None,
    ),
    (
        "police.owner",
        "Paul",
        "Green",
        "Detective Inspector, public protection",
        AGENCIES[1][0],
        [roles.ACTION_OWNER],
        "police.lead",
    ),
    (
        "health.lead",
        "Hannah",
        "Lee",
        "Designated nurse, safeguarding children",
        AGENCIES[2][0],
        [roles.AGENCY_LEAD],
        None,
    ),
    ("health.owner", "Harry", "Ward", "Named nurse", AGENCIES[2][0], [roles.ACTION_OWNER], "health.lead"),
    ("csc.lead", "Sam", "Clarke", "Head of safeguarding", AGENCIES[3][0], [roles.AGENCY_LEAD], None),
    (
        "csc.owner",
        "Sophie",
        "Brown",
        "Practice improvement consultant",
        AGENCIES[3][0],
        [roles.ACTION_OWNER],
        "csc.lead",
    ),
    (
        "earlyhelp.lead",
        "Erin",
        "Walsh",
        "Early help service manager",
        AGENCIES[4][0],
        [roles.AGENCY_LEAD],
        None,
    ),
    (
        "earlyhelp.owner",
        "Eddie",
        "Moss",
        "Team around the family lead",
        AGENCIES[4][0],
        [roles.ACTION_OWNER],
        "earlyhelp.lead",
    ),
    (
        "education.lead",
        "Grace",
        "Noor",
        "Safeguarding in education lead",
        AGENCIES[5][0],
        [roles.AGENCY_LEAD],
        None,
    ),
    (
        "education.owner",
        "Tom",
        "Fry",
        "Designated safeguarding lead",
        AGENCIES[5][0],
        [roles.ACTION_OWNER],
        "education.lead",
    ),
    (
        "probation.lead",
        "Beth",
        "Kerr",
        "Head of public protection",
        AGENCIES[6][0],
        [roles.AGENCY_LEAD],
        None,
    ),
    ("voluntary.lead", "Vic", "Amos", "Youth services manager", AGENCIES[7][0], [roles.AGENCY_LEAD], None),
]

# Who in the demo answers for each business-plan row, by the words the plan uses for who is responsible.
OWNER_BY_KEYWORD = [
    ("business manager", "manager"),
    ("education", "education.owner"),
    ("schools", "education.owner"),
    ("mental health", "health.owner"),
    ("practice hub", "csc.owner"),
    ("practice improvement", "csc.owner"),
    ("transitions", "earlyhelp.owner"),
    ("neglect", "earlyhelp.owner"),
    ("training", "police.owner"),
    ("contextual", "police.owner"),
]
DEFAULT_OWNER = "csc.owner"
# Days from today to each open action's due date, in plan order: a spread of Green, Amber and Red.
DUE_OFFSETS = [45, -5, -40, 21, -10, 60, -20, 30, -70, 10, -3, 90, -16, 35, -30, 50, -1, 75, -60, 28, -8, 40]


@dataclass
class DemoContext:
    """What seeding made, for later apps' own demo data and for the logins printed at the end."""

    users: dict[str, User] = field(default_factory=dict)
    agencies: dict[str, Agency] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)


def seed() -> DemoContext:
    context = DemoContext()
    with transaction.atomic():
        for name, kind in AGENCIES:
            context.agencies[name], _ = Agency.objects.get_or_create(name=name, defaults={"kind": kind})
        for username, first, last, title, agency_name, role_names, _ in PEOPLE:
            user, _ = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@followthrough.example",
                },
            )
            user.set_password(DEMO_PASSWORD)
            user.is_staff = user.is_superuser = roles.ADMINISTRATOR in role_names
            user.save()
            user.groups.set(Group.objects.filter(name__in=role_names))
            Person.objects.update_or_create(
                user=user, defaults={"agency": context.agencies[agency_name], "job_title": title}
            )
            context.users[username] = user
            context.logins.append((username, ", ".join(role_names)))
        for username, *_, line_manager in PEOPLE:
            if line_manager:
                # Through the history, as the administrator would, not round it.
                model_update(
                    Person.objects.get(user=context.users[username]),
                    actor=context.users["admin"],
                    reason="Demo: line manager set",
                    changes={"line_manager": context.users[line_manager]},
                    clean_exclude=["user", "agency", "line_manager"],
                )
        _seed_business_plan(context)
    return context


def _owner_for(responsible: str) -> str:
    text = responsible.lower()
    return next((owner for keyword, owner in OWNER_BY_KEYWORD if keyword in text), DEFAULT_OWNER)


def _seed_business_plan(context: DemoContext) -> None:
    plan, created = Plan.objects.get_or_create(name=PLAN_NAME)
    if not created and Recommendation.objects.filter(source_id=plan.pk).exists():
        return
    manager, chair = context.users["manager"], context.users["chair"]
    today = timezone.localdate()
    with BUSINESS_PLAN_CSV.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    recommendations: dict[str, Recommendation] = {}
    offsets = iter(DUE_OFFSETS)
    for number, row in enumerate(rows):
        priority = row["Priority"]
        if priority not in recommendations:
            theme, _ = Theme.objects.get_or_create(name=priority)
            recommendations[priority] = Recommendation.objects.create(
                text=priority, reference=row["Ref"].split(".")[0], source=plan, theme=theme, chair=chair
            )
        owner = context.users[_owner_for(row["Who Responsible / linked plan"])]
        complete = row["RAG"] == "Grey"
        due_on = (
            today - dt.timedelta(days=120 - number) if complete else today + dt.timedelta(days=next(offsets))
        )
        action = action_create(
            actor=manager,
            recommendation=recommendations[priority],
            reference=row["Ref"],
            description=row["Objective"],
            outcome_measure=row["Outcome Measure"],
            difference_for_children=row["What difference will it make for children and young people?"],
            responsible_group=row["Who Responsible / linked plan"],
            owner=owner,
            due_on=due_on,
        )
        action_transition(
            action=action, actor=manager, name="agree", comment="Agreed at the business plan review"
        )
        action_transition(action=action, actor=owner, name="start")
        if row["Progress & Evidence"]:
            action_add_progress(action=action, actor=owner, text=row["Progress & Evidence"])
        if complete:
            action_add_evidence(
                action=action,
                actor=owner,
                description=row["Progress & Evidence"][:300],
                url="https://www.oldhamscp.co.uk/",
            )
            action_transition(action=action, actor=owner, name="submit_for_sign_off")
            signer = chair if owner == manager else manager
            action_transition(action=action, actor=signer, name="sign_off", comment="Evidence checked")
    # One action waiting for sign-off, so the sign-off list has something on it.
    waiting = (
        Action.objects.filter(recommendation__source_id=plan.pk, state="in_progress").order_by("id").first()
    )
    if waiting is not None and waiting.owner is not None:
        action_add_evidence(
            action=waiting,
            actor=waiting.owner,
            description="Draft policy",
            url="https://www.oldhamscp.co.uk/",
        )
        action_transition(action=waiting, actor=waiting.owner, name="submit_for_sign_off")
