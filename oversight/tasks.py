"""Celery tasks: thin wrappers that call a service and are safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .dashboard import draw_partnership_figures


@shared_task
def draw_dashboard() -> str:
    """Draw the partnership dashboard's figures now, so no manager waits for them."""
    return str(draw_partnership_figures(today=timezone.localdate()).drawn_at)
