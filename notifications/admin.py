from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from workflows.admin import HistoryAdmin

from .models import ChasePause, ChasePolicy, Digest, NotificationPreference, OutboxEntry


@admin.register(ChasePolicy)
class ChasePolicyAdmin(HistoryAdmin):
    filter_horizontal = ["business_managers"]
    readonly_fields = ["confirmed_at", "confirmed_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ChasePolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxEntry)
class OutboxEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "rule", "item_type", "item_id", "due_on", "status", "attempts"]
    list_filter = ["status", "rule"]
    list_select_related = ["recipient", "item_type"]


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdmin):
    list_display = ["sent_at", "recipient", "subject"]
    list_select_related = ["recipient"]


@admin.register(ChasePause)
class ChasePauseAdmin(ReadOnlyAdmin):
    list_display = ["source_type", "source_id", "reason", "paused_by", "paused_at", "resumed_at"]


admin.site.register(NotificationPreference)
