"""A business manager filters the overdue queue, opens an item and exports the filtered queue."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.factories import ActionFactory
from tests.workflows.helpers import advance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_filters_the_queue_opens_an_item_and_exports(  # type: ignore[no-untyped-def]
    page: Page, live_server, manager: User, owner: User, health_owner: User, tmp_path
) -> None:
    today = timezone.localdate()
    for ref, who, days in [("P-RED", owner, -40), ("P-AMBER", owner, -3), ("H-RED", health_owner, -30)]:
        advance(
            ActionFactory.create(
                reference=ref, owner=who, due_on=today + dt.timedelta(days=days), description=f"Work {ref}"
            ),
            "in_progress",
            manager=manager,
        )
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Queue").first.click()
    expect(page.get_by_text("3 items match")).to_be_visible()
    page.get_by_text("Filter", exact=True).click()
    page.get_by_label("Agency").select_option(label="Greater Manchester Police")
    page.get_by_label("RAG").select_option(label="Red")
    page.get_by_role("button", name="Apply filter").click()
    expect(page.get_by_text("1 item matches")).to_be_visible()
    assert "rag=red" in page.url  # the filter lives in the address, to share
    screenshot(page, "queue-filtered")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    exported = tmp_path / "queue.csv"
    download.value.save_as(exported)
    text = exported.read_text(encoding="utf-8-sig")
    assert "P-RED" in text and "P-AMBER" not in text and "H-RED" not in text
    page.get_by_role("link", name="Work P-RED").click()
    expect(page.get_by_role("heading", name="Work P-RED")).to_be_visible()
