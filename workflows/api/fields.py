"""Choice lists that are the caller's: related fields and filters whose queryset comes, per request, from
the one selector that says what the caller may see or act on. The browsable API lists a field's choices
in its forms, so a field over ``Model.objects.all()`` would show every agency's records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, QuerySet
from rest_framework import serializers

from ..selectors import Viewer

Scope = Callable[[Viewer], QuerySet[Any]]


def scoped_choices(scope: Scope) -> Callable[[Any], QuerySet[Any]]:
    """A django-filter queryset callable (given the request): a filter's choices are the caller's."""
    return lambda request: scope(request.user if request is not None else AnonymousUser())


class ScopedRelatedField(serializers.PrimaryKeyRelatedField[Model]):
    """A primary key that must be one of ``scope(caller)``; the browsable API offers only those."""

    def __init__(self, scope: Scope, **kwargs: Any) -> None:
        self.scope = scope
        # Nobody's rows: only the model, for the schema and for a serializer used without a request.
        super().__init__(queryset=scope(AnonymousUser()), **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        request = self.context.get("request")
        return self.scope(request.user if request is not None else AnonymousUser())


def scoped_filterset(
    model: type[Model], fields: list[str], **scopes: Scope
) -> type[django_filters.FilterSet]:
    """A FilterSet on ``fields`` whose related filters (named in ``scopes``) offer the caller's choices
    only: ``filterset_fields`` would offer every row of the related model."""
    attrs: dict[str, Any] = {
        name: django_filters.ModelChoiceFilter(queryset=scoped_choices(scope))
        for name, scope in scopes.items()
    }
    attrs["Meta"] = type("Meta", (), {"model": model, "fields": fields})
    return type(f"{model.__name__}Filter", (django_filters.FilterSet,), attrs)
