"""Attacks on signing in that Django's own machinery refuses, kept refused (issue 17's bad-input list)."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from accounts.services import issue_token

pytestmark = pytest.mark.django_db


def test_a_copied_session_cookie_is_refused_after_sign_out(owner: User) -> None:
    client = Client()
    client.force_login(owner)
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post("/logout/")
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = stolen
    response = thief.get("/my-work/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert thief.get("/api/actions/").status_code == 401


def test_signing_in_never_sends_a_person_to_another_site(owner: User) -> None:
    response = Client().post(
        "/login/?next=https://evil.example/phish", {"username": owner.username, "password": "pw"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    same_site = Client().post("/login/?next=/my-work/", {"username": owner.username, "password": "pw"})
    assert same_site["Location"] == "/my-work/"


def test_signing_in_and_posting_from_another_site_is_refused_without_the_csrf_token(owner: User) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/login/", {"username": owner.username, "password": "pw"}).status_code == 403
    client.force_login(owner)
    assert client.post("/account/tokens/", {"name": "Forged"}).status_code == 403
    assert client.post("/logout/").status_code == 403
    # The API with a session needs the token too; with a personal token there is no cookie to forge.
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(owner)
    refused = api.post("/api/actions/", {}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    _, key = issue_token(owner, "Script")
    scripted = APIClient(enforce_csrf_checks=True)
    scripted.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert scripted.get("/api/actions/").status_code == 200
