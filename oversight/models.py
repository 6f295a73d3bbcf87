"""What oversight keeps: the partnership dashboard's figures, drawn ahead of time."""

from __future__ import annotations

from django.db import models


class DashboardSnapshot(models.Model):
    """The partnership-wide dashboard's action figures, drawn by a periodic task so the page reads one row
    instead of aggregating every action; the page says when they were drawn."""

    scope = models.CharField(max_length=50, unique=True)
    data = models.JSONField()
    drawn_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Dashboard figures ({self.scope}) drawn {self.drawn_at:%Y-%m-%d %H:%M}"
