"""A business manager takes a rapid review from notification to submission to the national Panel."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from reviews.models import RapidReview
from tests.e2e.conftest import screenshot
from workflows.calendar import working_calendar
from workflows.models import Agency

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_takes_a_rapid_review_from_notified_to_submitted_to_panel(  # type: ignore[no-untyped-def]
    page: Page, live_server, manager: User, owner: User, police: Agency
) -> None:
    today = timezone.localdate()
    notified = working_calendar().add_working_days(today, -3)
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Reviews").first.click()
    page.get_by_role("link", name="Record a serious incident notification").click()
    page.get_by_label("Reference", exact=True).fill("RR-2026-09")
    page.get_by_label("Child reference").fill("Child F")
    page.get_by_label("Incident type").select_option(label="A child was seriously harmed")
    page.get_by_label("Date the local authority became aware").fill(
        (notified - dt.timedelta(days=1)).isoformat()
    )
    page.get_by_label("Date the national Panel was notified").fill(notified.isoformat())
    page.get_by_label("Lead", exact=True).fill(f"{manager.get_full_name()} ({manager.person.agency})")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("RR-2026-09: rapid review to the national Panel")).to_be_visible()
    expect(page.get_by_text("Ask at least one agency for its chronology")).to_be_visible()

    page.get_by_label("Agency", exact=True).select_option(label="Greater Manchester Police")
    page.get_by_label("Who completes the chronology").fill(owner.username)
    page.get_by_role("button", name="Ask agency").click()
    expect(page.get_by_role("link", name="Greater Manchester Police")).to_be_visible()
    page.get_by_role("button", name="Start information gathering (chronologies become due)").click()
    expect(page.locator(".govuk-tag", has_text="Information gathering")).to_be_visible()
    screenshot(page, "rapid-review-information-gathering")

    page.get_by_role("link", name="Record dates, the panel meeting and the decision").click()
    page.get_by_label("Date of the panel meeting").fill(today.isoformat())
    page.get_by_label("Attendees").fill(
        "Police, ICB, children's social care; chaired by the business manager"
    )
    page.get_by_role("button", name="Save").click()
    # The police chronology has not come: the panel goes ahead without it, saying why.
    expect(page.get_by_text("Chronologies are still outstanding")).to_be_visible()
    page.get_by_label("Reason for “Record the panel meeting without the outstanding chronologies”").fill(
        "The panel could not wait beyond working day 12"
    )
    page.get_by_role("button", name="Record the panel meeting without the outstanding chronologies").click()
    expect(page.locator(".govuk-tag", has_text="Panel meeting")).to_be_visible()

    page.get_by_role("link", name="Record dates, the panel meeting and the decision").click()
    page.locator("#id_decision").select_option(label="Local practice review not recommended")
    page.get_by_label("Decision rationale").fill("Learning is single-agency and already in hand")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Record the decision").click()
    page.get_by_role("button", name="Record as sent to the national Panel").click()
    expect(page.locator(".govuk-tag", has_text="Submitted to the Panel")).to_be_visible()
    screenshot(page, "rapid-review-submitted")

    review = RapidReview.objects.get(reference="RR-2026-09")
    assert review.state == "submitted_to_panel" and review.sent_to_panel_on == today
    assert review.chronologies.get().state == "not_received"
