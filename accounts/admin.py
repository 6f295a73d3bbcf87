from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from .exports import access_events_csv
from .models import AccessEvent, ApiToken
from .services import revoke_tokens


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Administrators see every token and can revoke one; only its person can create one (and see its key)."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "last_used_from", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = [f.name for f in ApiToken._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = revoke_tokens(queryset)
        self.message_user(request, f"{len(revoked)} token(s) revoked.")


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The sign-in audit, read only: nobody adds, changes or deletes an entry, administrators included."""

    list_display = ["at", "kind", "username", "user", "actor", "address", "detail", "reason"]
    list_filter = ["kind"]
    date_hierarchy = "at"
    search_fields = ["username", "address", "detail", "reason", "actor__username"]
    readonly_fields = [f.name for f in AccessEvent._meta.fields]
    list_select_related = ["user", "actor"]
    actions = ["export_csv"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AccessEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AccessEvent | None = None) -> bool:
        return False

    @admin.action(description="Download the selected entries as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[AccessEvent]) -> HttpResponse:
        response = HttpResponse(access_events_csv(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="sign-in-audit.csv"'
        return response
