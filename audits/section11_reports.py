"""Section 11 reads: who may see which return, and the cycle's matrix of agencies by standards."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, Q, QuerySet

from workflows.selectors import agency_of_viewer, object_timeline, sees_all_agencies
from workflows.spreadsheets import export_row, sheet_title
from workflows.timeline import TimelineEntry, registered_entries

from .models import (
    CycleState,
    Rating,
    Section11Challenge,
    Section11Cycle,
    Section11Evidence,
    Section11Return,
    Standard,
    StandardRating,
)
from .models.section11 import RATING_ORDER

Viewer = User | AnonymousUser
CHALLENGED = [CycleState.CHALLENGE, CycleState.ACTION_PLANNING, CycleState.MONITORING, CycleState.CLOSED]


def section11_returns_visible_to(user: Viewer) -> QuerySet[Section11Return]:
    """Partnership staff see every return. An agency sees its own; from challenge on, a reviewer also sees
    the returns they were given to review, and nothing else of other agencies."""
    returns = Section11Return.objects.all()
    if not user.is_authenticated:
        return returns.none()
    if sees_all_agencies(user):
        return returns
    return returns.filter(
        Q(agency_id=agency_of_viewer(user)) | Q(reviewer_id=user.pk, cycle__state__in=CHALLENGED)
    )


def section11_cycles_visible_to(user: Viewer) -> QuerySet[Section11Cycle]:
    cycles = Section11Cycle.objects.all()
    if sees_all_agencies(user):
        return cycles
    return cycles.filter(Exists(section11_returns_visible_to(user).filter(cycle=OuterRef("pk"))))


@dataclass
class MatrixCell:
    self_rating: str = ""
    agreed_rating: str = ""
    previous: str = ""

    @property
    def moved(self) -> str:
        """ "down", "up" or "" for how challenge moved the rating."""
        before, after = RATING_ORDER.get(self.self_rating), RATING_ORDER.get(self.agreed_rating)
        if before is None or after is None or before == after:
            return ""
        return "down" if after < before else "up"

    @property
    def since_previous(self) -> str:
        before, after = RATING_ORDER.get(self.previous), RATING_ORDER.get(self.agreed_rating)
        if before is None or after is None:
            return ""
        return "better" if after > before else "worse" if after < before else "same"


@dataclass
class Matrix:
    standards: list[Standard]
    rows: list[tuple[str, list[MatrixCell]]]
    moved_down: int = 0
    moved_up: int = 0
    unchanged: int = 0
    since_previous: dict[str, int] = field(default_factory=dict)


def _label(value: str) -> str:
    return str(dict(Rating.choices).get(value, "")) if value else ""


def cycle_matrix(cycle: Section11Cycle, returns: QuerySet[Section11Return]) -> Matrix:
    """Agencies by standards for the returns given: self-assessed and agreed ratings, how many challenge
    moved and which way, and each agreed rating against the previous cycle's (matched by agency and
    standard number). Three queries."""
    standards = list(cycle.framework.standards.all())
    ratings = StandardRating.objects.filter(agency_return__in=returns).select_related(
        "agency_return__agency", "standard"
    )
    previous: dict[tuple[int, int], str] = {}
    if cycle.previous_id:
        previous = {
            (agency_id, number): agreed
            for agency_id, number, agreed in StandardRating.objects.filter(
                agency_return__cycle_id=cycle.previous_id
            ).values_list("agency_return__agency_id", "standard__number", "agreed_rating")
        }
    by_agency: dict[str, dict[int, MatrixCell]] = {}
    for rating in ratings:
        agency = rating.agency_return.agency
        by_agency.setdefault(agency.name, {})[rating.standard.number] = MatrixCell(
            self_rating=rating.self_rating,
            agreed_rating=rating.agreed_rating,
            previous=previous.get((agency.pk, rating.standard.number), ""),
        )
    matrix = Matrix(standards=standards, rows=[])
    for name in sorted(by_agency):
        cells = [by_agency[name].get(s.number, MatrixCell()) for s in standards]
        matrix.rows.append((name, cells))
        for cell in cells:
            if cell.agreed_rating and cell.self_rating:
                if cell.moved == "down":
                    matrix.moved_down += 1
                elif cell.moved == "up":
                    matrix.moved_up += 1
                else:
                    matrix.unchanged += 1
            if cell.since_previous:
                matrix.since_previous[cell.since_previous] = (
                    matrix.since_previous.get(cell.since_previous, 0) + 1
                )
    return matrix


def matrix_table(matrix: Matrix) -> list[list[str]]:
    """The matrix as rows for CSV and Excel: ratings in words, self-assessed then agreed."""
    header = ["Agency"]
    for standard in matrix.standards:
        header += [
            f"{standard.number}. {standard.title}: self-assessed",
            f"{standard.number}: agreed",
            f"{standard.number}: previous cycle",
        ]
    table = [header]
    for agency, cells in matrix.rows:
        row = [agency]
        for cell in cells:
            row += [_label(cell.self_rating), _label(cell.agreed_rating), _label(cell.previous)]
        table.append(row)
    return table


def matrix_csv(matrix: Matrix) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(export_row(row) for row in matrix_table(matrix))
    return out.getvalue().encode("utf-8-sig")


def matrix_xlsx(matrix: Matrix, title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_title(title, default="Section 11")
    for row in matrix_table(matrix):
        sheet.append(export_row(row))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sentence(reason: str) -> str:
    return reason[:1].lower() + reason[1:]


def _what_was_said(older: Any, newer: Any) -> str:
    """The words that came with a change to a rating: the reviewer's reasoning, the agency's response or
    its commentary."""
    for said, moved in (
        ("reviewer_reasoning", ("proposed_rating", "reviewer_reasoning")),
        ("agency_response", ("agency_response",)),
        ("not_applicable_reason", ("not_applicable_reason",)),
        ("commentary", ("self_rating", "commentary")),
    ):
        if any(getattr(newer, f) != getattr(older, f, "") for f in moved) and getattr(newer, said):
            return str(getattr(newer, said))
    return ""


def _rating_entries(agency_return: Section11Return) -> list[TimelineEntry]:
    """Each rating and each step of its challenge, from the ratings' history: the services record what
    the step was, in words, as the change's reason."""
    numbers = dict(
        Standard.objects.filter(framework_id=agency_return.cycle.framework_id).values_list("pk", "number")
    )
    records = (
        StandardRating.history.filter(agency_return_id=agency_return.pk)  # type: ignore[attr-defined]
        .select_related("history_user")
        .order_by("id", "history_date", "history_id")
    )
    entries: list[TimelineEntry] = []
    previous: Any = None
    for record in records:
        older = previous if previous is not None and previous.id == record.id else None
        previous = record
        if older is None and record.history_type == "+":
            continue  # the standard listed when the agency joined: nothing said yet
        if record.history_change_reason:
            summary = _sentence(record.history_change_reason)
        else:  # written before the services gave reasons: say which answers changed
            changed = older and [c.field for c in record.diff_against(older).changes]
            if not changed:
                continue
            summary = "changed " + ", ".join(
                str(getattr(StandardRating._meta.get_field(f), "verbose_name", f)) for f in changed
            )
        entries.append(
            TimelineEntry(
                at=record.history_date,
                kind="rating",
                who=record.history_user,
                summary=f"Standard {numbers.get(record.standard_id, '?')}: {summary}",
                detail=_what_was_said(older, record),
            )
        )
    return entries


def _reasoned_history(records: Any) -> list[TimelineEntry]:
    """History rows that carry a reason a service wrote in words (who a return was given to, a date moved,
    a challenge opened, closed or refused), with the due date when it is new. Rows a transition wrote
    (the state moved) are left to the transition log, which says the same with the comment."""
    entries: list[TimelineEntry] = []
    previous: Any = None
    for record in records:
        older = previous if previous is not None and previous.id == record.id else None
        previous = record
        moved_state = older is not None and getattr(older, "state", None) != getattr(record, "state", None)
        if not record.history_change_reason or moved_state:
            continue
        new_date = older is None or older.due_on != record.due_on
        entries.append(
            TimelineEntry(
                at=record.history_date,
                kind="change",
                who=record.history_user,
                summary=record.history_change_reason,
                detail=f"Due {record.due_on:%-d %B %Y}" if new_date else "",
            )
        )
    return entries


def return_timeline(agency_return: Section11Return) -> list[TimelineEntry]:
    """What happened to an agency's return, oldest first, in people's names and words: its transitions;
    who it was given to and dates moved; each rating and each step of its challenge (proposal, response,
    settlement) with what was said; evidence added; the reviewer's deadline opened, moved and closed, and
    any refused attempt to close it; and the chasing of both. A fixed number of queries, whatever the
    number of standards or steps."""
    own_fields = {f.name for f in Section11Return._meta.fields}
    entries = object_timeline([agency_return], quiet=own_fields)
    entries += _reasoned_history(
        agency_return.history.select_related("history_user").order_by("history_date", "history_id")  # type: ignore[attr-defined]
    )
    entries += _rating_entries(agency_return)
    entries += [
        TimelineEntry(
            at=e.at,
            kind="evidence",
            who=e.added_by,
            summary=f"Standard {e.rating.standard.number}: evidence added: {e.description}",
            detail=e.original_name or e.url,
        )
        for e in Section11Evidence.objects.filter(rating__agency_return=agency_return).select_related(
            "added_by", "rating__standard"
        )
    ]
    challenges = list(Section11Challenge.objects.filter(agency_return=agency_return))
    if challenges:
        entries += _reasoned_history(
            Section11Challenge.history.filter(agency_return_id=agency_return.pk)  # type: ignore[attr-defined]
            .select_related("history_user")
            .order_by("history_date", "history_id")
        )
        entries += registered_entries(challenges)
    return sorted(entries, key=lambda e: e.at)
