"""Person pickers scale to thousands of people: no page lists everyone, a page costs the same queries
however many people there are, the lookup offers only the people the viewer may pick, and one field reads
what was typed (a username, an email or a name)."""

import pytest
from django import forms
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import person_in
from workflows import roles
from workflows.forms import PersonChoiceField
from workflows.models import Agency

pytestmark = pytest.mark.django_db


def page_queries(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_a_page_with_person_pickers_lists_nobody_and_costs_the_same_with_2_and_40_people(
    auditor: User, police: Agency
) -> None:
    client = Client()
    client.force_login(auditor)
    person_in(police, first_name="Early", last_name="Person")
    few, _ = page_queries(client, reverse("audit-create"))
    for n in range(38):
        person_in(police, first_name="Extra", last_name=f"Person{n}")
    many, content = page_queries(client, reverse("audit-create"))
    assert few == many
    assert "Person37" not in content and "Early Person" not in content
    assert 'data-person-lookup="/people/lookup/"' in content


class OwnerForm(forms.Form):
    owner = PersonChoiceField()


def picked(text: str) -> User | str:
    form = OwnerForm({"owner": text})
    return form.cleaned_data["owner"] if form.is_valid() else " ".join(str(e) for e in form.errors["owner"])


def test_a_picker_takes_a_username_an_email_or_a_unique_name_and_says_why_not_otherwise(
    police: Agency, health: Agency
) -> None:
    alex = person_in(
        police, username="alex.p", email="Alex.Price@police.example", first_name="Alex", last_name="Price"
    )
    assert picked("alex.p") == alex
    assert picked("alex.price@POLICE.example") == alex
    assert picked("alex price") == alex
    assert picked(f"Alex Price ({police.name})") == alex
    person_in(health, first_name="Alex", last_name="Price")
    assert "More than one person is called “Alex Price”" in str(picked("Alex Price"))
    assert "Nobody" in str(picked("nobody.here"))
    gone = person_in(police, username="left.service")
    gone.is_active = False
    gone.save()
    assert "Nobody" in str(picked("left.service"))


def test_the_person_lookup_offers_only_the_people_the_viewer_may_pick(
    police: Agency, health: Agency, manager: User, police_lead: User
) -> None:
    for n in range(30):
        person_in(police, first_name="Sam", last_name=f"Police{n}")
    person_in(health, first_name="Sam", last_name="Health")
    client = Client()

    def lookup(user: User, text: str) -> list[dict[str, str]]:
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("people-lookup"), {"q": text})
        assert len(queries) <= 6
        return list(response.json()["results"])

    # An agency lead picks among their own agency's people; a manager among everyone, a page at a time.
    lead_sees = lookup(police_lead, "sam")
    assert lead_sees and all(police.name in r["label"] for r in lead_sees)
    assert len(lookup(manager, "sam")) == 20
    assert [r["label"] for r in lookup(manager, "sam health")] == [f"Sam Health ({health.name})"]
    assert lookup(manager, "s") == []  # too short to search
    client.logout()
    assert client.get(reverse("people-lookup"), {"q": "sam"}).status_code == 302


def test_an_agency_lead_picking_someone_outside_their_agency_is_refused(
    police: Agency, health: Agency, police_lead: User
) -> None:
    outsider = person_in(health, username="health.person")
    form = OwnerForm({"owner": outsider.username})
    form.fields["owner"].scope_to(police_lead)  # type: ignore[attr-defined]
    assert not form.is_valid() and "Nobody you may choose" in str(form.errors["owner"])
    insider = person_in(police, roles.ACTION_OWNER, username="police.person")
    form = OwnerForm({"owner": insider.username})
    form.fields["owner"].scope_to(police_lead)  # type: ignore[attr-defined]
    assert form.is_valid() and form.cleaned_data["owner"] == insider


def test_the_browsable_api_asks_for_a_person_without_listing_everyone(
    manager: User, owner: User, police: Agency
) -> None:
    from tests.factories import ActionFactory

    ActionFactory.create(owner=owner)
    client = Client()
    client.force_login(manager)
    url = "/api/actions/"
    few, _ = page_queries_html(client, url)
    for n in range(38):
        person_in(police, username=f"listed.nobody{n}")
    many, content = page_queries_html(client, url)
    assert few == many
    assert "listed.nobody37" not in content and 'name="owner"' in content


def page_queries_html(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_changing_an_audit_shows_its_lead_auditor_by_username_and_keeps_them(auditor: User) -> None:
    import datetime as dt

    from audits.services.audits import audit_create

    audit = audit_create(
        actor=auditor,
        reference="EHE-2026",
        title="Elective home education",
        lead_auditor=auditor,
        returns_due_on=dt.date(2026, 12, 18),
    )
    client = Client()
    client.force_login(auditor)
    content = client.get(reverse("audit-edit", args=[audit.pk])).content.decode()
    assert 'name="lead_auditor"' in content and f'value="{auditor.username}"' in content
