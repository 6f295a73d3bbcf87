"""The section 11 cycle page costs a fixed number of queries, and renders no list of people, however many
agencies take part and however many people there are."""

import pytest
from django.contrib.auth.models import User
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
    cycle: Section11Cycle, manager: User, owner: User, health_lead: User
) -> None:
    from audits.models import Rating, Section11Return
    from audits.services.section11 import (
        challenge_review,
        rating_add_action,
        rating_add_evidence,
        return_assign_reviewer,
    )
    from tests.audits.helpers import rate_all
    from workflows.transitions import transition_perform

    def the_return() -> Section11Return:
        return Section11Return.objects.get(cycle=cycle, agency=owner.person.agency)

    rate_all(the_return(), owner)
    transition_perform(obj=the_return(), name="submit", actor=owner)
    transition_perform(obj=cycle, name="start_challenge", actor=manager)
    return_assign_reviewer(agency_return=the_return(), actor=manager, reviewer=health_lead)
    transition_perform(obj=the_return(), name="begin_challenge", actor=manager)
    client = Client()
    client.force_login(owner)

    def return_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/section11/returns/{the_return().pk}/").status_code == 200
        return len(queries)

    ratings = list(the_return().ratings.order_by("standard__number"))
    challenge_review(
        rating=ratings[0], actor=health_lead, agree=False, proposed_rating=Rating.AMBER, reasoning="x"
    )
    few = return_page()
    for rating in ratings[1:]:
        challenge_review(
            rating=rating, actor=health_lead, agree=False, proposed_rating=Rating.RED, reasoning="y"
        )
        rating_add_evidence(rating=rating, actor=owner, description="More", url="https://example.org/more")
    from audits.services.section11 import challenge_respond

    for rating in ratings:
        challenge_respond(rating=rating, actor=owner, accept=True)
        for n in range(2):
            rating_add_action(
                rating=rating,
                actor=manager,
                description=f"Close the gap {n}",
                owner=owner,
                due_on=cycle.challenge_due_on,
            )
    assert return_page() == few
