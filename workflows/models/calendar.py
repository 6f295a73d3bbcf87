from django.db import models


class ClosureDay(models.Model):
    """A non-working day the holidays package does not know: a new one-off bank holiday, a local closure."""

    date = models.DateField(unique=True)
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%d %B %Y}: {self.reason}"
