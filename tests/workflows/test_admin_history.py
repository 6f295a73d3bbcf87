"""The admin is for administrators, and what they change there is history with who and why."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.factories import ActionFactory, RecommendationFactory
from tests.workflows.helpers import advance
from workflows.models import Action, Recommendation

pytestmark = pytest.mark.django_db


def test_admin_change_needs_a_reason_and_keeps_it_with_the_administrators_name(
    admin_client: Client, admin_user: User
) -> None:
    recommendation = RecommendationFactory.create(text="Improve supervision")
    url = reverse("admin:workflows_recommendation_change", args=[recommendation.pk])
    fields = {"text": "Improve supervision of neglect cases", "reference": recommendation.reference}
    refused = admin_client.post(url, fields)
    assert refused.status_code == 200
    assert Recommendation.objects.get(pk=recommendation.pk).text == "Improve supervision"
    admin_client.post(url, {**fields, "change_reason": "Typo in the panel's wording"})
    latest = Recommendation.objects.get(pk=recommendation.pk).history.first()
    assert (latest.text, latest.history_user, latest.history_change_reason) == (
        "Improve supervision of neglect cases",
        admin_user,
        "Typo in the panel's wording",
    )


def test_admin_cannot_change_an_agreed_actions_wording(
    admin_client: Client, owner: User, manager: User
) -> None:
    action = advance(
        ActionFactory.create(owner=owner, description="Train all 40 staff"), "agreed", manager=manager
    )
    url = reverse("admin:workflows_action_change", args=[action.pk])
    assert admin_client.get(url).status_code == 200  # read, not changed
    response = admin_client.post(url, {"description": "Do something much easier", "change_reason": "x"})
    assert response.status_code == 403
    assert Action.objects.get(pk=action.pk).description == "Train all 40 staff"
    assert action.history.count() == 2
