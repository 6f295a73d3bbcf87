"""Importing a partnership's existing plan from CSV or Excel, and exporting it back in the same shape."""

import csv
import datetime as dt
import io
import json
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import Workbook, load_workbook
from rest_framework.test import APIClient

from tests.factories import ActionFactory, person_in
from workflows import roles
from workflows.demo import BUSINESS_PLAN_CSV
from workflows.exports import HEADERS, plan_csv, plan_xlsx
from workflows.imports.dates import read_plan_date
from workflows.imports.reading import read_sheet
from workflows.models import Action, ActionState, Agency, Plan, PlanUpload, TransitionLog
from workflows.services.plan_import import plan_import

pytestmark = pytest.mark.django_db

# The partnership's real plan, kept in the repository beside the demo that imports it.
PLAN_CSV = BUSINESS_PLAN_CSV
SOURCE = "LSCB Business Plan 2019-20"


def plan_bytes() -> bytes:
    return PLAN_CSV.read_bytes()


def as_xlsx(content: bytes, *, real_dates: bool = False) -> bytes:
    """An Excel file made from a CSV, as a partnership's own spreadsheet would be."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for number, row in enumerate(csv.reader(io.StringIO(content.decode("utf-8-sig")))):
        if real_dates and number and row[3] == "June 2019":
            sheet.append([*row[:3], dt.datetime(2019, 6, 30), *row[4:]])  # a date cell, as Excel stores it
        else:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def import_file(manager: User, name: str, content: bytes, **options: object) -> dict:  # type: ignore[type-arg]
    return plan_import(actor=manager, sheet=read_sheet(name, content), source=SOURCE, **options).summary()  # type: ignore[arg-type]


def snapshot() -> list[tuple[object, ...]]:
    return list(
        Action.objects.order_by("reference").values_list(
            "reference",
            "description",
            "due_on",
            "state",
            "owner_id",
            "responsible_group",
            "reported_rag",
            "extra_columns",
        )
    )


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_business_plan_imports_with_its_dates_and_completions(manager: User, kind: str) -> None:
    content = plan_bytes() if kind == "csv" else as_xlsx(plan_bytes(), real_dates=True)
    summary = import_file(manager, f"plan.{kind}", content)
    assert summary["errors"] == []
    assert (summary["rows"], summary["created"], summary["updated"]) == (30, 30, 0)
    actions = {a.reference: a for a in Action.objects.all()}
    assert len(actions) == 30
    completed = [a for a in actions.values() if a.state == ActionState.COMPLETED]
    assert sorted(a.reference for a in completed) == ["1.1", "1.2", "1.3", "2.1", "3.2", "4.1", "7.1", "9.2"]
    # Recorded as imported, not signed off by anyone, and no impact check invented.
    assert all(a.signed_off_by is None and a.impact_check_on is None for a in completed)
    log = TransitionLog.objects.get(object_id=actions["1.1"].pk, transition="import_as_completed")
    assert log.actor == manager and "row 2" in log.comment
    # Dates as the plan states them: a month means its last day.
    assert actions["1.1"].due_on == dt.date(2019, 6, 30)
    assert actions["6.1"].due_on == dt.date(2019, 9, 30)  # "Sept 2019"
    assert actions["2.2"].due_on == dt.date(2020, 3, 31)
    assert actions["8.2"].due_on == dt.date(2019, 9, 30)
    # Subgroups are not people: imported with the text as the responsible group, flagged for an owner.
    assert (
        actions["2.2"].owner is None
        and actions["2.2"].responsible_group == "Workforce Development and Training subgroup"
    )
    flagged = {f["reference"]: f["why"] for f in summary["flagged"]}
    assert flagged["2.2"] == ["needs an owner (the plan says “Workforce Development and Training subgroup”)"]
    assert "1.1" not in flagged  # complete: nothing more to chase
    assert actions["2.2"].state == ActionState.DRAFT
    plan = Plan.objects.get(name=SOURCE)
    assert {a.recommendation.source for a in actions.values()} == {plan}
    assert actions["9.2"].recommendation.text == "Neglect" and actions["9.2"].theme is not None


def test_importing_the_same_file_again_duplicates_nothing(manager: User) -> None:
    import_file(manager, "plan.csv", plan_bytes())
    before = snapshot()
    summary = import_file(manager, "plan.csv", plan_bytes())
    assert (summary["created"], summary["updated"]) == (0, 0)
    assert snapshot() == before


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_round_trip_import_export_import_changes_nothing(manager: User, kind: str) -> None:
    import_file(manager, "plan.csv", plan_bytes())
    before = snapshot()
    plan = Plan.objects.get(name=SOURCE)
    exported = plan_csv(plan) if kind == "csv" else plan_xlsx(plan)
    summary = import_file(manager, f"export.{kind}", exported)
    assert summary["errors"] == []
    assert (summary["rows"], summary["created"], summary["updated"]) == (30, 0, 0)
    assert snapshot() == before


def test_the_excel_export_has_the_plans_columns_and_rows(manager: User) -> None:
    import_file(manager, "plan.csv", plan_bytes())
    sheet = load_workbook(io.BytesIO(plan_xlsx(Plan.objects.get(name=SOURCE)))).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    assert len(rows) == 31
    first = dict(zip(HEADERS, rows[1], strict=True))
    assert first["Ref"] == "1.1" and first["Date for completion"] == "30 June 2019" and first["RAG"] == "Grey"
    assert str(first["Progress & Evidence"]).startswith("Completed. New arrangements document was submitted")


def bad_file() -> bytes:
    return (
        b"Ref,Objective,Date for completion,Who Responsible,RAG\n"
        b"1.1,Publish the arrangements,June 2019,Business Manager,Grey\n"
        b"1.2,,June 2019,Business Manager,\n"
        b"1.3,Train staff,Spring-ish,Business Manager,\n"
        b"1.1,Audit the training,March 2020,Business Manager,\n"
        b"1.4,Report to the board,March 2020,Business Manager,Purple\n"
    )


def test_bad_rows_are_reported_with_row_and_column_and_nothing_is_saved(manager: User) -> None:
    summary = import_file(manager, "bad.csv", bad_file())
    assert summary["errors"] == [
        {"row": 3, "column": "Objective", "message": "The action is missing"},
        {
            "row": 4,
            "column": "Date for completion",
            "message": "Cannot read “Spring-ish” as a date (write it as “June 2019” or “30 Sept 2019”)",
        },
        {"row": 5, "column": "Ref", "message": "Reference 1.1 is also used on row 2"},
        {"row": 6, "column": "RAG", "message": "“Purple” is not Red, Amber, Green or Grey"},
    ]
    assert summary["saved"] is False
    assert not Action.objects.exists() and not Plan.objects.exists()


def test_the_command_prints_json_and_exits_non_zero_on_errors(manager: User, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(bad_file())
    out = StringIO()
    with pytest.raises(CommandError, match="4 errors: nothing was imported"):
        call_command("import_plan", str(path), "--json", "--as-user", "manager", stdout=out)
    printed = json.loads(out.getvalue())
    assert printed["rows"] == 5 and len(printed["errors"]) == 4 and printed["created"] == 0
    assert not Action.objects.exists()


def test_the_command_dry_run_saves_nothing_then_imports(manager: User) -> None:
    out = StringIO()
    call_command(
        "import_plan",
        str(PLAN_CSV),
        "--dry-run",
        "--json",
        "--as-user",
        "manager",
        "--source",
        SOURCE,
        stdout=out,
    )
    assert json.loads(out.getvalue())["created"] == 30
    assert not Action.objects.exists()
    out = StringIO()
    call_command(
        "import_plan", str(PLAN_CSV), "--json", "--as-user", "manager", "--source", SOURCE, stdout=out
    )
    printed = json.loads(out.getvalue())
    assert (printed["rows"], printed["created"], printed["updated"], printed["errors"]) == (30, 30, 0, [])
    assert len(printed["flagged"]) == 22  # every open row: its "who responsible" is a group, not a person


def test_synonyms_unknown_columns_people_and_dates_without_a_date(
    manager: User, owner: User, health: Agency
) -> None:
    owner.first_name, owner.last_name = "Paul", "Green"
    owner.save()
    content = (
        "REF.,Actions,Deadline,Lead Officer,Evidence of success,Update,Status,Budget\n"
        "A1,Train officers,30 Sept 2019,Paul Green,Training records,Half trained,amber,£500\n"
        "A2,Review the pathway,ongoing,NHS Greater Manchester ICB,,,,\n"
        "A3,Report quarterly,quarterly updates,Someone Else,,,,\n"
        "A4,Agree the protocol,June 19 \u2013 Dec 19,paul green,,,,\n"
    ).encode()
    summary = import_file(manager, "synonyms.csv", content)
    assert summary["errors"] == []
    actions = {a.reference: a for a in Action.objects.all()}
    a1 = actions["A1"]
    assert (a1.owner, a1.agency, a1.due_on, a1.reported_rag) == (
        owner,
        owner.person.agency,
        dt.date(2019, 9, 30),
        "amber",
    )
    assert a1.outcome_measure == "Training records" and a1.extra_columns == {"Budget": "£500"}
    assert a1.progress_notes.get().text == "Half trained"
    assert a1.state == ActionState.AGREED  # an owner and a date: agreed, as the plan was
    assert actions["A2"].due_on is None and actions["A2"].agency == health and actions["A2"].owner is None
    assert actions["A4"].due_on == dt.date(2019, 12, 31) and actions["A4"].owner == owner
    flagged = {f["reference"]: f["why"] for f in summary["flagged"]}
    assert flagged["A2"] == [
        "needs a due date (the plan says “ongoing”)",
        "needs an owner (the plan says “NHS Greater Manchester ICB”)",
    ]
    assert flagged["A3"][0] == "needs a due date (the plan says “quarterly updates”)"
    # The unknown column comes back on export.
    headers, rows = __import__("workflows.exports", fromlist=["plan_table"]).plan_table(
        Plan.objects.get(name=SOURCE)
    )
    assert headers[-1] == "Budget" and rows[0][-1] == "£500"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("June 2019", dt.date(2019, 6, 30)),
        ("Sept 2019", dt.date(2019, 9, 30)),
        ("30 Sept 2019", dt.date(2019, 9, 30)),
        ("March 2020", dt.date(2020, 3, 31)),
        ("February 2020", dt.date(2020, 2, 29)),
        ("April 2019 \u2013 March 2020", dt.date(2020, 3, 31)),  # en dash
        ("June 19 \u2013 Dec 19", dt.date(2019, 12, 31)),
        ("April 2019 to March 2020", dt.date(2020, 3, 31)),
        ("31/12/2019", dt.date(2019, 12, 31)),
        ("2019-06-30", dt.date(2019, 6, 30)),
        ("end of March 2020", dt.date(2020, 3, 31)),
        (dt.datetime(2019, 7, 1, 0, 0), dt.date(2019, 7, 1)),
    ],
)
def test_date_forms(text: object, expected: dt.date) -> None:
    assert read_plan_date(text).on == expected


@pytest.mark.parametrize("text", ["ongoing", "Ongoing", "quarterly updates", "Annual", "TBC", ""])
def test_no_date_is_invented(text: str) -> None:
    read = read_plan_date(text)
    assert read.on is None and read.no_date and not read.error


@pytest.mark.parametrize("text", ["Spring 2020", "31 June 2019", "soon", "13/13/2019"])
def test_unreadable_dates_are_errors(text: str) -> None:
    assert read_plan_date(text).error


def test_a_manager_previews_maps_a_column_and_imports_through_the_pages(manager: User) -> None:
    client = Client()
    client.force_login(manager)
    content = b"Ref,Objective,Target,Notes\n1,Train staff,June 2019,Half done\n"
    response = client.post(
        "/plans/import/", {"file": SimpleUploadedFile("p.csv", content), "source": "Neglect plan"}
    )
    assert response.status_code == 302
    preview_url = response["Location"]
    page = client.get(preview_url).content.decode()
    assert "Keep as notes on the action" in page and "Train staff" in page
    assert not Action.objects.exists()  # a preview saves nothing
    # "Target" is not a name the importer knows: the person maps it to the due date.
    page = client.get(preview_url + "&column_2=due").content.decode()
    assert "30 Jun 2019" in page
    response = client.post(
        preview_url.split("?")[0], {"source": "Neglect plan", "column_2": "due"}, follow=True
    )
    assert "Imported 1 rows into “Neglect plan”" in response.content.decode()
    action = Action.objects.get()
    assert action.due_on == dt.date(2019, 6, 30) and action.extra_columns == {"Notes": "Half done"}


def test_oversized_and_wrong_type_uploads_are_refused(manager: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.PLAN_IMPORT_MAX_BYTES = 100
    client = Client()
    client.force_login(manager)
    big = client.post(
        "/plans/import/", {"file": SimpleUploadedFile("p.csv", b"Ref,Objective\n" + b"x" * 200)}
    )
    assert "larger than" in big.content.decode()
    other = client.post("/plans/import/", {"file": SimpleUploadedFile("p.pdf", b"%PDF")})
    assert "Choose a .csv or .xlsx file" in other.content.decode()
    broken = client.post(
        "/plans/import/", {"file": SimpleUploadedFile("p.xlsx", b"not a workbook")}, follow=True
    )
    assert "cannot be read as an Excel workbook" in broken.content.decode()
    assert not Plan.objects.exists()


def test_agency_people_cannot_import_or_export_plans(manager: User, police: Agency) -> None:
    import_file(manager, "plan.csv", plan_bytes())
    plan = Plan.objects.get()
    lead = person_in(police, roles.AGENCY_LEAD)
    client = Client()
    client.force_login(lead)
    assert client.get("/plans/").status_code == 403
    assert client.get("/plans/import/").status_code == 403
    assert client.get(f"/plans/{plan.pk}/export.csv").status_code == 403
    assert client.get(f"/plans/{plan.pk}/export.xlsx").status_code == 403
    other_manager_upload = PlanUpload.objects.create(
        name="p.csv", content=b"Ref,Objective\n1,x\n", uploaded_by=manager
    )
    assert client.get(f"/plans/import/{other_manager_upload.pk}/").status_code == 403


def test_import_as_completed_cannot_be_requested_by_anyone(manager: User, owner: User) -> None:
    action = ActionFactory.create(owner=owner)
    api = APIClient()
    api.force_authenticate(manager)
    names = [t["name"] for t in api.get(f"/api/actions/{action.pk}/transitions/").json()]
    assert "import_as_completed" not in names
    response = api.post(f"/api/actions/{action.pk}/transitions/import_as_completed/", {}, format="json")
    assert response.status_code == 400 and "no transition called" in response.json()["detail"]
    assert Action.objects.get(pk=action.pk).state == ActionState.DRAFT


def test_a_manager_imports_a_plan_named_with_an_ampersand_and_a_hash_under_its_whole_name(
    manager: User,
) -> None:
    client = Client()
    client.force_login(manager)
    content = b"Ref,Objective,Target\n1,Train staff,June 2019\n"
    name = "Plan A & B #2 100% ?x=1"
    response = client.post("/plans/import/", {"file": SimpleUploadedFile("p.csv", content), "source": name})
    preview_url = response["Location"]
    page = client.get(preview_url).content.decode()
    assert "Preview the import into “Plan A &amp; B #2 100% ?x=1”" in page
    response = client.post(preview_url.split("?")[0], {"source": name}, follow=True)
    assert Plan.objects.get().name == name
