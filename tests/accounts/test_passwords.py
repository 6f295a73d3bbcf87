"""Passwords where single sign-on is not used: reset by email, validators, lockout."""

import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from pytest_django.fixtures import Settings

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Correct-horse-battery-77"


def sign_in(client: Client, username: str, password: str, address: str = "203.0.113.5") -> int:
    return client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    ).status_code


def reset_link(settings: Settings) -> str:
    assert len(mail.outbox) == 1
    match = re.search(
        re.escape(settings.FOLLOWTHROUGH_BASE_URL) + r"(/password-reset/\S+/)", mail.outbox[0].body
    )
    assert match, mail.outbox[0].body
    return str(match.group(1))


def test_a_person_who_forgot_their_password_resets_it_by_email(
    client: Client, owner: User, settings: Settings
) -> None:
    settings.FOLLOWTHROUGH_BASE_URL = "https://followthrough.example.org"
    assert "/password-reset/" in client.get("/login/").content.decode()
    response = client.post("/password-reset/", {"email": owner.email})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert mail.outbox[0].to == [owner.email]
    link = reset_link(settings)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302 and done["Location"] == "/password-reset/done/"
    assert sign_in(Client(), owner.username, NEW_PASSWORD) == 302


def test_a_reset_link_works_once(client: Client, owner: User, settings: Settings) -> None:
    client.post("/password-reset/", {"email": owner.email})
    link = reset_link(settings)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    again = Client().get(link, follow=True)
    assert "This link no longer works" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_email(client: Client, owner: User) -> None:
    response = client.post("/password-reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


@pytest.mark.parametrize("password", ["password123", "short", "12345678901", "police.owner1"])
def test_a_reset_refuses_a_common_short_numeric_or_name_like_password(
    client: Client, owner: User, settings: Settings, password: str
) -> None:
    client.post("/password-reset/", {"email": owner.email})
    form_url = client.get(reset_link(settings), follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": password, "new_password2": password})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    owner.refresh_from_db()
    assert not owner.check_password(password)


def test_repeated_wrong_passwords_lock_the_account_with_a_clear_message(owner: User) -> None:
    client = Client()
    assert [sign_in(client, owner.username, f"wrong-{n}", address=f"203.0.113.{n}") for n in range(5)] == [
        200
    ] * 4 + [429]
    # Locked: even the right password, from another address, is refused, and the page says why.
    response = Client().post(
        "/login/", {"username": owner.username, "password": "pw"}, REMOTE_ADDR="192.0.2.1"
    )
    assert response.status_code == 429
    page = response.content.decode()
    assert "Sign-in is locked for now" in page and "30 minutes" in page and "administrator" in page


def test_repeated_failures_from_one_address_lock_that_address(owner: User, police_lead: User) -> None:
    for n in range(5):
        sign_in(Client(), f"guess{n}", "wrong", address="198.51.100.20")
    assert sign_in(Client(), owner.username, "pw", address="198.51.100.20") == 429
    assert sign_in(Client(), police_lead.username, "pw", address="198.51.100.21") == 302


def test_a_correct_password_before_the_limit_clears_the_count(owner: User) -> None:
    for _ in range(4):
        sign_in(Client(), owner.username, "wrong")
    assert sign_in(Client(), owner.username, "pw") == 302
    for _ in range(4):
        sign_in(Client(), owner.username, "wrong")
    assert sign_in(Client(), owner.username, "pw") == 302


def test_an_administrator_unlocks_a_locked_account_in_the_admin(owner: User) -> None:
    for _ in range(5):
        sign_in(Client(), owner.username, "wrong")
    assert sign_in(Client(), owner.username, "pw") == 429
    admin = User.objects.create_superuser("it.admin", "it@example.org", "pw")
    client = Client()
    client.force_login(admin)
    attempts = client.get("/admin/axes/accessattempt/")
    assert attempts.status_code == 200 and owner.username in attempts.content.decode()
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    client.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert not AccessAttempt.objects.exists()
    assert sign_in(Client(), owner.username, "pw") == 302
