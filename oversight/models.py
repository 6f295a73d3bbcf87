"""What oversight keeps: the partnership dashboard's figures, drawn ahead of time."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DashboardSnapshot(models.Model):
    """The partnership-wide dashboard's action figures, drawn by a periodic task so the page reads one row
    instead of aggregating every action; the page says when they were drawn."""

    scope = models.CharField(max_length=50, unique=True)
    data = models.JSONField()
    drawn_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Dashboard figures ({self.scope}) drawn {self.drawn_at:%Y-%m-%d %H:%M}"


class ExceptionReportReading(models.Model):
    """The day a person last marked the exception report read: the report says what changed since. Only a
    date, since what changed is worked out from the actions' own dates."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_on = models.DateField()

    def __str__(self) -> str:
        return f"Exception report read on {self.read_on:%Y-%m-%d}"
