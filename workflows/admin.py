from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Action,
    Agency,
    ClosureDay,
    Evidence,
    ExtensionRequest,
    Person,
    Plan,
    ProgressNote,
    Recommendation,
    Theme,
    TransitionLog,
)


@admin.register(Agency)
class AgencyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]


class PersonInline(admin.StackedInline):
    model = Person
    fk_name = "user"
    can_delete = False
    autocomplete_fields = ["agency", "line_manager"]


admin.site.unregister(User)


@admin.register(User)
class PersonUserAdmin(UserAdmin):
    inlines = [PersonInline]
    list_display = ["username", "first_name", "last_name", "email", "agency", "is_active"]
    list_select_related = ["person__agency"]
    list_filter = ["is_active", "groups", "person__agency"]

    @admin.display(ordering="person__agency__name")
    def agency(self, user: User) -> Any:
        return getattr(getattr(user, "person", None), "agency", None)


@admin.register(ClosureDay)
class ClosureDayAdmin(admin.ModelAdmin):
    list_display = ["date", "reason"]


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Plan)
class PlanAdmin(SimpleHistoryAdmin):
    search_fields = ["name"]


@admin.register(Recommendation)
class RecommendationAdmin(SimpleHistoryAdmin):
    list_display = ["reference", "text", "theme", "source_type"]
    list_select_related = ["theme", "source_type"]
    search_fields = ["reference", "text"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ProgressNoteInline(ReadOnlyInline):
    model = ProgressNote


class EvidenceInline(ReadOnlyInline):
    model = Evidence


class ExtensionRequestInline(ReadOnlyInline):
    model = ExtensionRequest
    fk_name = "action"


@admin.register(Action)
class ActionAdmin(SimpleHistoryAdmin):
    """Actions are read here; their state changes only through the pages and API, which log them."""

    list_display = ["reference", "description", "agency", "owner", "due_on", "state"]
    list_filter = ["state", "agency", "theme"]
    list_select_related = ["agency", "owner"]
    search_fields = ["reference", "description"]
    readonly_fields = [f.name for f in Action._meta.fields]
    inlines = [ProgressNoteInline, EvidenceInline, ExtensionRequestInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(TransitionLog)
class TransitionLogAdmin(admin.ModelAdmin):
    list_display = ["at", "content_type", "object_id", "label", "from_state", "to_state", "actor"]
    list_filter = ["content_type", "transition"]
    list_select_related = ["content_type", "actor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
