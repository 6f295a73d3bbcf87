"""Importing an existing action plan: every row read and checked first, then all of it saved or none.

A row's action is matched to one already imported from the same plan by its reference (or, with no
reference, its text), so importing the same file again creates nothing new.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q

from ..imports.dates import read_plan_date
from ..imports.reading import FIELDS, Sheet
from ..models import RAG, Action, ActionState, Agency, Person, Plan, ProgressNote, Recommendation, Theme
from ..transitions import transition_perform

# What plans write in their RAG column; Grey means done.
RAG_WORDS = {
    "red": RAG.RED,
    "r": RAG.RED,
    "amber": RAG.AMBER,
    "a": RAG.AMBER,
    "green": RAG.GREEN,
    "g": RAG.GREEN,
    "grey": RAG.GREY,
    "gray": RAG.GREY,
    "complete": RAG.GREY,
    "completed": RAG.GREY,
    "done": RAG.GREY,
}
# The fields compared to decide whether a re-imported row changed an action.
COMPARED = [
    "description",
    "outcome_measure",
    "difference_for_children",
    "responsible_group",
    "reported_rag",
    "extra_columns",
]


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class RowReading:
    """How one row was read, for the preview and the import alike."""

    row: int
    reference: str = ""
    priority: str = ""
    description: str = ""
    due_on: dt.date | None = None
    due_text: str = ""
    responsible: str = ""
    owner: User | None = None
    agency: Agency | None = None
    outcome_measure: str = ""
    difference_for_children: str = ""
    progress: str = ""
    reported_rag: str = ""
    completed: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    outcome: str = ""  # created, updated or unchanged, once imported (or dry-run)


@dataclass
class ImportResult:
    source: str
    dry_run: bool
    headers: list[str]
    mapping: dict[str, str]
    readings: list[RowReading]
    errors: list[RowError]
    saved: bool = False

    @property
    def unrecognised(self) -> list[str]:
        return [h for h in self.headers if h not in self.mapping]

    def summary(self) -> dict[str, Any]:
        """The command's --json answer."""
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "saved": self.saved,
            "rows": len(self.readings),
            "created": sum(r.outcome == "created" for r in self.readings),
            "updated": sum(r.outcome == "updated" for r in self.readings),
            "flagged": [
                {"row": r.row, "reference": r.reference, "why": r.flags} for r in self.readings if r.flags
            ],
            "errors": [asdict(e) for e in self.errors],
        }


class _Directory:
    """Who the "who responsible" text names: people by full name, username, e-mail or unique job title,
    agencies by name. Loaded once per import."""

    def __init__(self) -> None:
        self.people: dict[str, User] = {}
        titles: dict[str, list[User]] = {}
        for person in Person.objects.select_related("user", "agency").filter(user__is_active=True):
            user = person.user
            for key in (user.get_full_name(), user.username, user.email):
                if key:
                    self.people.setdefault(key.lower(), user)
            if person.job_title:
                titles.setdefault(person.job_title.lower(), []).append(user)
        for title, users in titles.items():
            if len(users) == 1:
                self.people.setdefault(title, users[0])
        self.agencies = {a.name.lower(): a for a in Agency.objects.filter(is_active=True)}

    def match(self, text: str) -> tuple[User | None, Agency | None]:
        owner, agency = None, None
        for part in re.split(r"[;,/\n]| and ", text):
            key = " ".join(part.split()).lower()
            if not key:
                continue
            if owner is None and key in self.people:
                owner = self.people[key]
            elif agency is None and key in self.agencies:
                agency = self.agencies[key]
        if owner is not None:
            agency = owner.person.agency
        return owner, agency


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# Told how far an import has got: the stage ("checking", then "saving") and the rows checked so far.
Progress = Callable[[str, int], None]
PROGRESS_EVERY = 100


def read_rows(
    sheet: Sheet, mapping: dict[str, str], progress: Progress | None = None
) -> tuple[list[RowReading], list[RowError]]:
    """Read every row against the mapping; no database writes. Errors name the row and the column."""
    errors: list[RowError] = []
    column = {name: header for header, name in mapping.items()}
    if "description" not in column:
        labels = ", ".join(FIELDS["description"][1][:4])
        return [], [RowError(row=1, column="", message=f"No column holds the actions (such as {labels})")]
    directory = _Directory()
    seen: dict[str, int] = {}
    readings = []
    for number, cells in sheet.rows:
        values = {name: cells.get(header) for name, header in column.items()}
        reading = RowReading(row=number)
        reading.reference = _text(values.get("reference"))
        reading.priority = _text(values.get("priority"))
        reading.description = _text(values.get("description"))
        reading.outcome_measure = _text(values.get("outcome_measure"))
        reading.difference_for_children = _text(values.get("difference_for_children"))
        reading.progress = _text(values.get("progress"))
        reading.responsible = _text(values.get("responsible"))
        reading.extra = {
            h: _text(cells.get(h)) for h in sheet.headers if h not in mapping and _text(cells.get(h))
        }
        if not reading.description:
            errors.append(RowError(number, column["description"], "The action is missing"))
        if reading.reference:
            if reading.reference in seen:
                errors.append(
                    RowError(
                        number,
                        column["reference"],
                        f"Reference {reading.reference} is also used on row {seen[reading.reference]}",
                    )
                )
            seen.setdefault(reading.reference, number)
        due = read_plan_date(values.get("due"))
        reading.due_text = _text(values.get("due"))
        if due.error:
            errors.append(RowError(number, column.get("due", ""), due.error[0].upper() + due.error[1:]))
        reading.due_on = due.on
        rag_text = _text(values.get("rag")).lower()
        if rag_text and rag_text not in RAG_WORDS:
            errors.append(
                RowError(
                    number, column["rag"], f"“{_text(values.get('rag'))}” is not Red, Amber, Green or Grey"
                )
            )
        rag = RAG_WORDS.get(rag_text, "")
        reading.completed = rag == RAG.GREY
        reading.reported_rag = "" if reading.completed else rag
        reading.owner, reading.agency = directory.match(reading.responsible)
        if due.no_date and not reading.completed:
            reading.flags.append(
                f"needs a due date (the plan says “{reading.due_text}”)"
                if reading.due_text
                else "needs a due date"
            )
        if reading.owner is None and not reading.completed:
            reading.flags.append(
                f"needs an owner (the plan says “{reading.responsible}”)"
                if reading.responsible
                else "needs an owner"
            )
        readings.append(reading)
        if progress is not None and len(readings) % PROGRESS_EVERY == 0:
            progress("checking", len(readings))
    return readings, errors


def plan_import(
    *,
    actor: User,
    sheet: Sheet,
    source: str,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    check_only: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a plan's rows as recommendations (one per priority) and actions, all or nothing.

    With any error nothing is saved. With ``dry_run`` everything is done and then rolled back, so the
    counts are exactly what a real import would give (the command's --dry-run); with ``check_only``
    the rows are only read, checked and matched to the plan's actions, writing nothing (the page's
    preview, shown on GET). Rows marked Grey are imported as completed,
    recorded as imported and signed off by nobody; a row with an owner and a due date is agreed.
    ``progress`` hears how far the checking has got, and when saving starts.
    """
    if not actor.has_perm("workflows.import_plan"):
        raise PermissionDenied("only a manager may import a plan")
    resolved = sheet.mapping(mapping)
    readings, errors = read_rows(sheet, resolved, progress)
    result = ImportResult(
        source=source,
        dry_run=dry_run or check_only,
        headers=sheet.headers,
        mapping=resolved,
        readings=readings,
        errors=errors,
    )
    if check_only and not errors:
        _foresee(source, readings)
    if errors or check_only:
        return result
    if progress is not None:
        progress("saving", len(readings))
    with transaction.atomic():
        plan = Plan.objects.filter(name=source).first()
        if plan is None:
            plan = Plan(name=source)
            plan._history_user = actor  # type: ignore[attr-defined]
            plan.save()
        recommendations: dict[str, Recommendation] = {}
        for reading in readings:
            recommendation = recommendations.get(reading.priority) or _recommendation(plan, reading, actor)
            recommendations[reading.priority] = recommendation
            reading.outcome = _import_row(plan, recommendation, reading, actor, source)
        result.saved = not dry_run
        if dry_run:
            transaction.set_rollback(True)
    return result


def _foresee(source: str, readings: list[RowReading]) -> None:
    """Which rows would make a new action, read without writing (one query): matched as ``_existing``
    matches, by reference or, with none, by the action's text. The rest are "existing"."""
    plan = Plan.objects.filter(name=source).first()
    known = (
        set(
            Action.objects.filter(
                recommendation__source_type__model="plan", recommendation__source_id=plan.pk
            ).values_list("reference", "description")
        )
        if plan is not None
        else set()
    )
    references = {reference for reference, _ in known if reference}
    texts = {text for reference, text in known if not reference}
    for reading in readings:
        found = reading.reference in references if reading.reference else reading.description in texts
        reading.outcome = "existing" if found else "created"


def _recommendation(plan: Plan, reading: RowReading, actor: User) -> Recommendation:
    text = reading.priority or plan.name
    found = Recommendation.objects.filter(source_type__model="plan", source_id=plan.pk, text=text).first()
    if found is not None:
        return found
    theme = Theme.objects.get_or_create(name=reading.priority[:200])[0] if reading.priority else None
    recommendation = Recommendation(
        text=text,
        reference=reading.reference.split(".")[0] if "." in reading.reference else "",
        source=plan,
        theme=theme,
    )
    recommendation._history_user = actor  # type: ignore[attr-defined]
    recommendation.save()
    return recommendation


def _existing(plan: Plan, reading: RowReading) -> Action | None:
    actions = Action.objects.filter(
        recommendation__source_type__model="plan", recommendation__source_id=plan.pk
    )
    match = (
        Q(reference=reading.reference)
        if reading.reference
        else Q(reference="", description=reading.description)
    )
    return actions.filter(match).first()


def _import_row(
    plan: Plan, recommendation: Recommendation, reading: RowReading, actor: User, source: str
) -> str:
    values = {
        "description": reading.description,
        "outcome_measure": reading.outcome_measure,
        "difference_for_children": reading.difference_for_children,
        "responsible_group": reading.responsible,
        "reported_rag": reading.reported_rag,
        "extra_columns": reading.extra,
    }
    why = f"Imported from {source}, row {reading.row}"
    action = _existing(plan, reading)
    if action is None:
        action = Action(
            recommendation=recommendation,
            reference=reading.reference,
            owner=reading.owner,
            agency=reading.agency,
            due_on=reading.due_on,
            theme=recommendation.theme,
            **values,
        )
        action._history_user, action._change_reason = actor, why  # type: ignore[attr-defined]
        action.save()
        _add_progress(action, reading, actor)
        if reading.completed:
            transition_perform(
                obj=action, name="import_as_completed", actor=actor, comment=why, internal=True
            )
        elif action.owner_id and action.due_on:
            transition_perform(obj=action, name="agree", actor=actor, comment=f"Agreed in the plan. {why}")
        return "created"
    changed = {name: value for name, value in values.items() if getattr(action, name) != value}
    if action.state == ActionState.DRAFT:
        for name in ("due_on", "owner", "agency"):
            value = getattr(reading, name)
            if value is not None and getattr(action, name) != value:
                changed[name] = value
    if changed:
        for name, value in changed.items():
            setattr(action, name, value)
        action._history_user, action._change_reason = actor, why  # type: ignore[attr-defined]
        action.save()
    noted = _add_progress(action, reading, actor)
    if reading.completed and action.is_open:
        reading.flags.append("marked complete in the plan but open here: submit it for sign-off")
    return "updated" if changed or noted else "unchanged"


def _add_progress(action: Action, reading: RowReading, actor: User) -> bool:
    """The plan's progress column as a progress note, unless it is what the latest note already says."""
    if not reading.progress:
        return False
    latest = ProgressNote.objects.filter(action=action).first()
    if latest is not None and latest.text == reading.progress:
        return False
    ProgressNote.objects.create(action=action, author=actor, text=reading.progress)
    return True
