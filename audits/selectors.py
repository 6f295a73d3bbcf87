"""Reads for audit pages, API and programme reports: who may see what, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from workflows.deadlines import with_rung
from workflows.models import Action, Agency
from workflows.selectors import (
    action_list,
    actions_visible_to,
    agency_of_viewer,
    object_timeline,
    sees_all_agencies,
)
from workflows.timeline import TimelineEntry

from .models import (
    AgencyReturn,
    Audit,
    AuditCase,
    CaseAudit,
    CaseAuditState,
    Finding,
    Grade,
    Participation,
    ReturnState,
)

Viewer = User | AnonymousUser


def audits_visible_to(user: Viewer) -> QuerySet[Audit]:
    """Partnership staff see every audit; anyone else the audits their agency takes part in."""
    audits = Audit.objects.all()
    if not user.is_authenticated:
        return audits.none()
    if sees_all_agencies(user):
        return audits
    return audits.filter(
        Exists(Participation.objects.filter(audit=OuterRef("pk"), agency_id=agency_of_viewer(user)))
    )


def returns_visible_to(user: Viewer) -> QuerySet[AgencyReturn]:
    """An agency sees its own returns and never another agency's; partnership staff see all."""
    returns = AgencyReturn.objects.all()
    if not user.is_authenticated:
        return returns.none()
    if sees_all_agencies(user):
        return returns
    return returns.filter(agency_id=agency_of_viewer(user))


def audit_list(user: Viewer) -> QuerySet[Audit]:
    """Audits with their counts of cases, agencies and outstanding returns, in one query."""
    return (
        audits_visible_to(user)
        .select_related("theme", "lead_auditor")
        .annotate(
            case_count=Count("cases", distinct=True),
            agency_count=Count("participations", distinct=True),
            returns_owed=Count(
                "cases__returns", filter=Q(cases__returns__state=ReturnState.OWED), distinct=True
            ),
        )
    )


def audit_returns(audit: Audit, user: Viewer) -> QuerySet[AgencyReturn]:
    """The audit's returns the user may see, with the escalation rung each stands on today."""
    return (
        with_rung(returns_visible_to(user))
        .filter(case__audit=audit)
        .select_related("case", "agency", "owner", "submitted_by")
        .order_by("case__reference", "agency__name")
    )


def audit_actions(audit: Audit, user: Viewer) -> QuerySet[Action]:
    return action_list(actions_visible_to(user).filter(recommendation__audit=audit)).order_by(
        "recommendation__reference", "due_on", "id"
    )


def case_audits_visible_to(user: Viewer) -> QuerySet[CaseAudit]:
    """Partnership staff see all; an agency lead their agency's; anyone else the case audits of their own
    cases or that they carry out."""
    case_audits = CaseAudit.objects.all()
    if not user.is_authenticated:
        return case_audits.none()
    if sees_all_agencies(user):
        return case_audits
    mine = Q(case_worker_id=user.pk) | Q(auditor_id=user.pk)
    if user.has_perm("workflows.view_agency_work"):
        return case_audits.filter(mine | Q(agency_id=agency_of_viewer(user)))
    return case_audits.filter(mine)


AUDIT_QUIET = {"state", "closed_at"}
RETURN_QUIET = {"state", "submitted_at", "submitted_by"}


def audit_timeline(audit: Audit, returns: list[AgencyReturn]) -> list[TimelineEntry]:
    """What happened to the audit and to the returns the viewer may see, oldest first."""
    entries = object_timeline([audit], quiet=AUDIT_QUIET) + object_timeline(
        returns, quiet=RETURN_QUIET, prefix=lambda r: f"Return for case {r.case.reference} ({r.agency}): "
    )
    # What scoping and reporting added, from the history of the audit's parts: one query each.
    added: list[tuple[Any, Callable[[Any], str]]] = [
        (AuditCase.history.all(), lambda h: f"Case {h.reference} added to the sample"),
        (Participation.history.select_related("agency"), lambda h: f"{h.agency} added to the audit"),
        (Finding.history.all(), lambda h: f"{h.get_kind_display()} recorded: {h.text[:100]}"),
    ]
    for records, summary in added:
        entries += [
            TimelineEntry(at=h.history_date, kind="change", who=h.history_user, summary=summary(h))
            for h in records.filter(audit_id=audit.pk, history_type="+").select_related("history_user")
        ]
    return sorted(entries, key=lambda e: e.at)


@dataclass
class ProgrammeRow:
    """One agency's case audits in one quarter of the financial year, against its target."""

    agency: Agency
    done: int = 0
    target: int = field(default_factory=lambda: settings.FOLLOWTHROUGH_CASE_AUDITS_PER_QUARTER)
    grades: Counter[str] = field(default_factory=Counter)

    @property
    def grade_counts(self) -> list[tuple[str, int]]:
        return [(label, self.grades[value]) for value, label in Grade.choices]

    @property
    def short_by(self) -> int:
        return max(self.target - self.done, 0)


def quarter_of(day: dt.date) -> tuple[dt.date, dt.date, str]:
    """The financial-year quarter (April to March) that ``day`` falls in: first day, last day, name."""
    year = day.year if day.month >= 4 else day.year - 1
    index = (day.month - 4) % 12 // 3
    months_in = 3 + 3 * index  # months from January of ``year`` to the quarter's first month

    def first_of(months: int) -> dt.date:
        return dt.date(year + months // 12, months % 12 + 1, 1)

    return (
        first_of(months_in),
        first_of(months_in + 3) - dt.timedelta(days=1),
        f"Q{index + 1} {year}-{(year + 1) % 100:02d}",
    )


def case_audit_programme(user: Viewer, *, quarter_containing: dt.date) -> list[ProgrammeRow]:
    """Case audits graded in the quarter per agency the viewer may see, with grade distribution; one query."""
    start, end, _ = quarter_of(quarter_containing)
    graded = (
        case_audits_visible_to(user)
        .filter(graded_on__range=(start, end))
        .exclude(state__in=[CaseAuditState.SCHEDULED, CaseAuditState.IN_PROGRESS])
        .values("agency_id", "grade")
        .annotate(n=Count("id"))
        .order_by()
    )
    agencies = Agency.objects.filter(is_active=True).exclude(kind=Agency.Kind.PARTNERSHIP)
    if not sees_all_agencies(user):
        agencies = agencies.filter(pk=agency_of_viewer(user))
    rows = {agency.pk: ProgrammeRow(agency=agency) for agency in agencies}
    for entry in graded:
        row = rows.get(entry["agency_id"])
        if row is not None:
            row.done += entry["n"]
            row.grades[entry["grade"]] += entry["n"]
    return list(rows.values())
