"""Chasing: the policy, pauses, the outbox of reminders and escalations, and the digests sent."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from simple_history.models import HistoricalRecords


class ChasePolicy(models.Model):
    """The partnership's reminder and escalation policy. One row; the defaults are PRODUCT.md's."""

    first_reminder_working_days = models.PositiveSmallIntegerField(default=14)
    second_reminder_working_days = models.PositiveSmallIntegerField(default=3)
    overdue_repeat_days = models.PositiveSmallIntegerField(
        default=7, help_text="While overdue, the owner is chased again every this many days."
    )
    escalation_1_days = models.PositiveSmallIntegerField(
        default=14, help_text="Days overdue before the owner's line manager (or agency lead) is told."
    )
    escalation_2_days = models.PositiveSmallIntegerField(
        default=28, help_text="Days overdue before the business managers and the source's chair are told."
    )
    escalation_3_days = models.PositiveSmallIntegerField(
        default=56, help_text="Days overdue before the item goes on the executive exception report."
    )
    business_managers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # Quiet start: nothing is chased until a manager has seen what the first sweep would send and said yes.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords(m2m_fields=[business_managers])

    class Meta:
        verbose_name_plural = "chase policy"
        permissions = [("manage_chasing", "Can preview, confirm and pause chasing")]

    def __str__(self) -> str:
        return "Reminder and escalation policy"

    @classmethod
    def current(cls) -> ChasePolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy


class ChasePause(models.Model):
    """Chasing paused for everything from one source (an audit, a plan), with the reason on record."""

    source_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    source_id = models.PositiveBigIntegerField()
    source = GenericForeignKey("source_type", "source_id")
    reason = models.TextField()
    paused_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    paused_at = models.DateTimeField(auto_now_add=True)
    resumed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id"],
                condition=models.Q(resumed_at=None),
                name="one_active_pause_per_source",
            )
        ]

    def __str__(self) -> str:
        return f"Chasing paused for {self.source_type} {self.source_id}"


class Rule(models.TextChoices):
    REMIND_FIRST = "remind_first", "First reminder before due"
    REMIND_SECOND = "remind_second", "Second reminder before due"
    DUE = "due", "Due"
    OVERDUE = "overdue", "Overdue"
    ESCALATION_1 = "escalation_1", "Escalation 1"
    ESCALATION_2 = "escalation_2", "Escalation 2"
    ESCALATION_3 = "escalation_3", "Escalation 3"
    CHASE_NOW = "chase_now", "Chased by a manager"


ESCALATION_RULES = {Rule.ESCALATION_1, Rule.ESCALATION_2, Rule.ESCALATION_3}


class OutboxEntry(models.Model):
    """One reminder or escalation owed to one person about one item.

    The unique key makes every sweep idempotent: the same item, recipient, rule, due date in force,
    period (for the weekly overdue chase) and round (how often the item was reopened) is written once.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        # Its recipient could not be reached when it was to go: copies went to whoever hears instead.
        REDIRECTED = "redirected", "Passed on"

    # Every index slows the sweep's bulk insert, so the outbox keeps only those its queries use: the
    # unique key (whose (item_type, item_id) prefix also serves an item's timeline: a few rows to sort),
    # (status, recipient) for delivery, and the partial digest index. Django's automatic foreign-key
    # indexes would duplicate them.
    # Foreign keys: a constraint is checked for every inserted row at commit. The item type's does not
    # earn it: the sweep writes ids it just read from ContentType, and content types of registered
    # models are never deleted (the ORM's PROTECT still guards a delete). The recipient's does: a
    # person deleted while a sweep runs must not leave entries no one can deliver, and the check is a
    # probe of the users' primary key, small and hot. The digest is set at delivery, not at insert.
    item_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, db_index=False, db_constraint=False)
    item_id = models.PositiveBigIntegerField()
    item = GenericForeignKey("item_type", "item_id")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="outbox_entries", db_index=False
    )
    rule = models.CharField(max_length=20, choices=Rule.choices)
    due_on = models.DateField()
    period = models.PositiveIntegerField(default=0)
    round = models.PositiveIntegerField(default=0)
    sweep_date = models.DateField()
    # Why this person rather than the owner, when the owner cannot be reached ("the owner has no email").
    gap = models.CharField(max_length=200, blank=True)
    is_copy = models.BooleanField(default=False, help_text="The owner's copy of an escalation about them.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A chase or escalation from the queue waits for the person's next daily digest: one email a day.
    not_before = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    digest = models.ForeignKey(
        "Digest", on_delete=models.SET_NULL, null=True, blank=True, related_name="entries", db_index=False
    )

    class Meta:
        verbose_name_plural = "outbox entries"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item_type", "item_id", "recipient", "rule", "due_on", "period", "round"],
                name="outbox_entry_once",
            )
        ]
        indexes = [
            models.Index(fields=["status", "recipient"]),
            # A digest is built from the entries its claim tied to it; partial, so the sweep's inserts
            # (no digest yet) never touch it.
            models.Index(
                fields=["digest"], condition=models.Q(digest__isnull=False), name="outbox_entry_digest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} for {self.item_type} {self.item_id} to {self.recipient_id}"


class Digest(models.Model):
    """One email as a person received it: readable later in the app."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests")
    subject = models.CharField(max_length=200)
    text = models.TextField()
    sent_at = models.DateTimeField()
    # Derived from the entries it carries, so a message sent again after a crash is recognisably the same.
    message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return self.subject


class NotificationPreference(models.Model):
    class Delivery(models.TextChoices):
        DAILY = "daily", "One daily digest"
        IMMEDIATE_ESCALATIONS = "immediate_escalations", "Daily digest, and escalations straight away"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    delivery = models.CharField(max_length=30, choices=Delivery.choices, default=Delivery.DAILY)

    def __str__(self) -> str:
        return f"{self.user}: {self.get_delivery_display()}"


class SweepRun(models.Model):
    """A completed sweep, written in the sweep's own transaction: the next sweep writes only what
    changed since the last one (see notifications.sweep). A dry run leaves none."""

    sweep_date = models.DateField(db_index=True)
    # When the run read the items: a change saved after this is "since" for the next run.
    started_at = models.DateTimeField()
    # The thresholds the run used (Window) and who stood at the top of the ladder (Reach), so the next
    # run compares against exactly what this one did, whatever the calendar or policy became since.
    window = models.JSONField()
    reach = models.JSONField()
    added = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-sweep_date", "-started_at"]

    def __str__(self) -> str:
        return f"Sweep for {self.sweep_date} ({self.added} added)"


class SweepPerson(models.Model):
    """What the last sweep knew of each person that decides who hears (able to be emailed, line manager,
    agency, agency lead), so the next sweep recomputes in full the items of the people who changed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    state = models.CharField(max_length=100)
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id}: {self.state}"


class OutboxArchive(models.Model):
    """Entries sent longer ago than the retention period, moved out of the outbox so that the table the
    sweep writes and delivery reads stays the size of what is in flight.

    Only the key and what a timeline shows are kept. The key must stay: a later sweep can compute an
    entry it already sent (the third rung is owed every day the item stays there; an item changed in any
    way is computed afresh), and the outbox's unique key cannot reject what is no longer in it, so the
    sweep also refuses a key the archive holds (notifications.sweep).
    """

    item_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, db_index=False, db_constraint=False)
    item_id = models.PositiveBigIntegerField()
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    rule = models.CharField(max_length=20, choices=Rule.choices)
    due_on = models.DateField()
    period = models.PositiveIntegerField(default=0)
    round = models.PositiveIntegerField(default=0)
    sweep_date = models.DateField()
    gap = models.CharField(max_length=200, blank=True)
    is_copy = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item_type", "item_id", "recipient", "rule", "due_on", "period", "round"],
                name="outbox_archive_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} for {self.item_type_id} {self.item_id} to {self.recipient_id}"
