"""Administration of the section 11 standards. A framework version a cycle has used is read-only: to
change the standards an administrator copies it as a new version, which later cycles then use."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import HttpRequest

from .models import Framework, Standard


class StandardInline(admin.StackedInline):  # type: ignore[type-arg]
    model = Standard
    extra = 0

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or not obj.in_use

    has_add_permission = has_change_permission  # type: ignore[assignment]
    has_delete_permission = has_change_permission


@admin.register(Framework)
class FrameworkAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "version", "in_use", "created_at"]
    inlines = [StandardInline]
    actions = ["copy_as_new_version"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or not obj.in_use)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or not obj.in_use)

    @admin.action(description="Copy as a new version (to change standards a cycle has used)")
    def copy_as_new_version(self, request: HttpRequest, frameworks: QuerySet[Framework]) -> None:
        for framework in frameworks:
            with transaction.atomic():
                latest = Framework.objects.filter(name=framework.name).aggregate(v=Max("version"))["v"] or 0
                copy = Framework.objects.create(name=framework.name, version=latest + 1)
                Standard.objects.bulk_create(
                    Standard(
                        framework=copy,
                        number=s.number,
                        title=s.title,
                        expectations=s.expectations,
                        evidence_guide=s.evidence_guide,
                    )
                    for s in framework.standards.all()
                )
            messages.success(request, f"{copy} created: edit it, and new cycles will use it")
