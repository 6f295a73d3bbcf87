"""The sign-in audit: every sign-in, failure, lockout, token change and role change, who, when, where."""

import csv
import io

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client, RequestFactory
from simple_history.models import HistoricalRecords

from accounts.models import AccessEvent
from accounts.services import issue_token
from tests.factories import person_in
from workflows import roles
from workflows.models import Agency

pytestmark = pytest.mark.django_db
Kind = AccessEvent.Kind


def sign_in(username: str, password: str, address: str = "203.0.113.5") -> int:
    return (
        Client(HTTP_USER_AGENT="Edge/120")
        .post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)
        .status_code
    )


@pytest.fixture
def administrator(partnership: Agency) -> User:
    return person_in(partnership, roles.ADMINISTRATOR, username="it.admin", is_staff=True)


def test_every_sign_in_failure_and_lockout_is_recorded_with_who_when_and_where(owner: User) -> None:
    AccessEvent.objects.all().delete()
    assert sign_in(owner.username, "pw", address="192.0.2.10") == 302
    event = AccessEvent.objects.get()
    assert (event.kind, event.user, event.username, event.address) == (
        Kind.SIGNED_IN,
        owner,
        owner.username,
        "192.0.2.10",
    )
    assert event.user_agent == "Edge/120" and event.at is not None
    for _ in range(5):
        sign_in(owner.username, "hunter2-wrong", address="192.0.2.11")
    failures = AccessEvent.objects.filter(kind=Kind.SIGN_IN_FAILED)
    assert failures.count() == 5 and {f.address for f in failures} == {"192.0.2.11"}
    assert all(f.user == owner for f in failures)
    lockout = AccessEvent.objects.get(kind=Kind.LOCKED_OUT)
    assert lockout.username == owner.username and lockout.address == "192.0.2.11"
    # A failure for a username nobody has is recorded as typed, with no account.
    sign_in("no.such.person", "x", address="192.0.2.12")
    unknown = AccessEvent.objects.filter(kind=Kind.SIGN_IN_FAILED, username="no.such.person").get()
    assert unknown.user is None
    # No password is kept anywhere.
    assert not any("hunter2" in str(value) for row in AccessEvent.objects.values_list() for value in row)


def test_signing_out_is_recorded(owner: User) -> None:
    client = Client()
    client.force_login(owner)
    client.post("/logout/")
    assert AccessEvent.objects.filter(kind=Kind.SIGNED_OUT, user=owner).exists()


def test_creating_and_revoking_a_token_are_recorded(owner: User, administrator: User) -> None:
    client = Client()
    client.force_login(owner)
    client.post("/account/tokens/", {"name": "Nightly export"}, REMOTE_ADDR="192.0.2.20")
    created = AccessEvent.objects.get(kind=Kind.TOKEN_CREATED)
    assert created.user == owner and created.actor is None and created.address == "192.0.2.20"
    assert created.detail.startswith("Nightly export (ft_")
    token = owner.api_tokens.get()
    client.post(f"/account/tokens/{token.pk}/revoke/")
    assert AccessEvent.objects.get(kind=Kind.TOKEN_REVOKED).user == owner
    # An administrator revoking someone's token is named as having done it.
    other, _ = issue_token(owner, "Other")
    admin = Client()
    admin.force_login(administrator)
    admin.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [other.pk]},
        REMOTE_ADDR="192.0.2.21",
    )
    by_admin = AccessEvent.objects.filter(kind=Kind.TOKEN_REVOKED).latest("pk")
    assert (by_admin.user, by_admin.actor, by_admin.address) == (owner, administrator, "192.0.2.21")


def test_a_role_granted_or_removed_is_recorded_with_who_did_it(owner: User, administrator: User) -> None:
    manager_role = Group.objects.get(name=roles.MANAGER)
    request = RequestFactory().post("/admin/auth/user/", REMOTE_ADDR="192.0.2.30")
    request.user = administrator
    # As the admin's request is seen while it is served (simple-history's middleware keeps it).
    HistoricalRecords.context.request = request
    try:
        owner.groups.add(manager_role)
        owner.groups.remove(manager_role)
        manager_role.user_set.add(owner)
        owner.groups.clear()
    finally:
        del HistoricalRecords.context.request
    events = list(
        AccessEvent.objects.filter(user=owner, kind__in=[Kind.ROLE_GRANTED, Kind.ROLE_REMOVED])
        .order_by("pk")
        .values_list("kind", "detail", "actor", "address")
    )
    by_admin = (administrator.pk, "192.0.2.30")
    assert events[-5:-2] == [
        (Kind.ROLE_GRANTED, roles.MANAGER, *by_admin),
        (Kind.ROLE_REMOVED, roles.MANAGER, *by_admin),
        (Kind.ROLE_GRANTED, roles.MANAGER, *by_admin),
    ]
    # Clearing removes every role the person had, in no particular order.
    assert sorted(events[-2:]) == [
        (Kind.ROLE_REMOVED, roles.ACTION_OWNER, *by_admin),
        (Kind.ROLE_REMOVED, roles.MANAGER, *by_admin),
    ]


def test_administrators_see_the_audit_and_download_it_as_csv(owner: User, administrator: User) -> None:
    sign_in(owner.username, "pw", address="192.0.2.40")
    sign_in("=HYPERLINK(1)", "x", address="192.0.2.41")
    client = Client()
    client.force_login(administrator)
    page = client.get("/admin/accounts/accessevent/")
    assert page.status_code == 200 and "192.0.2.40" in page.content.decode()
    ids = list(AccessEvent.objects.values_list("pk", flat=True))
    response = client.post("/admin/accounts/accessevent/", {"action": "export_csv", "_selected_action": ids})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["When", "What", "Username"]
    assert any(row[1] == "Signed in" and row[3] == owner.username and row[5] == "192.0.2.40" for row in rows)
    # A username typed as a formula is written so a spreadsheet shows it, never runs it.
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_nobody_else_sees_the_audit_and_nobody_changes_it(
    owner: User, administrator: User, manager: User
) -> None:
    sign_in(owner.username, "pw")
    event = AccessEvent.objects.filter(kind=Kind.SIGNED_IN).latest("pk")
    manager.is_staff = True
    manager.save()
    client = Client()
    client.force_login(manager)
    assert client.get("/admin/accounts/accessevent/").status_code == 403
    admin = Client()
    admin.force_login(administrator)
    assert admin.post(f"/admin/accounts/accessevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin.post(f"/admin/accounts/accessevent/{event.pk}/change/", {"username": "x"}).status_code == 403
    assert AccessEvent.objects.filter(pk=event.pk, username=owner.username).exists()
