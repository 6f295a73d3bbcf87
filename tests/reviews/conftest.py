import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from reviews.models import RapidReview
from reviews.services import rapid_review_ask_agency, rapid_review_create
from workflows.models import Agency

# A Monday: the rapid review clock from here runs over Christmas and New Year.
NOTIFIED = dt.date(2026, 12, 21)
# A rapid review records what has happened and refuses dates in the future, so its story over Christmas is
# told from a day after it has all happened.
TOLD_ON = dt.date(2027, 2, 1)


def tell_after_christmas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make "today" TOLD_ON for the application (which asks timezone.localdate), not the clock on the wall."""
    real = timezone.localdate

    def localdate(value: dt.datetime | None = None, timezone: dt.tzinfo | None = None) -> dt.date:
        return real(value, timezone) if value is not None else TOLD_ON

    monkeypatch.setattr("django.utils.timezone.localdate", localdate)


@pytest.fixture
def after_christmas(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    tell_after_christmas(monkeypatch)
    return TOLD_ON


@pytest.fixture
def rapid_review(manager: User, second_manager: User, monkeypatch: pytest.MonkeyPatch) -> RapidReview:
    tell_after_christmas(monkeypatch)
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
