"""Evidence uploads: judged by content, limited in size, served only to those who may see the action."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from tests.factories import ActionFactory
from tests.workflows.helpers import advance
from workflows.models import Evidence
from workflows.services.actions import action_add_evidence

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_pdf_upload_is_stored_with_its_real_type(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    evidence = action_add_evidence(
        action=action, actor=owner, description="Audit report", file=SimpleUploadedFile("report.pdf", PDF)
    )
    assert evidence.content_type == "application/pdf"
    assert evidence.original_name == "report.pdf"
    assert "report" not in str(evidence.file.name)  # the stored name carries no user text


def test_executable_renamed_as_pdf_is_refused(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    with pytest.raises(ValidationError, match="The file must be one of"):
        action_add_evidence(
            action=action,
            actor=owner,
            description="x",
            file=SimpleUploadedFile("report.pdf", b"MZ\x90\x00" + b"\x00" * 60),
        )
    assert not Evidence.objects.exists()


def test_oversized_upload_is_refused_with_a_clear_message(
    owner: User, manager: User, settings: Settings
) -> None:
    settings.EVIDENCE_MAX_BYTES = 1024 * 1024
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (1024 * 1024))
    with pytest.raises(ValidationError, match="smaller than 1 MB"):
        action_add_evidence(action=action, actor=owner, description="x", file=big)
    assert not Evidence.objects.exists()


def test_plain_text_is_accepted(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    evidence = action_add_evidence(
        action=action,
        actor=owner,
        description="Minutes",
        # Non-ASCII on purpose: UTF-8 text must still be recognised as plain text.
        file=SimpleUploadedFile("minutes.txt", "Minutes: agreed \u2013 3 actions".encode()),
    )
    assert evidence.content_type == "text/plain"


def test_evidence_needs_a_file_or_a_link_not_both(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    with pytest.raises(ValidationError, match="either a file or a link"):
        action_add_evidence(action=action, actor=owner, description="x")
    with pytest.raises(ValidationError, match="either a file or a link"):
        action_add_evidence(
            action=action,
            actor=owner,
            description="x",
            url="https://example.org",
            file=SimpleUploadedFile("a.png", PNG),
        )


def test_upload_page_shows_the_refusal_and_saves_nothing(client: Client, owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    client.force_login(owner)
    response = client.post(
        reverse("action-evidence", args=[action.pk]),
        {"description": "Script", "file": io.BytesIO(b"\x7fELF" + b"\x00" * 100)},
        follow=True,
    )
    assert response.status_code == 200
    assert "The file must be one of" in response.content.decode()
    assert not Evidence.objects.exists()


def test_evidence_file_is_served_to_the_owner_and_not_to_another_agency(
    client: Client, owner: User, manager: User, health_lead: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    evidence = action_add_evidence(
        action=action, actor=owner, description="Report", file=SimpleUploadedFile("report.pdf", PDF)
    )
    url = reverse("evidence-download", args=[evidence.pk])
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200
    assert isinstance(response, FileResponse)
    assert b"".join(response.streaming_content).startswith(b"%PDF")  # type: ignore[arg-type]
    client.force_login(health_lead)
    assert client.get(url).status_code == 404


def test_evidence_is_not_under_the_static_root() -> None:
    from config.settings import base

    assert not str(base.MEDIA_ROOT).startswith(str(base.STATIC_ROOT))
    assert base.MEDIA_ROOT not in base.STATICFILES_DIRS
