"""A big plan file: refused while it is read when it is too big, and imported by a worker, with its
progress on the page, when it is merely long."""

import csv
import io
import time

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.conftest import celery_broker
from workflows.imports.reading import MAX_ROWS
from workflows.models import Action, Plan, PlanUpload

pytestmark = pytest.mark.django_db


def xlsx_with_rows(rows: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Plan")
    sheet.append(["Ref", "Objective", "Who responsible"])
    for n in range(rows):
        sheet.append([f"{n}", "Train staff", "Safeguarding team"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_with_rows(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Ref", "Objective", "Who responsible"])
    for n in range(rows):
        writer.writerow([f"1.{n}", f"Train staff, group {n}", "Safeguarding team"])
    return out.getvalue().encode()


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_spreadsheet_with_too_many_rows_is_refused_while_it_is_read_and_nothing_changes(
    manager: User, kind: str
) -> None:
    content = xlsx_with_rows(40_000) if kind == "xlsx" else csv_with_rows(40_000)
    client = Client()
    client.force_login(manager)
    started = time.monotonic()
    page = client.post("/plans/import/", {"file": SimpleUploadedFile(f"plan.{kind}", content)})
    elapsed = time.monotonic() - started
    assert f"more than {MAX_ROWS} rows" in page.content.decode()
    # Reading stops at the limit: the whole file (40,000 rows) is never read into memory.
    assert elapsed < 10, f"{elapsed:.1f}s to refuse a {len(content) // 1024} KB file"
    assert not PlanUpload.objects.exists() and not Plan.objects.exists() and not Action.objects.exists()


def test_an_excel_file_that_unpacks_to_too_much_is_refused_before_it_is_parsed(
    manager: User, settings: SettingsWrapper
) -> None:
    from workflows.imports import reading

    client = Client()
    client.force_login(manager)
    content = xlsx_with_rows(100)
    original = reading.MAX_XLSX_UNPACKED_BYTES
    reading.MAX_XLSX_UNPACKED_BYTES = 1000
    try:
        page = client.post("/plans/import/", {"file": SimpleUploadedFile("plan.xlsx", content)})
    finally:
        reading.MAX_XLSX_UNPACKED_BYTES = original
    assert "unpacks to more than" in page.content.decode()
    assert not PlanUpload.objects.exists()


def test_a_long_plan_is_imported_by_a_worker_and_the_page_shows_its_progress_then_its_result(
    manager: User, settings: SettingsWrapper, django_capture_on_commit_callbacks: object
) -> None:
    settings.PLAN_IMPORT_INLINE_ROWS = 20
    client = Client()
    client.force_login(manager)
    uploaded = client.post(
        "/plans/import/", {"file": SimpleUploadedFile("long.csv", csv_with_rows(60)), "source": "Long plan"}
    )
    assert uploaded.status_code == 302
    upload = PlanUpload.objects.get()
    preview = client.get(f"/plans/import/{upload.pk}/?source=Long%20plan").content.decode()
    assert "60 rows read and checked" in preview and not Action.objects.exists()
    # Queued, not imported in the request: the page shows that it waits, and reloads itself.
    with celery_broker("memory://", task_always_eager=False), django_capture_on_commit_callbacks() as queued:  # type: ignore[operator]
        response = client.post(f"/plans/import/{upload.pk}/", {"source": "Long plan"})
    assert response.status_code == 302 and response["Location"] == f"/plans/import/{upload.pk}/progress/"
    assert len(queued) == 1 and not Action.objects.exists()
    waiting = client.get(response["Location"]).content.decode()
    assert "60 rows are waiting for a worker" in waiting and 'http-equiv="refresh"' in waiting
    # Part way through checking, as a worker reports it.
    PlanUpload.objects.filter(pk=upload.pk).update(status="checking", rows_checked=40)
    assert "40 of 60 rows checked" in client.get(response["Location"]).content.decode()
    # The worker's run (eager here), then the result, and the page stops reloading.
    PlanUpload.objects.filter(pk=upload.pk).update(status="queued", rows_checked=0)
    from workflows.tasks import import_plan_upload

    assert import_plan_upload(upload.pk) == "imported"
    assert import_plan_upload(upload.pk) == "not queued"  # a second delivery of the task does nothing
    plan = Plan.objects.get(name="Long plan")
    assert Action.objects.filter(recommendation__source_id=plan.pk).count() == 60
    done = client.get(response["Location"]).content.decode()
    assert "Imported 60 rows" in done and "60 created" in done and 'http-equiv="refresh"' not in done
    assert bytes(PlanUpload.objects.get().content) == b""  # the file is not kept once imported
    # Another manager cannot follow someone else's import.
    from tests.factories import person_in
    from workflows import roles

    other = Client()
    other.force_login(person_in(manager.person.agency, roles.MANAGER, username="other.manager"))
    assert other.get(response["Location"]).status_code == 404


def test_a_long_plan_with_errors_is_not_imported_and_the_page_lists_them(
    manager: User, settings: SettingsWrapper
) -> None:
    settings.PLAN_IMPORT_INLINE_ROWS = 20
    rows = csv_with_rows(30).replace(b"1.5,", b"1.4,")  # a reference used twice
    client = Client()
    client.force_login(manager)
    client.post("/plans/import/", {"file": SimpleUploadedFile("long.csv", rows), "source": "Long plan"})
    upload = PlanUpload.objects.get()
    PlanUpload.objects.filter(pk=upload.pk).update(status="queued", source="Long plan", rows=30)
    from workflows.tasks import import_plan_upload

    assert import_plan_upload(upload.pk) == "errors"
    page = client.get(f"/plans/import/{upload.pk}/progress/").content.decode()
    assert "Nothing was imported" in page and "Reference 1.4 is also used on row" in page
    assert not Action.objects.exists()
