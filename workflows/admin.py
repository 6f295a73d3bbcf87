from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Action,
    ActionChangeRequest,
    Agency,
    ClosureDay,
    Evidence,
    ExtensionRequest,
    Person,
    Plan,
    ProgressNote,
    Recommendation,
    RefusedAttempt,
    Theme,
    TransitionLog,
)
from .services.actions import action_delete


class ReasonedChangeForm(forms.ModelForm):  # type: ignore[type-arg]
    change_reason = forms.CharField(
        label="Reason for this change",
        max_length=100,
        help_text="Kept in the history with your name, for whoever asks later who changed this and why.",
    )


class HistoryAdmin(SimpleHistoryAdmin):
    """What an administrator changes here is history like any other change: with their name (set by
    SimpleHistoryAdmin) and the reason the form asks for.

    History is read here, never reverted: a revert writes a past version back with no transition, log
    or reason, undoing decisions (an approved extension's due date, a state) as if they never happened."""

    form = ReasonedChangeForm

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj._change_reason = form.cleaned_data["change_reason"]
        super().save_model(request, obj, form, change)

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        # simple-history only hides the button; a POST would still save the old version.
        if request.method != "GET":
            raise PermissionDenied("history cannot be reverted")
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(Agency)
class AgencyAdmin(HistoryAdmin):
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
class PlanAdmin(HistoryAdmin):
    search_fields = ["name"]


@admin.register(Recommendation)
class RecommendationAdmin(HistoryAdmin):
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


class ChangeRequestInline(ReadOnlyInline):
    model = ActionChangeRequest
    fk_name = "action"


@admin.register(Action)
class ActionAdmin(HistoryAdmin):
    """Actions are read here, not changed: their state changes only through the pages and API, which log
    them, and an agreed action's wording only by a change request another manager approves. Only a draft
    may be deleted."""

    list_display = ["reference", "description", "agency", "owner", "due_on", "state"]
    list_filter = ["state", "agency", "theme"]
    list_select_related = ["agency", "owner"]
    search_fields = ["reference", "description"]
    readonly_fields = [f.name for f in Action._meta.fields]
    inlines = [ProgressNoteInline, EvidenceInline, ExtensionRequestInline, ChangeRequestInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Action | None = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or obj.may_be_deleted)

    def delete_model(self, request: HttpRequest, obj: Action) -> None:
        assert isinstance(request.user, User)
        action_delete(action=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Action]) -> None:
        assert isinstance(request.user, User)
        with transaction.atomic():
            for action in queryset:
                action_delete(action=action, actor=request.user)


class RecordAdmin(admin.ModelAdmin):
    """A record of what happened: read here, never written, changed or deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TransitionLog)
class TransitionLogAdmin(RecordAdmin):
    list_display = ["at", "content_type", "object_id", "label", "from_state", "to_state", "actor"]
    list_filter = ["content_type", "transition"]
    list_select_related = ["content_type", "actor"]


@admin.register(RefusedAttempt)
class RefusedAttemptAdmin(RecordAdmin):
    list_display = ["at", "content_type", "object_id", "attempted", "actor", "reason"]
    list_filter = ["content_type", "attempted"]
    list_select_related = ["content_type", "actor"]
