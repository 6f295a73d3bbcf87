"""Nobody sees another agency's work through a side door: timelines, choice lists, the browsable API."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from audits.services.case_audits import case_audit_grade, case_audit_schedule
from reviews.models import Chronology, RapidReview
from reviews.services import chronology_save
from tests.security.test_privilege import health_shortfall
from tests.test_foundation import PRODUCTION_ENV, run_manage
from workflows.models import Agency, Recommendation
from workflows.transitions import transition_perform

pytestmark = pytest.mark.django_db

__all__ = ["health_shortfall"]


def page(user: User, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_an_agency_asked_for_a_chronology_does_not_see_another_agencys_on_the_review_timeline(
    asked_review: RapidReview, manager: User, owner: User, health_owner: User
) -> None:
    transition_perform(obj=asked_review, name="start_information_gathering", actor=manager)
    police = Chronology.objects.get(review=asked_review, agency__kind="police")
    chronology_save(chronology=police, actor=owner, summary="POLICE-ONLY contact history", submit=True)
    owner.first_name, owner.last_name = "Priya", "Constable"
    owner.save()

    seen_by_health = page(health_owner, f"/reviews/rapid/{asked_review.pk}/")
    assert "POLICE-ONLY" not in seen_by_health
    assert "Greater Manchester Police" not in seen_by_health
    assert "Constable" not in seen_by_health
    # The police still see their own, and the partnership sees every agency's.
    assert "POLICE-ONLY" in page(owner, f"/reviews/rapid/{asked_review.pk}/")
    assert "POLICE-ONLY" in page(manager, f"/reviews/rapid/{asked_review.pk}/")


@pytest.fixture
def health_private(health_shortfall: Recommendation, health_owner: User, asked_review: RapidReview) -> str:
    """A health shortfall, a health person and a rapid review the police were never asked to."""
    health_owner.username = "health.private.person"
    health_owner.save()
    Chronology.objects.filter(review=asked_review, agency__kind="police").delete()
    return "HEALTH-ONLY"


API_FORMS = [
    "/api/actions/",
    "/api/recommendations/",
    "/api/case-audits/",
    "/api/audits/",
    "/api/rapid-reviews/",
    "/api/practice-reviews/",
    "/api/chronologies/",
    "/api/audit-returns/",
    "/api/section11-returns/",
    "/api/transition-log/",
]


@pytest.mark.parametrize("url", API_FORMS)
def test_the_browsable_api_offers_a_police_lead_only_police_choices(
    url: str, health_private: str, police_lead: User, asked_review: RapidReview
) -> None:
    client = Client()
    client.force_login(police_lead)
    response = client.get(url, {"format": "api"}, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    html = response.content.decode()
    for private in [
        health_private,
        "health.private.person",
        "NHS Greater Manchester ICB",
        asked_review.reference,
    ]:
        assert private not in html, f"{private} offered on {url}"


def test_a_police_lead_planning_case_audits_is_offered_only_the_police(
    police_lead: User, health_owner: User, police: Agency
) -> None:
    case_audit = case_audit_schedule(
        actor=police_lead, agency=police, case_reference="P-1", scheduled_for=timezone.localdate()
    )
    transition_perform(obj=case_audit, name="start", actor=police_lead)
    case_audit_grade(
        case_audit=case_audit, actor=police_lead, grade="inadequate", shortfalls=["Late strategy"]
    )
    health = "NHS Greater Manchester ICB"
    for url in [f"/case-audits/{case_audit.pk}/", "/case-audits/new/", "/queue/"]:
        html = page(police_lead, url)
        assert health not in html and health_owner.get_full_name() not in html, url
    assert "Greater Manchester Police" in page(police_lead, "/case-audits/new/")


def test_the_browsable_api_is_off_in_production_unless_turned_on() -> None:
    def renderers(**env: str) -> str:
        result = run_manage(
            "shell",
            "-c",
            "from rest_framework.settings import api_settings;"
            "print([r.__name__ for r in api_settings.DEFAULT_RENDERER_CLASSES])",
            **{**PRODUCTION_ENV, **env},
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    by_default = renderers()
    assert "BrowsableAPIRenderer" not in by_default and "JSONRenderer" in by_default
    assert "BrowsableAPIRenderer" in renderers(DJANGO_BROWSABLE_API="true")
