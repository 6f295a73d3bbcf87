from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from simple_history.models import HistoricalRecords

from ..calendar import WorkingCalendar, working_calendar
from .agencies import Agency

if TYPE_CHECKING:
    from ..clocks import Clock


class StatutoryClock(models.Model):
    """A running statutory clock of a case (a review's Panel notification, its rapid review), chased like
    an action until its milestone is met.

    The length and unit are copied from the settings when the clock starts, and the due date worked out
    then, so a later change to the guidance does not move a clock already running.
    """

    name = models.CharField(max_length=50)
    label = models.CharField(max_length=200)
    source_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    source_id = models.PositiveBigIntegerField()
    source = GenericForeignKey("source_type", "source_id")
    starts_on = models.DateField()
    length = models.PositiveSmallIntegerField()
    unit = models.CharField(max_length=20)
    due_on = models.DateField()
    met_on = models.DateField(null=True, blank=True)
    # Who answers for the clock: the review's lead; their agency for the chase's fallback.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    agency = models.ForeignKey(Agency, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source_type", "source_id", "name"], name="one_clock_per_name")
        ]
        indexes = [models.Index(fields=["met_on", "due_on"])]

    def __str__(self) -> str:
        return self.label

    def clock(self, calendar: WorkingCalendar | None = None) -> Clock:
        """The clock's answers; pass the calendar when asking about many clocks, to read it once."""
        from ..clocks import Clock

        return Clock(
            starts_on=self.starts_on,
            length=self.length,
            unit=self.unit,
            calendar=calendar or working_calendar(),
        )
