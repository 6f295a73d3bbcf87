import datetime as dt

import pytest
from django.contrib.auth.models import User

from reviews.models import RapidReview
from reviews.services import rapid_review_ask_agency, rapid_review_create
from workflows.models import Agency

# A Monday: the rapid review clock from here runs over Christmas and New Year.
NOTIFIED = dt.date(2026, 12, 21)


@pytest.fixture
def rapid_review(manager: User, second_manager: User) -> RapidReview:
    return rapid_review_create(
        actor=manager,
        reference="RR-2026-01",
        child_reference="Child A",
        incident_type=RapidReview.IncidentType.SERIOUS_HARM,
        became_aware_on=dt.date(2026, 12, 17),
        notified_on=NOTIFIED,
        lead=manager,
        chair=second_manager,
    )


@pytest.fixture
def asked_review(
    rapid_review: RapidReview, manager: User, owner: User, police: Agency, health: Agency, health_lead: User
) -> RapidReview:
    rapid_review_ask_agency(review=rapid_review, actor=manager, agency=police, owner=owner)
    rapid_review_ask_agency(review=rapid_review, actor=manager, agency=health)
    return rapid_review
