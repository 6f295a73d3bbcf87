"""Only a superuser makes superusers, nobody grants powers they lack, and every grant is recorded."""

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from accounts.models import AccessEvent
from tests.factories import person_in
from workflows import roles
from workflows.models import Agency

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(partnership: Agency) -> User:
    user = person_in(partnership, roles.ADMINISTRATOR, username="admin.person")
    user.is_staff = True
    user.save()
    return user


def admin_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_form_data(client: Client, user: User) -> dict[str, Any]:
    """What the admin's change form for ``user`` would post back unchanged."""
    response = client.get(f"/admin/auth/user/{user.pk}/change/")
    assert response.status_code == 200
    data: dict[str, Any] = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms += list(formset.forms)
        data.update({f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()})
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if field.disabled or value is None:
                continue
            if isinstance(value, dt.datetime):  # a split date and time
                data[form.add_prefix(name) + "_0"] = value.date().isoformat()
                data[form.add_prefix(name) + "_1"] = value.time().isoformat(timespec="seconds")
                continue
            if isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
                continue
            data[form.add_prefix(name)] = value
    data.pop("password", None)
    return data


def post_change(client: Client, user: User, **changes: Any) -> Any:
    data = {**change_form_data(client, user), **changes}
    return client.post(f"/admin/auth/user/{user.pk}/change/", data)


def test_an_administrator_cannot_make_themselves_a_superuser(administrator: User) -> None:
    client = admin_client(administrator)
    assert post_change(client, administrator, first_name="Ada").status_code == 302
    post_change(client, administrator, is_superuser="on", grant_reason="I need everything")
    assert not User.objects.get(pk=administrator.pk).is_superuser


def test_an_administrator_cannot_give_anyone_the_manager_role(administrator: User, owner: User) -> None:
    client = admin_client(administrator)
    manager = Group.objects.get(name=roles.MANAGER)
    for whom in (owner, administrator):
        response = post_change(client, whom, groups=[manager.pk], grant_reason="Promotion")
        assert response.status_code == 200  # the form again, saying why
        assert "you do not have" in response.content.decode()
        assert not User.objects.get(pk=whom.pk).groups.filter(name=roles.MANAGER).exists()


def test_an_administrator_cannot_grant_a_permission_they_lack(administrator: User, owner: User) -> None:
    client = admin_client(administrator)
    sign_off = Permission.objects.get(codename="sign_off_action")
    post_change(client, owner, user_permissions=[sign_off.pk], grant_reason="Help out")
    assert not User.objects.get(pk=owner.pk).has_perm("workflows.sign_off_action")


def test_an_administrator_cannot_take_over_a_superusers_account(administrator: User) -> None:
    root = User.objects.create_superuser("root", "root@example.org", "pw")
    client = admin_client(administrator)
    assert client.get(f"/admin/auth/user/{root.pk}/password/").status_code in (302, 403, 404)
    client.post(
        f"/admin/auth/user/{root.pk}/password/", {"password1": "x9!Long-pass", "password2": "x9!Long-pass"}
    )
    assert User.objects.get(pk=root.pk).check_password("pw")


def test_role_grants_are_recorded_with_who_whom_which_role_when_and_why(
    administrator: User, owner: User
) -> None:
    root = User.objects.create_superuser("root", "root@example.org", "pw")
    client = admin_client(root)
    manager = Group.objects.get(name=roles.MANAGER)
    refused = post_change(client, owner, groups=[manager.pk])
    assert refused.status_code == 200 and not owner.groups.filter(pk=manager.pk).exists()

    post_change(client, owner, groups=[manager.pk], grant_reason="Acting business manager")
    assert owner.groups.filter(pk=manager.pk).exists()
    granted, removed = AccessEvent.Kind.ROLE_GRANTED, AccessEvent.Kind.ROLE_REMOVED
    grant = AccessEvent.objects.get(user=owner, kind=granted, detail=roles.MANAGER)
    assert (grant.actor, grant.reason) == (root, "Acting business manager")
    # The form left out their old role: taking it away is recorded too, with the same reason.
    taken = AccessEvent.objects.get(user=owner, kind=removed, detail=roles.ACTION_OWNER)
    assert (taken.actor, taken.reason) == (root, "Acting business manager")
    assert grant.at is not None

    # An administrator may give a role whose powers they hold themselves, and it is recorded too.
    client = admin_client(administrator)
    owner_role = Group.objects.get(name=roles.ACTION_OWNER)
    post_change(client, owner, groups=[manager.pk, owner_role.pk], grant_reason="Owns actions too")
    given = AccessEvent.objects.filter(user=owner, actor=administrator)
    assert list(given.values_list("kind", "detail", "reason")) == [
        (granted, roles.ACTION_OWNER, "Owns actions too")
    ]


def test_superuser_status_and_single_permissions_are_recorded_with_who_and_why(owner: User) -> None:
    root = User.objects.create_superuser("root", "root@example.org", "pw")
    client = admin_client(root)
    sign_off = Permission.objects.get(codename="sign_off_action")
    post_change(
        client, owner, user_permissions=[sign_off.pk], is_staff="on", grant_reason="Covering sign-off"
    )
    recorded = AccessEvent.objects.filter(user=owner, kind=AccessEvent.Kind.ROLE_GRANTED, actor=root)
    assert set(recorded.values_list("detail", "reason")) == {
        ("Permission: workflows.sign_off_action", "Covering sign-off"),
        ("Staff status", "Covering sign-off"),
    }
