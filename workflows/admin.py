from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from accounts.audit import CHANGE_REASON, record
from accounts.models import AccessEvent

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

# Fields that change what someone may do: a change to any of them needs a reason and is recorded.
POWERS = ["groups", "user_permissions", "is_superuser", "is_staff"]


def _codes(permissions: Any) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions}


class PersonUserChangeForm(UserChangeForm):  # type: ignore[type-arg]
    grant_reason = forms.CharField(
        label="Reason for a change of role or permissions",
        max_length=300,
        required=False,
        help_text="Needed when roles, permissions, staff or superuser status change; kept with your name.",
    )

    # Set by the admin for the person using the form.
    actor: User

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if set(self.changed_data) & set(POWERS) and not cleaned.get("grant_reason", "").strip():
            self.add_error("grant_reason", "Say why this person's roles or permissions change")
        if self.actor.is_superuser:
            return cleaned
        # Nobody gives what they do not hold themselves: a role or permission beyond their own.
        held = self.actor.get_all_permissions()
        user = self.instance
        if "groups" in self.changed_data:
            before = set(user.groups.all()) if user.pk else set()
            for group in set(cleaned.get("groups") or []) - before:
                beyond = _codes(group.permissions.select_related("content_type")) - held
                if beyond:
                    self.add_error(
                        "groups", f"You cannot give the {group} role: you do not have {min(beyond)}"
                    )
        if "user_permissions" in self.changed_data:
            before_perms = set(user.user_permissions.all()) if user.pk else set()
            added = set(cleaned.get("user_permissions") or []) - before_perms
            beyond = _codes(added) - held
            if beyond:
                self.add_error(
                    "user_permissions", f"You cannot give a permission you do not have: {min(beyond)}"
                )
        return cleaned


@admin.register(User)
class PersonUserAdmin(UserAdmin):
    """People and their roles. Only a superuser makes a superuser or changes a superuser's account; anyone
    else gives only roles and permissions they hold; every change of powers is in the sign-in audit with
    the reason the form asks for."""

    form = PersonUserChangeForm
    inlines = [PersonInline]
    list_display = ["username", "first_name", "last_name", "email", "agency", "is_active"]
    list_select_related = ["person__agency"]
    list_filter = ["is_active", "groups", "person__agency"]

    @admin.display(ordering="person__agency__name")
    def agency(self, user: User) -> Any:
        return getattr(getattr(user, "person", None), "agency", None)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [*fieldsets, ("Why roles or permissions change", {"fields": ["grant_reason"]})]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if request.user.is_superuser else [*readonly, "is_superuser"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A superuser's account (its password, its roles) is a superuser's business only.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if issubclass(form, PersonUserChangeForm):
            form.actor = request.user  # type: ignore[assignment]
        return form

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # What the person could do before, kept on this request's form (the admin is shared by requests)
        # for save_related, which sees the roles once they are saved. The reason rides on the request, so
        # the sign-in audit's own record of a role change (made as the roles are saved) carries it too.
        form.powers_before = _powers(User.objects.get(pk=obj.pk)) if change else set()
        setattr(request, CHANGE_REASON, form.cleaned_data.get("grant_reason", "").strip())
        super().save_model(request, obj, form, change)

    @transaction.atomic
    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Roles are recorded by the sign-in audit whatever path changes them; the powers only this form
        # changes (permissions given one by one, staff and superuser status) are recorded here.
        before, after = form.powers_before, _powers(User.objects.get(pk=form.instance.pk))
        granted, removed = AccessEvent.Kind.ROLE_GRANTED, AccessEvent.Kind.ROLE_REMOVED
        for kind, changed in ((granted, after - before), (removed, before - after)):
            for what in sorted(changed):
                record(kind, request=request, user=form.instance, detail=what)


def _powers(user: User) -> set[str]:
    """What ``user`` holds beyond their roles, as the sign-in audit names it."""
    return (
        {f"Permission: {code}" for code in user.get_user_permissions()}
        | ({"Superuser status"} if user.is_superuser else set())
        | ({"Staff status"} if user.is_staff else set())
    )


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
