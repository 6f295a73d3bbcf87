from django.conf import settings
from django.db import models


class RoleGrant(models.Model):
    """A change to someone's powers made in the admin: a role (group) or permission given or taken away,
    or superuser or staff status, with who made it, when and why. Written only by the admin, never changed."""

    at = models.DateTimeField(auto_now_add=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    change = models.CharField(max_length=200)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.change} ({self.person})"
