from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class TransitionLog(models.Model):
    """One row per state change of any workflow object: who, when, from, to, which transition and why.

    Rows are written only by workflows.transitions.transition_perform and never edited.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    transition = models.CharField(max_length=64)
    label = models.CharField(max_length=200)
    from_state = models.CharField(max_length=64)
    to_state = models.CharField(max_length=64)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    comment = models.TextField(blank=True)
    arguments = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id", "at"])]

    def __str__(self) -> str:
        return f"{self.content_type} {self.object_id}: {self.from_state} → {self.to_state}"


class RefusedAttempt(models.Model):
    """A decision someone tried to make and was refused (someone else decided first, it was their own
    item, the item had moved on): the trace the losing attempt leaves beside the winner's record.

    Rows are written only by workflows.transitions.record_refusal and never edited.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    # What the person tried to do, in words ("Sign off as complete", "Pause chasing").
    attempted = models.CharField(max_length=200)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    reason = models.TextField(help_text="Why it was refused, as the person was told.")
    comment = models.TextField(blank=True, help_text="What the person wrote with the attempt.")
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id", "at"])]

    def __str__(self) -> str:
        return f"{self.attempted} refused on {self.content_type} {self.object_id}"
