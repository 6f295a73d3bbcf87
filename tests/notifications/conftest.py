import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from notifications.models import ChasePolicy


@pytest.fixture
def chasing_on(db: None, manager: User) -> ChasePolicy:
    """Chasing switched on, with the manager as the partnership's business manager."""
    policy = ChasePolicy.current()
    policy.business_managers.set([manager])
    policy.confirmed_at = timezone.now()
    policy.confirmed_by = manager
    policy.save()
    return policy


# A Monday with no bank holiday within four weeks either side.
MONDAY = dt.date(2026, 11, 23)
