"""Agency returns are chased like actions: reminders, escalation, a link to the return, and then silence."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from audits.models import AgencyReturn, Audit
from audits.services.audits import audit_update
from notifications.delivery import deliver_pending
from notifications.models import ChasePolicy, OutboxEntry, Rule
from notifications.sweep import sweep
from tests.audits.helpers import answer, returns_of
from tests.notifications.conftest import MONDAY
from workflows.deadlines import with_rung
from workflows.transitions import transition_perform

pytestmark = pytest.mark.django_db


@pytest.fixture
def late_audit(scoped_audit: Audit, auditor: User, manager: User) -> Audit:
    """In fieldwork, returns 20 days overdue on MONDAY, the manager chairing the commissioning group."""
    audit_update(
        audit=scoped_audit, actor=auditor, returns_due_on=MONDAY - dt.timedelta(days=20), chair=manager
    )
    transition_perform(obj=scoped_audit, name="start_fieldwork", actor=auditor)
    return scoped_audit


def chased(audit: Audit) -> set[tuple[str, str, str]]:
    names = {r.pk: f"{r.case.reference}/{r.agency.kind}" for r in returns_of(audit)}
    return {
        (names[e.item_id], e.recipient.username, e.rule)
        for e in OutboxEntry.objects.filter(item_type__model="agencyreturn").select_related("recipient")
    }


def test_overdue_returns_are_chased_and_escalated(
    late_audit: Audit,
    chasing_on: ChasePolicy,
    owner: User,
    police_lead: User,
    health_lead: User,
) -> None:
    sweep(on=MONDAY)
    entries = chased(late_audit)
    # The police owner is chased and their line manager or agency lead hears at the first rung; the ICB
    # named nobody, so its lead is chased in the owner's place.
    assert ("EHE-01/police", "police.owner", Rule.OVERDUE) in entries
    assert ("EHE-01/police", "police.owner", Rule.ESCALATION_1) in entries  # the copy
    assert ("EHE-01/police", "police.lead", Rule.ESCALATION_1) in entries
    assert ("EHE-02/health", "health.lead", Rule.OVERDUE) in entries
    late = with_rung(AgencyReturn.objects.filter(case__audit=late_audit), on=MONDAY)
    assert {r.escalation_level for r in late} == {1}


def test_a_submitted_return_and_a_finished_fieldwork_are_not_chased(
    late_audit: Audit,
    chasing_on: ChasePolicy,
    owner: User,
    manager: User,
    health_lead: User,
) -> None:
    for agency_return in returns_of(late_audit):
        if agency_return.owner == owner:
            answer(agency_return, owner)
    sweep(on=MONDAY)
    assert {name.split("/")[1] for name, _, _ in chased(late_audit)} == {"health"}
    transition_perform(obj=late_audit, name="override_to_moderation", actor=manager, comment="Going ahead")
    OutboxEntry.objects.all().delete()
    sweep(on=MONDAY + dt.timedelta(days=7))
    assert chased(late_audit) == set()


def test_the_digest_links_to_the_return_and_the_timeline_shows_the_chase(
    late_audit: Audit,
    chasing_on: ChasePolicy,
    owner: User,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sweep(on=MONDAY)
    deliver_pending(recipient_ids=[owner.pk])
    (message,) = [m for m in mail.outbox if owner.email in m.to]
    police_return = next(r for r in returns_of(late_audit) if r.owner == owner)
    assert f"/returns/{police_return.pk}/" in message.body
    assert police_return.title in message.body
    client = Client()
    client.force_login(owner)
    page = client.get(f"/audits/{late_audit.pk}/").content.decode()
    assert f"to {owner.get_full_name()}" in page


def test_overdue_returns_are_in_the_queue_for_their_agency(
    late_audit: Audit, manager: User, police_lead: User, health_lead: User
) -> None:
    from django.http import QueryDict

    from oversight.queue import other_chased_items

    def kinds(user: User, query: str = "") -> list[tuple[str, str, int]]:
        items, _ = other_chased_items(user, QueryDict(query), today=MONDAY)
        return [(i.kind, i.label.split("(")[-1].rstrip(")"), i.days_overdue) for i in items]

    everything, total = other_chased_items(manager, QueryDict(""), today=MONDAY)
    assert total == 4 and {i.kind for i in everything} == {"Audit return"}
    assert {agency for _, agency, _ in kinds(police_lead)} == {"Greater Manchester Police"}
    assert {agency for _, agency, _ in kinds(health_lead)} == {"NHS Greater Manchester ICB"}
    assert len(kinds(manager, "owner=police.owner")) == 2
    client = Client()
    client.force_login(police_lead)
    assert (
        "EHE-2026 audit return for case EHE-01 (Greater Manchester Police)"
        in client.get("/queue/").content.decode()
    )
