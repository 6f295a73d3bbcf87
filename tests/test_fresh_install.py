"""A fresh install: `migrate` on an empty database, people added by an administrator, no demo, and each
role can do its first job at once."""

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from audits.models import Audit
from notifications.models import ChasePolicy
from tests.factories import ActionFactory, RecommendationFactory
from tests.test_foundation import run_manage
from workflows import roles
from workflows.models import Agency, Person, ProgressNote

GROUPS_AS_JSON = (
    "import json; from django.contrib.auth.models import Group; print(json.dumps({g.name: sorted("
    "f'{p.content_type.app_label}.{p.codename}' for p in g.permissions.all()) for g in Group.objects.all()}))"
)


def migrate_empty(database: Path, *args: str) -> None:
    result = run_manage(
        "migrate", *args, DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_URL=f"sqlite:///{database}"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def groups_in(database: Path) -> dict[str, list[str]]:
    result = run_manage(
        "shell",
        "-v0",
        "-c",
        GROUPS_AS_JSON,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"sqlite:///{database}",
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_migrating_an_empty_database_gives_every_role_all_its_permissions(tmp_path: Path) -> None:
    database = tmp_path / "fresh.sqlite3"
    migrate_empty(database)
    assert groups_in(database) == {role: sorted(names) for role, names in roles.ROLE_PERMISSIONS.items()}


def test_migrating_an_empty_database_one_app_at_a_time_works(tmp_path: Path) -> None:
    database = tmp_path / "fresh.sqlite3"
    migrate_empty(database, "contenttypes")  # no auth tables yet: nowhere to keep groups
    migrate_empty(database, "audits")  # reviews and notifications not migrated: their permissions wait
    manager = groups_in(database)[roles.MANAGER]
    assert "audits.progress_audit" in manager and "reviews.progress_review" not in manager
    migrate_empty(database)
    assert groups_in(database)[roles.MANAGER] == sorted(roles.ROLE_PERMISSIONS[roles.MANAGER])


@pytest.mark.django_db
def test_a_mistyped_permission_in_the_role_table_stops_migrate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(roles.ROLE_PERMISSIONS, roles.MANAGER, ["audits.progres_audit", "audits.add_audit"])
    with pytest.raises(ImproperlyConfigured, match=r"audits\.progres_audit"):
        call_command("migrate", verbosity=0)


def person(username: str, agency: Agency, role: str) -> User:
    """What an administrator does in the admin: a user, the agency they work for, their role's group."""
    user = User.objects.create_user(
        username,
        f"{username}@example.org",
        "pw",
        first_name=username.title(),
        # "Staff status" lets a person into the admin; their group decides what they may do there.
        is_staff=role == roles.ADMINISTRATOR,
    )
    Person.objects.create(user=user, agency=agency)
    user.groups.add(Group.objects.get(name=role))
    return user


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_on_a_fresh_install_each_role_does_its_first_job(use_redis: str) -> None:
    # A fresh install: no permission exists yet when migrate starts; Django makes them app by app.
    Group.objects.all().delete()
    Permission.objects.all().delete()
    call_command("migrate", verbosity=0)

    partnership = Agency.objects.create(name="Safeguarding Partnership", kind=Agency.Kind.PARTNERSHIP)
    police = Agency.objects.create(name="Police", kind=Agency.Kind.POLICE)
    administrator = person("administrator", partnership, roles.ADMINISTRATOR)
    auditor = person("auditor", partnership, roles.AUDITOR)
    manager = person("manager", partnership, roles.MANAGER)
    executive = person("executive", partnership, roles.EXECUTIVE)
    lead = person("lead", police, roles.AGENCY_LEAD)
    owner = person("owner", police, roles.ACTION_OWNER)

    response = signed_in(administrator).post(
        reverse("admin:workflows_agency_add"),
        {"name": "Probation", "kind": Agency.Kind.PROBATION, "change_reason": "Joins the partnership"},
    )
    assert response.status_code == 302, response.content.decode()
    assert Agency.objects.filter(name="Probation").exists()

    response = signed_in(auditor).post(
        reverse("audit-create"), {"reference": "MAA-1", "title": "Neglect", "kind": Audit.Kind.THEMATIC}
    )
    assert response.status_code == 302, response.content.decode()
    assert Audit.objects.get(reference="MAA-1").state == "commissioned"

    action = ActionFactory.create(recommendation=RecommendationFactory.create(), owner=owner)
    response = signed_in(lead).post(
        reverse("action-transition", args=[action.pk, "agree"]), {"state": "draft", "comment": "Agreed"}
    )
    action.refresh_from_db()
    assert action.state == "agreed", response.content.decode()

    signed_in(owner).post(reverse("action-progress", args=[action.pk]), {"text": "Training booked"})
    assert ProgressNote.objects.get(action=action).author == owner

    signed_in(manager).post(reverse("chasing-confirm"))
    assert ChasePolicy.current().confirmed_by == manager

    assert signed_in(executive).get(reverse("exception-report")).status_code == 200
