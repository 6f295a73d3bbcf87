"""An auditor takes a multi-agency audit from scoping to fieldwork; a police officer fills in the return."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from audits.models import AgencyReturn, Audit, ReturnState
from tests.e2e.conftest import screenshot
from workflows.models import Agency

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()


def test_auditor_scopes_an_audit_into_fieldwork_and_an_agency_completes_its_return(  # type: ignore[no-untyped-def]
    page: Page, live_server, auditor: User, owner: User, police: Agency, health: Agency, health_lead: User
) -> None:
    sign_in(page, live_server.url, "auditor")
    page.get_by_role("link", name="Audits").first.click()
    page.get_by_role("link", name="Commission an audit").click()
    page.get_by_label("Reference", exact=True).fill("EHE-2026")
    page.get_by_label("Title", exact=True).fill("Elective home education")
    page.get_by_label("Agency returns due").fill((timezone.localdate() + dt.timedelta(days=21)).isoformat())
    page.get_by_role("button", name="Commission the audit").click()
    expect(page.get_by_text("Audit commissioned")).to_be_visible()
    page.get_by_role("button", name="Start scoping").click()
    expect(page.locator(".govuk-tag", has_text="Scoping")).to_be_visible()

    page.get_by_label("Pseudonymised case reference").fill("Jane Smith")
    page.get_by_role("button", name="Add case").click()
    expect(page.get_by_text("never a name or a date of birth")).to_be_visible()
    page.get_by_label("Pseudonymised case reference").fill("EHE-01")
    page.get_by_role("button", name="Add case").click()
    expect(page.get_by_role("rowheader", name="EHE-01")).to_be_visible()
    # One agency is not enough: the refusal says why.
    page.get_by_label("Agency", exact=True).select_option(label="Greater Manchester Police")
    page.get_by_label("Who completes the agency's returns").fill(owner.email)
    page.get_by_role("button", name="Add agency").click()
    expect(page.get_by_text("at least two participating agencies")).to_be_visible()
    page.get_by_label("Agency", exact=True).select_option(label="NHS Greater Manchester ICB")
    page.get_by_role("button", name="Add agency").click()
    page.get_by_role("button", name="Start fieldwork (agencies' returns become due)").click()
    expect(page.locator(".govuk-tag", has_text="Fieldwork")).to_be_visible()
    expect(page.get_by_role("heading", name="Who owes what")).to_be_visible()
    screenshot(page, "audit-fieldwork")
    page.get_by_role("button", name="Sign out auditor").click()

    sign_in(page, live_server.url, owner.username)
    page.get_by_role("link", name="Audits").first.click()
    page.get_by_role("link", name="Elective home education").click()
    page.get_by_role("link", name="EHE-01").first.click()
    heading = "Greater Manchester Police: return for case EHE-01"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    page.get_by_label("What your agency knew").fill("Known since a 2025 missing episode")
    page.get_by_label("What your agency did").fill("Two welfare checks; shared with the school")
    page.get_by_label("Strengths").fill("Prompt welfare checks")
    page.get_by_role("button", name="Submit the return").click()
    expect(page.get_by_text("Answer every question")).to_be_visible()
    page.get_by_label("Shortfalls").fill("The child was not spoken to alone")
    page.get_by_label("Your agency's grade").select_option(label="Requires improvement")
    page.get_by_role("button", name="Submit the return").click()
    expect(page.get_by_text("Return submitted")).to_be_visible()
    screenshot(page, "audit-return-submitted")

    audit = Audit.objects.get(reference="EHE-2026")
    assert audit.state == "fieldwork"
    police_return = AgencyReturn.objects.get(case__audit=audit, agency=police)
    assert police_return.state == ReturnState.SUBMITTED and police_return.submitted_by == owner
    assert AgencyReturn.objects.get(case__audit=audit, agency=health).state == ReturnState.OWED
