"""The section 11 cycle page costs a fixed number of queries, and renders no list of people, however many
agencies take part and however many people there are."""

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audits.models import Section11Cycle
from audits.services.section11 import cycle_add_agency
from tests.factories import AgencyFactory, person_in
from workflows import roles
from workflows.models import Agency

pytestmark = pytest.mark.django_db


def test_the_cycle_page_costs_the_same_with_2_and_40_people_and_more_agencies(
    cycle: Section11Cycle, manager: User, police: Agency
) -> None:
    client = Client()
    client.force_login(manager)

    def cycle_page() -> tuple[int, str]:
        ContentType.objects.clear_cache()  # both measures start from the same cache
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/section11/{cycle.pk}/")
        assert response.status_code == 200
        return len(queries), response.content.decode()

    few, _ = cycle_page()
    for n in range(5):
        agency = AgencyFactory.create(name=f"School trust {n}")
        cycle_add_agency(
            cycle=cycle, actor=manager, agency=agency, owner=person_in(agency, roles.AGENCY_LEAD)
        )
    for n in range(40):
        person_in(police, first_name="Many", last_name=f"People{n}")
    many, content = cycle_page()
    assert few == many
    assert "People39" not in content


def test_the_return_page_costs_the_same_however_long_its_challenge_and_evidence(
    cycle: Section11Cycle,
    manager: User,
    owner: User,
    health_owner: User,
    health_lead: User,
    police_lead: User,
) -> None:
    from audits.models import Rating, Section11Return, StandardRating
    from audits.services.section11 import (
        challenge_respond,
        challenge_review,
        rating_add_action,
        rating_add_evidence,
        return_assign_reviewer,
    )
    from tests.audits.helpers import rate_all
    from workflows.transitions import transition_perform

    def the_return(person: User) -> Section11Return:
        return Section11Return.objects.get(cycle=cycle, agency=person.person.agency)

    for person in (owner, health_owner):
        rate_all(the_return(person), person)
        transition_perform(obj=the_return(person), name="submit", actor=person)
    transition_perform(obj=cycle, name="start_challenge", actor=manager)
    for person, reviewer in ((owner, health_lead), (health_owner, police_lead)):
        return_assign_reviewer(agency_return=the_return(person), actor=manager, reviewer=reviewer)
        transition_perform(obj=the_return(person), name="begin_challenge", actor=manager)

    def challenged(person: User, reviewer: User, gaps: int, actions: int, evidence: int) -> int:
        """Every standard challenged, ``gaps`` of them revised to Amber with ``actions`` actions each and
        ``evidence`` more pieces of evidence; the queries of the return's page."""
        for n, rating in enumerate(the_return(person).ratings.order_by("standard__number")):
            if n >= gaps:
                challenge_review(rating=rating, actor=reviewer, agree=True)
                continue
            challenge_review(
                rating=rating, actor=reviewer, agree=False, proposed_rating=Rating.AMBER, reasoning="Thin"
            )
            challenge_respond(rating=StandardRating.objects.get(pk=rating.pk), actor=person, accept=True)
            for _ in range(evidence):
                rating_add_evidence(
                    rating=rating, actor=person, description="More", url="https://example.org/m"
                )
            for k in range(actions):
                rating_add_action(
                    rating=rating,
                    actor=manager,
                    description=f"Close gap {k}",
                    owner=person,
                    due_on=cycle.challenge_due_on,
                )
        client = Client()
        client.force_login(manager)
        ContentType.objects.clear_cache()  # both pages start from the same cache
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/section11/returns/{the_return(person).pk}/").status_code == 200
        return len(queries)

    assert challenged(owner, health_lead, gaps=1, actions=1, evidence=0) == challenged(
        health_owner, police_lead, gaps=8, actions=2, evidence=2
    )
