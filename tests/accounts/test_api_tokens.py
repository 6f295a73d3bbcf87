"""Personal API tokens: no password on an API call, a token is its person and nothing more."""

import base64
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiToken, digest_of
from accounts.services import issue_token, revoke_token
from tests.factories import ActionFactory

pytestmark = pytest.mark.django_db


def with_token(key: str, keyword: str = "Bearer") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
    return client


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_api_refuses_a_password_sent_with_basic_authentication(owner: User) -> None:
    owner.set_password("a-real-password-1")
    owner.save()
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"police.owner:a-real-password-1").decode()
    )
    response = client.get("/api/actions/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_person_creates_a_named_token_sees_it_once_and_only_its_hash_is_kept(owner: User) -> None:
    client = signed_in(owner)
    response = client.post("/account/tokens/", {"name": "Performance report"})
    assert response.status_code == 200
    key = response.context["key"]
    assert key in response.content.decode()
    token = ApiToken.objects.get(user=owner)
    assert token.name == "Performance report"
    assert token.digest == digest_of(key) and key not in (token.digest, token.prefix)
    # Listed again, the key is not shown: only its first characters.
    listing = client.get("/account/tokens/").content.decode()
    assert "Performance report" in listing and token.prefix in listing and key not in listing
    assert with_token(key).get("/api/actions/").status_code == 200
    assert with_token(key, "Token").get("/api/actions/").status_code == 200


def test_a_token_name_is_required(owner: User) -> None:
    response = signed_in(owner).post("/account/tokens/", {"name": "  "})
    assert response.status_code == 200
    assert not ApiToken.objects.exists()


def test_a_police_token_reads_nothing_of_a_health_action(owner: User, health_owner: User) -> None:
    police_action = ActionFactory.create(owner=owner)
    health_action = ActionFactory.create(owner=health_owner)
    _, key = issue_token(owner, "Police reporting")
    client = with_token(key)
    listed = client.get("/api/actions/").json()["results"]
    assert [row["id"] for row in listed] == [police_action.pk]
    assert client.get(f"/api/actions/{health_action.pk}/").status_code == 404
    assert client.get(f"/api/actions/{health_action.pk}/transitions/").status_code == 404
    assert (
        client.post(f"/api/actions/{health_action.pk}/transitions/start/", {}, format="json").status_code
        == 404
    )


def test_a_revoked_token_is_refused(owner: User) -> None:
    token, key = issue_token(owner, "Old script")
    response = signed_in(owner).post(f"/account/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert with_token(key).get("/api/actions/").status_code == 401


def test_nobody_can_revoke_someone_elses_token(owner: User, health_owner: User) -> None:
    token, key = issue_token(owner, "Mine")
    assert signed_in(health_owner).post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert with_token(key).get("/api/actions/").status_code == 200
    with pytest.raises(ApiToken.DoesNotExist):
        revoke_token(health_owner, token.pk)


def test_the_token_of_a_person_who_can_no_longer_sign_in_is_refused(owner: User) -> None:
    _, key = issue_token(owner, "Leaver's script")
    owner.is_active = False
    owner.save()
    assert with_token(key).get("/api/actions/").status_code == 401


def test_a_tokens_last_use_is_recorded_with_when_and_from_where(owner: User) -> None:
    token, key = issue_token(owner, "Nightly export")
    assert token.last_used_at is None
    with_token(key).get("/api/actions/", REMOTE_ADDR="192.0.2.7")
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_from == "192.0.2.7"
    assert "192.0.2.7" in signed_in(owner).get("/account/tokens/").content.decode()


@pytest.fixture
def rates(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    # DRF reads its rates once, when the throttle classes are defined: patch the table they read.
    table = {
        **SimpleRateThrottle.THROTTLE_RATES,
        "user": "3/minute",
        "anon": "3/minute",
        "failed_token": "3/minute",
    }
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", table)
    return table


def test_a_person_calling_the_api_too_often_is_told_to_wait(owner: User, rates: dict[str, Any]) -> None:
    _, key = issue_token(owner, "Busy script")
    client = with_token(key)
    assert [client.get("/api/actions/").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/api/actions/")
    assert response.status_code == 429
    assert "Retry-After" in response


def test_guessing_tokens_from_one_address_is_stopped(owner: User, rates: dict[str, Any]) -> None:
    codes = [
        with_token(f"ft_guess{n}").get("/api/actions/", REMOTE_ADDR="198.51.100.9").status_code
        for n in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    # Another address is not held up by it.
    assert with_token("ft_other").get("/api/actions/", REMOTE_ADDR="198.51.100.10").status_code == 401
