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
