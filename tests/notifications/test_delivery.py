"""Delivery: one digest per person, sent once, never lost."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from notifications.delivery import deliver_pending
from notifications.models import ChasePolicy, Digest, NotificationPreference, OutboxEntry
from notifications.sweep import sweep
from notifications.tasks import deliver_digests, request_delivery
from tests.conftest import SmtpSink, celery_broker, celery_client, free_port
from tests.factories import ActionFactory
from tests.notifications.conftest import MONDAY
from tests.workflows.helpers import advance
from workflows.models import Action

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent.parent


def started(owner: User, manager: User, due_in_days: int, description: str) -> Action:
    return advance(
        ActionFactory.create(
            owner=owner, due_on=dt.date.today() + dt.timedelta(days=due_in_days), description=description
        ),
        "in_progress",
        manager=manager,
    )


@pytest.fixture
def owed_today(owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy) -> list[Action]:
    actions = [
        started(owner, manager, 3, "Refresh the neglect toolkit training"),
        started(owner, manager, -20, "Audit strategy meeting minutes"),
    ]
    sweep(on=dt.date.today())
    return actions


def test_one_digest_per_person_lists_everything_that_needs_them(
    owed_today: list[Action], owner: User
) -> None:
    result = deliver_pending()
    assert result.sent == 2  # the owner, and the agency lead for the escalation
    owner_mail = next(m for m in mail.outbox if m.to == [owner.email])
    assert owner_mail.subject == "Followthrough: 2 items need you"
    body = str(owner_mail.body)
    assert "Refresh the neglect toolkit training" in body
    assert (
        "Due in 3 working days" in body or "Due in 2 working days" in body or "Due in 1 working day" in body
    )
    assert "20 days overdue" in body
    assert f"/actions/{owed_today[0].pk}/" in body
    html = owner_mail.alternatives[0][0]  # type: ignore[attr-defined]
    assert f'href="http://127.0.0.1:8000/actions/{owed_today[1].pk}/"' in str(html)
    assert OutboxEntry.objects.filter(status="pending").count() == 0
    assert Digest.objects.filter(recipient=owner).count() == 1


def test_escalated_item_is_listed_once_under_its_most_pressing_heading(
    owed_today: list[Action], owner: User
) -> None:
    deliver_pending()
    body = str(next(m for m in mail.outbox if m.to == [owner.email]).body)
    assert body.count("Audit strategy meeting minutes") == 1
    assert "ESCALATED ABOUT YOUR WORK" in body


def test_agency_lead_is_told_what_was_escalated_to_them(owed_today: list[Action], police_lead: User) -> None:
    deliver_pending()
    lead_mail = next(m for m in mail.outbox if m.to == [police_lead.email])
    assert "(escalations)" in lead_mail.subject
    assert "ESCALATED TO YOU" in str(lead_mail.body)


def test_delivering_twice_sends_nothing_more(owed_today: list[Action]) -> None:
    deliver_pending()
    sent = len(mail.outbox)
    assert deliver_pending().sent == 0
    assert len(mail.outbox) == sent


def test_mail_server_refusing_leaves_entries_pending_and_they_go_later(
    owed_today: list[Action], smtp_sink: SmtpSink
) -> None:
    smtp_sink.refuse = True
    result = deliver_pending()
    assert (result.sent, result.failed) == (0, 2)
    entries = list(OutboxEntry.objects.all())
    assert all(e.status == "pending" and e.attempts == 1 and e.next_attempt_at for e in entries)
    assert "451" in entries[0].last_error
    assert deliver_pending().sent == 0  # backing off: not yet
    OutboxEntry.objects.update(next_attempt_at=None)
    smtp_sink.refuse = False
    assert deliver_pending().sent == 2
    assert len(smtp_sink.messages) == 2
    assert not OutboxEntry.objects.exclude(status="sent").exists()


def test_mail_server_unreachable_leaves_entries_pending(owed_today: list[Action], settings: Settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    assert deliver_pending().failed == 2
    assert not OutboxEntry.objects.filter(status="sent").exists()
    assert "ConnectionRefusedError" in OutboxEntry.objects.first().last_error  # type: ignore[union-attr]


def test_a_crash_in_the_middle_of_delivery_loses_nothing_and_sends_once(
    owed_today: list[Action], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.mail import EmailMultiAlternatives

    real_send = EmailMultiAlternatives.send
    calls = {"n": 0}

    def dies_on_second_message(self: Any, *args: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", dies_on_second_message)
    with pytest.raises(SystemExit):
        deliver_pending()
    assert len(mail.outbox) == 1
    assert OutboxEntry.objects.filter(status="pending").exists()
    deliver_pending()
    assert len(mail.outbox) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(set(m.to[0] for m in mail.outbox))
    assert not OutboxEntry.objects.filter(status="pending").exists()


def test_redis_down_during_the_sweep_the_outbox_is_written_and_delivered_later(
    owner: User, manager: User, chasing_on: ChasePolicy, settings: Settings
) -> None:
    started(owner, manager, 3, "Publish the revised threshold document")
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with celery_broker(dead, broker_connection_retry=False, broker_connection_max_retries=0):
        sweep(on=dt.date.today())
        request_delivery()  # cannot reach Redis: logged, not raised
    assert OutboxEntry.objects.filter(status="pending").count() == 1
    deliver_pending()  # what the periodic delivery does once Redis is back
    assert len(mail.outbox) == 1


def test_notifications_page_shows_my_digests_and_not_others(
    client: Client, owed_today: list[Action], owner: User, police_lead: User
) -> None:
    deliver_pending()
    client.force_login(owner)
    page = client.get(reverse("notifications")).content.decode()
    assert "2 items need you" in page
    assert "(escalations)" not in page  # the lead's digest, not the owner's


def test_preference_for_immediate_escalations_is_saved(client: Client, owner: User) -> None:
    client.force_login(owner)
    client.post(reverse("notification-preference"), {"delivery": "immediate_escalations"})
    assert NotificationPreference.objects.get(user=owner).delivery == "immediate_escalations"
    response = client.post(reverse("notification-preference"), {"delivery": "hourly"}, follow=True)
    assert "Choose how you want to hear" in response.content.decode()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_the_same_time_write_each_entry_once(
    owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    for days in (-60, -30, -20, -8, 0, 3, 10):
        started(owner, manager, days, f"Action due in {days}")

    def run() -> int:
        try:
            return len(sweep(on=MONDAY).entries)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: run(), range(2)))
    keys = OutboxEntry.objects.values_list("item_id", "recipient_id", "rule", "due_on", "period", "round")
    assert len(keys) == len(set(keys)) > 0


def worker_environment(redis_url: str, smtp_sink: SmtpSink) -> dict[str, str]:
    """What a real worker process needs to share this test's database, Redis and SMTP server."""
    db = connection.settings_dict
    database_url = (
        f"sqlite:///{db['NAME']}"
        if connection.vendor == "sqlite"
        else f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )
    return {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": smtp_sink.host,
        "EMAIL_PORT": str(smtp_sink.port),
    }


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
    )


def wait_for(condition: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_the_digest_through_a_real_smtp_server(
    redis_url: str, smtp_sink: SmtpSink, owner: User, manager: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, 3, "Embed the multi-agency supervision model")
    sweep(on=dt.date.today())
    worker = start_worker(worker_environment(redis_url, smtp_sink))
    try:
        with celery_client(redis_url) as client:
            client.send_task(deliver_digests.name)
        wait_for(lambda: smtp_sink.messages)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert len(smtp_sink.messages) == 1
    received = smtp_sink.messages[0]
    assert received["To"] == owner.email
    assert received["Subject"] == "Followthrough: 1 item needs you"
    text = received.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Embed the multi-agency supervision model" in text
    assert f"http://127.0.0.1:8000/actions/{action.pk}/" in text
    assert OutboxEntry.objects.get().status == "sent"


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_delivery_loses_nothing_and_sends_once(
    redis_url: str,
    smtp_sink: SmtpSink,
    owner: User,
    manager: User,
    police_lead: User,
    chasing_on: ChasePolicy,
) -> None:
    started(owner, manager, 3, "Refresh the neglect toolkit training")
    started(owner, manager, -20, "Audit strategy meeting minutes")  # escalated: the lead gets a digest too
    sweep(on=dt.date.today())
    env = worker_environment(redis_url, smtp_sink)
    smtp_sink.stall_next = 8
    worker = start_worker(env)
    try:
        with celery_client(redis_url) as client:
            client.send_task(deliver_digests.name)
        wait_for(lambda: smtp_sink.stalling)
        assert smtp_sink.stalling, "the worker never reached the mail server"
        worker.send_signal(signal.SIGKILL)  # killed while the mail server holds its first message
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    wait_for(lambda: not smtp_sink.stalling, seconds=20)
    assert smtp_sink.messages == []
    assert not OutboxEntry.objects.filter(status="sent").exists()

    restarted = start_worker(env)
    try:
        with celery_client(redis_url) as client:
            client.send_task(deliver_digests.name)  # what the periodic delivery does
        wait_for(lambda: len(smtp_sink.messages) >= 2)
        time.sleep(1)  # anything sent twice would arrive now
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)
    assert sorted(m["To"] for m in smtp_sink.messages) == sorted([owner.email, police_lead.email])
    assert not OutboxEntry.objects.exclude(status="sent").exists()


def test_a_long_digest_shows_the_soonest_items_and_says_how_many_more(
    owner: User, manager: User, chasing_on: ChasePolicy
) -> None:
    # 30 actions 8 to 12 days overdue: all in the "Overdue" section, none escalated yet.
    for i in range(30):
        started(owner, manager, -(12 - i // 6), f"Overdue action {i + 1:02d}")
    sweep(on=dt.date.today())
    deliver_pending()
    body = str(next(m for m in mail.outbox if m.to == [owner.email]).body)
    assert mail.outbox[0].subject.startswith("Followthrough: 30 items")
    assert body.count("Overdue action") == 25
    assert "Overdue action 01" in body  # the most overdue first
    assert "Overdue action 30" not in body
    assert "- and 5 more" in body


def test_a_digest_sent_again_after_a_crash_carries_the_same_message_id(
    owed_today: list[Action], owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.mail import EmailMultiAlternatives

    real_send = EmailMultiAlternatives.send
    calls = {"n": 0}

    def accepted_then_killed(self: Any, *args: Any, **kwargs: Any) -> int:
        sent = real_send(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            raise SystemExit("worker killed after the mail server accepted, before the commit")
        return sent

    monkeypatch.setattr(EmailMultiAlternatives, "send", accepted_then_killed)
    with pytest.raises(SystemExit):
        deliver_pending(recipient_ids=[owner.pk])
    deliver_pending()
    to_owner = [m for m in mail.outbox if m.to == [owner.email]]
    assert len(to_owner) == 2  # the crash's duplicate: the only kind allowed
    first, again = (m.extra_headers["Message-ID"] for m in to_owner)
    assert first == again == Digest.objects.get(recipient=owner).message_id
    others = {m.extra_headers["Message-ID"] for m in mail.outbox if m.to != [owner.email]}
    assert others and first not in others


def test_entries_are_not_marked_sent_when_the_mail_backend_sent_nothing(
    owed_today: list[Action], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.mail import EmailMultiAlternatives

    monkeypatch.setattr(EmailMultiAlternatives, "send", lambda self, *args, **kwargs: 0)
    result = deliver_pending()
    assert (result.sent, result.failed) == (0, 2)
    assert not OutboxEntry.objects.filter(status="sent").exists()
    assert not Digest.objects.exists()


def test_a_hanging_mail_server_frees_the_worker(
    owed_today: list[Action], smtp_sink: SmtpSink, settings: Settings
) -> None:
    settings.EMAIL_TIMEOUT = 1
    smtp_sink.stall_next = 30
    started_at = time.monotonic()
    result = deliver_pending()
    assert time.monotonic() - started_at < 10
    assert result.failed >= 1
    assert "timed out" in OutboxEntry.objects.exclude(last_error="").first().last_error  # type: ignore[union-attr]


def test_an_entry_that_keeps_failing_is_given_up_on_and_left_for_the_managers(
    owed_today: list[Action], smtp_sink: SmtpSink, settings: Settings
) -> None:
    settings.FOLLOWTHROUGH_DELIVERY_MAX_ATTEMPTS = 3
    settings.FOLLOWTHROUGH_DELIVERY_BACKOFF_SECONDS = 1
    smtp_sink.refuse = True
    before = dt.datetime.now(dt.UTC)
    deliver_pending()
    retry = OutboxEntry.objects.first().next_attempt_at  # type: ignore[union-attr]
    assert retry is not None and retry - before < dt.timedelta(seconds=5)
    for _ in range(2):
        OutboxEntry.objects.update(next_attempt_at=None)
        deliver_pending()
    assert set(OutboxEntry.objects.values_list("status", "attempts")) == {("failed", 3)}
    smtp_sink.refuse = False
    OutboxEntry.objects.update(next_attempt_at=None)
    assert deliver_pending().sent == 0  # not retried forever
    assert smtp_sink.messages == []


def delivered_to(person: User) -> str:
    return "\n".join(str(m.body) for m in mail.outbox if m.to == [person.email])


def test_an_owner_deactivated_after_the_sweep_is_not_written_to_and_their_agency_lead_hears_instead(
    owed_today: list[Action], owner: User, police_lead: User
) -> None:
    owner.is_active = False
    owner.save()
    deliver_pending()
    deliver_pending()  # the copies wait for the next run when the lead was served first
    assert not any(m.to == [owner.email] for m in mail.outbox)
    assert set(OutboxEntry.objects.filter(recipient=owner).values_list("status", flat=True)) == {"redirected"}
    assert "deactivated" in OutboxEntry.objects.filter(recipient=owner).first().last_error  # type: ignore[union-attr]
    to_lead = delivered_to(police_lead)
    assert "Refresh the neglect toolkit training" in to_lead
    name = owner.get_full_name()
    assert f"You are told because {name}'s account was deactivated before this reached them" in to_lead
    # Nothing lost: every entry went out, or went out to someone else instead.
    assert not OutboxEntry.objects.filter(status="pending").exists()


def test_an_owner_whose_email_is_emptied_is_covered_by_the_business_managers_when_no_lead(
    health_owner: User, manager: User, chasing_on: ChasePolicy
) -> None:
    started(health_owner, manager, 3, "Agree the health neglect pathway")
    sweep(on=dt.date.today())
    User.objects.filter(pk=health_owner.pk).update(email="")
    result = deliver_pending()
    deliver_pending()
    assert result.entries_sent == 0
    to_manager = delivered_to(manager)
    assert "Agree the health neglect pathway" in to_manager
    assert "has no email address" in to_manager
    entry = OutboxEntry.objects.get(recipient=health_owner)
    assert entry.status == "redirected" and entry.digest is None and entry.sent_at is None


@pytest.fixture
def stuck(owed_today: list[Action], owner: User) -> OutboxEntry:
    """One entry waiting three hours, another given up on after its last attempt."""
    waiting, given_up = OutboxEntry.objects.filter(recipient=owner).order_by("id")[:2]
    OutboxEntry.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - dt.timedelta(hours=3))
    OutboxEntry.objects.filter(pk=given_up.pk).update(
        status="failed", attempts=10, last_error="SMTPDataError: (554, b'Message rejected as spam')"
    )
    OutboxEntry.objects.exclude(pk__in=[waiting.pk, given_up.pk]).update(status="sent")
    return given_up


def test_managers_see_how_long_the_oldest_entry_has_waited_and_what_could_not_be_delivered(
    client: Client, stuck: OutboxEntry, manager: User, owner: User
) -> None:
    client.force_login(manager)
    page = client.get(reverse("chasing")).content.decode()
    assert "The oldest entry waiting to go has waited 3 hours" in page
    assert "1 entry could not be delivered" in page
    assert "Message rejected as spam" in page
    assert owner.get_full_name() in page


def test_healthz_reports_the_oldest_waiting_entry_and_the_entries_given_up_on(
    client: Client, stuck: OutboxEntry
) -> None:
    outbox = client.get("/healthz").json()["outbox"]
    assert 3 * 3600 <= outbox["oldest_pending_seconds"] < 3 * 3600 + 60
    assert outbox["failed"] == 1


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_at_once_send_each_person_one_digest(
    owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.core.mail import EmailMultiAlternatives
    from django.db import connections

    for days in (-60, -30, -20, -8, 0, 3, 10):
        started(owner, manager, days, f"Action due in {days}")
    sweep(on=dt.date.today())
    real_send = EmailMultiAlternatives.send

    def slow_send(self: Any, *args: Any, **kwargs: Any) -> int:
        time.sleep(0.5)  # long enough for the other worker to reach the same person
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", slow_send)

    def run() -> int:
        try:
            return deliver_pending().sent
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        sent = sum(pool.map(lambda _: run(), range(2)))
    people = OutboxEntry.objects.values("recipient").distinct().count()
    assert sent == len(mail.outbox) == people == Digest.objects.count()
    assert not OutboxEntry.objects.exclude(status="sent").exists()


def test_an_owner_deactivated_while_a_delivery_run_is_under_way_is_not_written_to(
    owed_today: list[Action], owner: User, police_lead: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_at_the_start = User.objects.in_bulk([owner.pk, police_lead.pk])
    User.objects.filter(pk=owner.pk).update(is_active=False)
    monkeypatch.setattr(User.objects, "in_bulk", lambda ids: read_at_the_start)
    deliver_pending()
    assert not any(m.to == [owner.email] for m in mail.outbox)
    assert set(OutboxEntry.objects.filter(recipient=owner).values_list("status", flat=True)) == {"redirected"}
