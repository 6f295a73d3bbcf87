"""A demo action owner signs in, finds their work and records progress, in a real headless Chromium."""

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from workflows.models import ProgressNote

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/")
    expect(page.get_by_role("heading", name="Sign in to Followthrough")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("followthrough-demo")
    page.get_by_role("button", name="Sign in").click()


def test_demo_owner_signs_in_and_sees_the_home_page(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    call_command("seed_demo")
    sign_in(page, live_server.url, "csc.owner")
    expect(page.get_by_role("heading", name="Welcome, Sophie Brown")).to_be_visible()
    expect(page.get_by_text("Oldham Council Children's Social Care")).to_be_visible()
    # GOV.UK Frontend's stylesheet loaded from our own static files.
    assert page.evaluate("getComputedStyle(document.querySelector('.govuk-header')).display") != "inline"
    screenshot(page, "home")


def test_owner_opens_an_action_from_my_work_and_records_progress(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    call_command("seed_demo")
    sign_in(page, live_server.url, "csc.owner")
    page.get_by_role("link", name="My work").first.click()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    screenshot(page, "my-work")
    page.locator("table a.govuk-link").first.click()
    page.get_by_label("What progress has been made?").fill("Audit tool drafted and shared with team managers")
    page.get_by_label("Your own RAG rating (optional)").select_option("green")
    page.get_by_role("button", name="Save progress").click()
    expect(page.get_by_text("Progress recorded")).to_be_visible()
    expect(page.get_by_text("Audit tool drafted and shared with team managers").first).to_be_visible()
    screenshot(page, "action")
    assert ProgressNote.objects.filter(text__startswith="Audit tool drafted").count() == 1
