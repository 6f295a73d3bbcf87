"""The dashboard is never counted inside a request: partnership staff and agency leads read figures the
beat task drew, the page says when; the clocks at risk are chosen and counted in SQL."""

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oversight import dashboard as dashboard_module
from oversight.dashboard import dashboard
from oversight.tasks import draw_dashboard
from tests.factories import ActionFactory, PlanFactory
from workflows.clocks import clock_sync

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def _action_reads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if 'FROM "workflows_action"' in q["sql"]]


@pytest.mark.parametrize("who", ["manager", "police_lead"])
def test_nobody_opening_the_dashboard_waits_for_every_action_to_be_counted(
    who: str, owner: User, request: Any
) -> None:
    ActionFactory.create(owner=owner, due_on=TODAY - dt.timedelta(days=30))
    client = Client()
    client.force_login(request.getfixturevalue(who))
    with CaptureQueriesContext(connection) as before:
        page = client.get("/dashboard/").content.decode()
    assert _action_reads(before) == [] and "not been drawn yet" in page
    draw_dashboard()
    with CaptureQueriesContext(connection) as after:
        page = client.get("/dashboard/").content.decode()
    assert _action_reads(after) == [] and "56 days or more" in page and "not been drawn yet" not in page


def test_an_agency_lead_reads_their_own_agencys_figures_as_drawn(
    owner: User, health_owner: User, police_lead: User, manager: User
) -> None:
    ActionFactory.create(owner=owner, due_on=TODAY - dt.timedelta(days=100))
    ActionFactory.create(owner=health_owner, due_on=TODAY - dt.timedelta(days=100))
    draw_dashboard()
    ActionFactory.create(owner=owner, due_on=TODAY - dt.timedelta(days=100))  # after the drawing
    lead = dashboard(police_lead, today=TODAY)
    assert [agency for agency, _ in lead.rag_by_agency] == ["Greater Manchester Police"]
    assert dict(lead.ageing)["56 days or more"] == 1 and lead.drawn_at is not None
    assert dict(dashboard(manager, today=TODAY).ageing)["56 days or more"] == 2
    draw_dashboard()
    assert dict(dashboard(police_lead, today=TODAY).ageing)["56 days or more"] == 2


def test_figures_older_than_their_age_are_shown_with_a_warning_not_counted_again(
    owner: User, manager: User, settings: Any
) -> None:
    ActionFactory.create(owner=owner, due_on=TODAY - dt.timedelta(days=100))
    draw_dashboard()
    ActionFactory.create(owner=owner, due_on=TODAY - dt.timedelta(days=100))
    settings.FOLLOWTHROUGH_DASHBOARD_MAX_AGE_MINUTES = 0
    data = dashboard(manager, today=TODAY)
    assert dict(data.ageing)["56 days or more"] == 1 and data.stale
    client = Client()
    client.force_login(manager)
    assert "may have stopped" in client.get("/dashboard/").content.decode()


def test_the_clocks_at_risk_or_late_are_chosen_in_sql_and_counted_beyond_those_shown(
    manager: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = PlanFactory.create(name="Review source")
    # Started long ago (late), and just now (on track): only the late ones are listed.
    for n in range(3):
        clock_sync(
            source=source,
            name="rapid_review",
            label=f"late {n}",
            starts_on=TODAY - dt.timedelta(days=60 + n),
            met_on=None,
        )
        source = PlanFactory.create(name=f"Review source {n}")
    clock_sync(source=source, name="rapid_review", label="fresh", starts_on=TODAY, met_on=None)
    monkeypatch.setattr(dashboard_module, "CLOCKS_SHOWN", 2)
    data = dashboard(manager, today=TODAY)
    assert [clock.label for clock, _, _ in data.clocks] == ["late 2", "late 1"]
    assert data.clocks_at_risk == 3
