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
