"""Celery tasks: thin wrappers that take ids or dates, call a service, and are safe to run twice."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from workflows.calendar import working_calendar

from .delivery import deliver_pending
from .models import ChasePolicy
from .sweep import sweep

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def sweep_today() -> int:
    """The 07:00 sweep. Working days only; nothing at all until a manager has confirmed the first sweep."""
    today = timezone.localdate()
    if not working_calendar().is_working_day(today):
        return 0
    if ChasePolicy.current().confirmed_at is None:
        logger.info("Chasing is not switched on yet: no sweep")
        return 0
    result = sweep(on=today, describe=False)
    request_delivery()
    return result.count


@shared_task(acks_late=True)
def archive_sent_entries() -> int:
    """Nightly: entries sent longer ago than FOLLOWTHROUGH_OUTBOX_RETENTION_DAYS leave the outbox."""
    from .services import outbox_archive_sent

    days = settings.FOLLOWTHROUGH_OUTBOX_RETENTION_DAYS
    return outbox_archive_sent(before=timezone.now() - dt.timedelta(days=days))


@shared_task(
    acks_late=True, autoretry_for=(OSError,), retry_backoff=60, retry_backoff_max=3600, max_retries=None
)
def deliver_digests(recipient_ids: list[int] | None = None) -> int:
    """Send what is waiting. Entries a failure left pending are retried by this task's next run."""
    return deliver_pending(recipient_ids=recipient_ids).sent


def request_delivery(recipient_ids: list[int] | None = None) -> None:
    """Ask a worker to deliver once the current transaction has committed the entries."""
    transaction.on_commit(partial(_enqueue_delivery, recipient_ids))


def _enqueue_delivery(recipient_ids: list[int] | None) -> None:
    # If Redis is down the entries wait in the outbox and the periodic delivery sends them once it is
    # back: nothing is lost, so this is a warning, not a failure of the sweep.
    try:
        deliver_digests.delay(recipient_ids)
    except OperationalError as exc:
        logger.warning("Could not queue delivery (%s); the outbox keeps the entries", exc)
