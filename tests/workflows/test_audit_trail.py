"""The record stays the record: history is not reverted, agreed actions are not deleted, and evidence
files go with their rows."""

import datetime as dt
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient
from simple_history.admin import SimpleHistoryAdmin

from tests.audits.test_audit_pages import client_for
from tests.factories import ActionFactory
from tests.workflows.helpers import advance
from workflows.models import Action, Evidence
from workflows.services.actions import (
    action_add_evidence,
    action_decide_extension,
    action_request_extension,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def superuser() -> User:
    return User.objects.create_superuser("root", "root@example.org", "pw")


def test_an_approved_extension_cannot_be_undone_by_an_admin_revert(
    owner: User, manager: User, superuser: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    before = action.history.latest()
    new_due = max(action.due_on or timezone.localdate(), timezone.localdate()) + dt.timedelta(days=30)
    extension = action_request_extension(
        action=action, actor=owner, requested_due_on=new_due, reason="Trainer off sick"
    )
    action_decide_extension(extension=extension, actor=manager, approve=True)
    admin_client = client_for(superuser)
    url = f"/admin/workflows/action/{action.pk}/history/{before.history_id}/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"Revert" not in page.content
    assert admin_client.post(url, {}).status_code == 403
    assert Action.objects.get(pk=action.pk).due_on == new_due


def test_no_history_in_the_admin_can_be_reverted(superuser: User) -> None:
    # A revert writes a past version back with no transition, no log and no reason; history is read only.
    request = RequestFactory().post("/")
    request.user = superuser
    history_admins = [a for a in admin.site._registry.values() if isinstance(a, SimpleHistoryAdmin)]
    assert {type(a).__name__ for a in history_admins} >= {"ActionAdmin", "RecommendationAdmin"}
    for model_admin in history_admins:
        assert model_admin.revert_disabled(request), model_admin
        with pytest.raises(PermissionDenied):
            model_admin.history_form_view(request, "1", "1")


def test_an_agreed_action_cannot_be_deleted_in_the_admin(owner: User, manager: User, superuser: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "agreed", manager=manager)
    admin_client = client_for(superuser)
    assert (
        admin_client.post(f"/admin/workflows/action/{action.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    bulk = admin_client.post(
        "/admin/workflows/action/",
        {"action": "delete_selected", "_selected_action": [action.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 403)
    assert Action.objects.filter(pk=action.pk).exists()


def test_a_draft_action_can_be_deleted_in_the_admin(owner: User, superuser: User) -> None:
    action = ActionFactory.create(owner=owner)
    response = client_for(superuser).post(f"/admin/workflows/action/{action.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Action.objects.filter(pk=action.pk).exists()
    assert action.history.latest().history_type == "-"
    assert action.history.latest().history_user == superuser


def test_an_agreed_action_cannot_be_deleted_through_the_api(
    owner: User, manager: User, superuser: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "agreed", manager=manager)
    client = APIClient()
    client.force_authenticate(superuser)
    response = client.delete(f"/api/actions/{action.pk}/")
    assert response.status_code == 409
    assert "discontinue" in response.json()["detail"]
    assert Action.objects.filter(pk=action.pk).exists()


def test_a_draft_action_is_deleted_through_the_api_only_by_those_permitted(
    owner: User, manager: User, superuser: User
) -> None:
    action = ActionFactory.create(owner=owner)
    for person in (owner, manager):
        client = APIClient()
        client.force_authenticate(person)
        assert client.delete(f"/api/actions/{action.pk}/").status_code == 403
    client = APIClient()
    client.force_authenticate(superuser)
    assert client.delete(f"/api/actions/{action.pk}/").status_code == 204
    assert not Action.objects.filter(pk=action.pk).exists()


def stored(evidence: Evidence) -> Path:
    path = Path(evidence.file.path)
    assert path.exists()
    return path


def test_a_deleted_evidence_row_takes_its_file_with_it(
    owner: User, manager: User, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    evidence = action_add_evidence(
        action=action, actor=owner, description="Report", file=SimpleUploadedFile("r.pdf", PDF)
    )
    path = stored(evidence)
    with django_capture_on_commit_callbacks(execute=True):
        evidence.delete()
    assert not path.exists()


def test_deleting_a_draft_action_takes_its_evidence_files_with_it(
    owner: User, superuser: User, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    action = ActionFactory.create(owner=owner)
    evidence = Evidence(action=action, description="Draft note", added_by=owner)
    evidence.file.save("n.pdf", SimpleUploadedFile("n.pdf", PDF), save=True)
    path = stored(evidence)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(superuser).post(f"/admin/workflows/action/{action.pk}/delete/", {"post": "yes"})
    assert not Evidence.objects.exists()
    assert not path.exists()


def test_a_file_stays_when_the_delete_is_rolled_back(owner: User, manager: User) -> None:
    from django.db import transaction

    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    evidence = action_add_evidence(
        action=action, actor=owner, description="Report", file=SimpleUploadedFile("r.pdf", PDF)
    )
    path, pk = stored(evidence), evidence.pk
    with transaction.atomic():
        evidence.delete()
        transaction.set_rollback(True)
    assert Evidence.objects.filter(pk=pk).exists()
    assert path.exists()


def test_every_model_that_stores_files_deletes_them_with_its_rows() -> None:
    from django.apps import apps
    from django.db import models
    from django.db.models.signals import post_delete

    for model in apps.get_models():
        if any(isinstance(f, models.FileField) for f in model._meta.concrete_fields):
            assert post_delete.has_listeners(model), model
