"""The escalation ladder: the one place that says who hears about an owed item, rung by rung.

- The owner hears their own reminders; an owner who cannot be reached (no owner, deactivated, no email)
  is not a reason for silence: their agency's leads hear instead, with the gap recorded.
- Rung 1: the owner's line manager, or every lead of the item's agency where there is none to reach.
- Rung 2: the business managers and the chair of the item's source.
- Rung 3: the business managers and the partnership executives, as named people; after it the item
  stays in the business managers' digests every week.
- The owner is copied at every rung, so nobody is escalated about without knowing.

Everything here is set-based: each part is a queryset of items with the recipient as an SQL expression,
so the sweep and "escalate now" turn a whole ladder into one INSERT ... SELECT whatever the number of
items. The caller annotates the items with ``rung`` (0-3): the sweep from days overdue, escalate-now
with the rung it forces.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.db.models.expressions import Combinable

from workflows import roles
from workflows.owed import Owed

from .models import ChasePolicy, Rule

NO_GAP = Value("")
RUNG_RULES = Case(
    When(rung=1, then=Value(Rule.ESCALATION_1)),
    When(rung=2, then=Value(Rule.ESCALATION_2)),
    default=Value(Rule.ESCALATION_3),
    output_field=CharField(),
)


@dataclass(frozen=True)
class Reach:
    """The people named at the top of the ladder, resolved once for a sweep or an escalation."""

    business_managers: list[int]
    executives: list[int]

    @classmethod
    def current(cls, policy: ChasePolicy) -> Reach:
        return cls(business_managers=business_manager_ids(policy), executives=executive_ids())

    def as_json(self) -> dict[str, list[int]]:
        return {"business_managers": sorted(self.business_managers), "executives": sorted(self.executives)}


def business_manager_ids(policy: ChasePolicy) -> list[int]:
    """The policy's business managers; where none are named, everyone who may sign off actions."""
    named = list(policy.business_managers.filter(is_active=True).values_list("pk", flat=True))
    if named:
        return named
    return list(
        User.objects.filter(is_active=True, groups__permissions__codename="sign_off_action")
        .exclude(email="")
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def executive_ids() -> list[int]:
    """The partnership executives who can be written to. The rung is about telling a named person, so
    an executive with no email or a deactivated account is left out rather than written to unread.
    The executive role carries no permission of its own to test for, hence its group."""
    return list(
        User.objects.filter(is_active=True, groups__name=roles.EXECUTIVE)
        .exclude(email="")
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class Part:
    """Items and who hears about each: ``recipient`` and ``rule`` are SQL expressions over the items.
    ``weekly`` says the entry repeats each week of lateness (the caller supplies the period)."""

    items: QuerySet[Any]
    recipient: Combinable
    rule: Combinable
    gap: Combinable = NO_GAP
    is_copy: bool = False
    weekly: bool = False


def reachable(path: str) -> Q:
    """Someone an email can reach: there, active and with an address (``path`` to a user, or "pk").
    ``email > ''`` rather than a negation: over a many-valued path (an agency's people) a negated
    condition would exclude the item when any one of them has no address."""
    if path == "pk":
        return Q(is_active=True, email__gt="")
    return Q(**{f"{path}__is_active": True, f"{path}__email__gt": "", f"{path}__isnull": False})


def _gap(owner: str) -> Case:
    return Case(
        When(**{f"{owner}__isnull": True}, then=Value("it has no owner")),
        When(**{f"{owner}__is_active": False}, then=Value("its owner's account is deactivated")),
        default=Value("its owner has no email address"),
        output_field=CharField(),
    )


def _is_lead(path: str) -> Q:
    """A lead of their agency who can be written to (``path`` leads from the query's model to the user)."""
    prefix = f"{path}__" if path else ""
    return Q(**{f"{prefix}groups__permissions__codename": "view_agency_work"}) & reachable(path or "pk")


def _leads(spec: Owed) -> tuple[str, Q]:
    """The path to the people of the item's agency, and the condition that makes one of them a lead."""
    leads = f"{spec.agency_field}__people__user"
    return leads, _is_lead(leads)


def owner_parts(items: QuerySet[Any], spec: Owed, *, rule: Combinable) -> list[Part]:
    """The owner's own reminder, due-date notice or weekly overdue chase; their agency's leads instead,
    with the gap, when the owner cannot be reached."""
    owner = spec.owner_field
    leads, is_lead = _leads(spec)
    return [
        Part(items.filter(reachable(owner)), recipient=F(owner), rule=rule, weekly=True),
        Part(
            items.exclude(reachable(owner)).filter(is_lead),
            recipient=F(leads),
            rule=rule,
            gap=_gap(owner),
            weekly=True,
        ),
    ]


def rung_parts(items: QuerySet[Any], spec: Owed, reach: Reach) -> list[Part]:
    """Who hears at each item's rung (``items`` annotated with ``rung``; items at rung 0 hear nothing)."""
    owner = spec.owner_field
    leads, is_lead = _leads(spec)
    line_manager = f"{owner}__person__line_manager"
    rung_1 = items.filter(rung=1)
    parts = [
        Part(items.filter(reachable(owner), rung__gte=1), recipient=F(owner), rule=RUNG_RULES, is_copy=True),
        Part(
            rung_1.filter(reachable(line_manager)), recipient=F(line_manager), rule=Value(Rule.ESCALATION_1)
        ),
        Part(
            rung_1.exclude(reachable(line_manager)).filter(is_lead),
            recipient=F(leads),
            rule=Value(Rule.ESCALATION_1),
        ),
    ]
    if spec.chair_field:
        parts.append(
            Part(
                items.filter(rung=2).filter(reachable(spec.chair_field)),
                recipient=F(spec.chair_field),
                rule=Value(Rule.ESCALATION_2),
            )
        )
    parts += [
        Part(items.filter(rung__gte=2), recipient=Value(manager), rule=RUNG_RULES)
        for manager in reach.business_managers
    ]
    parts += [
        Part(items.filter(rung=3), recipient=Value(executive), rule=Value(Rule.ESCALATION_3))
        for executive in reach.executives
        if executive not in reach.business_managers
    ]
    return parts


def repeat_parts(items: QuerySet[Any], reach: Reach) -> list[Part]:
    """After the last rung the item stays in the business managers' digests every week."""
    return [
        Part(items.filter(rung=3), recipient=Value(manager), rule=Value(Rule.OVERDUE), weekly=True)
        for manager in reach.business_managers
    ]


def agency_lead_ids(agency_ids: Iterable[int]) -> dict[int, list[int]]:
    """The leads who can be written to in each of these agencies (one query)."""
    found: dict[int, list[int]] = {}
    rows = (
        User.objects.filter(person__agency_id__in=list(agency_ids))
        .filter(_is_lead(""))
        .distinct()
        .order_by("person__agency_id", "pk")
        .values_list("person__agency_id", "pk")
    )
    for agency_id, user_id in rows:
        found.setdefault(agency_id, []).append(user_id)
    return found
