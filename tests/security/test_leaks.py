"""Nobody sees another agency's work through a side door: timelines, choice lists, the browsable API."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from reviews.models import Chronology, RapidReview
from reviews.services import chronology_save
from workflows.transitions import transition_perform

pytestmark = pytest.mark.django_db


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
