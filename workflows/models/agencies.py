from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class Agency(models.Model):
    """A partner organisation. Everything an agency does is visible to it and to partnership managers."""

    class Kind(models.TextChoices):
        POLICE = "police", "Police"
        HEALTH = "health", "Health"
        SOCIAL_CARE = "social_care", "Local authority children's social care"
        EARLY_HELP = "early_help", "Early help"
        EDUCATION = "education", "Education"
        PROBATION = "probation", "Probation"
        VOLUNTARY = "voluntary", "Voluntary and community"
        PARTNERSHIP = "partnership", "Safeguarding partnership"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"
        permissions = [
            ("view_all_agencies", "Can see the work of every agency"),
            ("view_agency_work", "Can see and answer for all of their own agency's work"),
            ("work_on_all_agencies", "Can work on every agency's actions, not only see them"),
        ]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """A user's place in the partnership: which agency they work for and who manages them."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="person")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="people")
    job_title = models.CharField(max_length=200, blank=True)
    line_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.get_username()} ({self.agency})"
