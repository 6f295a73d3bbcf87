"""The transitions contract every case type's API shares.

GET  {detail}/transitions/         the transitions the caller may make now
POST {detail}/transitions/{name}/  {"comment": ..., "state": <the state the caller read>}
     200 with the new state; 400 with the reason when refused; 409 when the object changed since it
     was read; 404 when the caller may not see it.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ..transitions import TransitionConflict, TransitionRefused, available_transitions, transition_perform


class TransitionOptionSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    # The stubs type Field.label (a field's own caption) as str; here "label" is a declared field.
    label = serializers.CharField()  # type: ignore[assignment]
    target = serializers.CharField()
    comment_required = serializers.BooleanField()


class TransitionRequestSerializer(serializers.Serializer[Any]):
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    state = serializers.CharField(
        required=False, help_text="The state you read; if it has changed since, the answer is 409."
    )


TransitionResult = inline_serializer(
    "TransitionResult", fields={"id": serializers.IntegerField(), "state": serializers.CharField()}
)
TransitionError = inline_serializer("TransitionError", fields={"detail": serializers.CharField()})


class TransitionsMixin:
    """For a GenericViewSet whose get_object() is already scoped to what the caller may see."""

    get_object: Any

    def perform_transition(
        self, obj: models.Model, name: str, request: Request, data: dict[str, Any]
    ) -> None:
        transition_perform(
            obj=obj, name=name, actor=request.user, comment=data["comment"], expected_state=data.get("state")
        )

    # A plain list, neither paged nor filtered like the objects' list.
    @extend_schema(responses=TransitionOptionSerializer(many=True), filters=False)
    @action(
        detail=True,
        methods=["get"],
        url_path="transitions",
        url_name="transitions",
        pagination_class=None,
        filter_backends=[],
    )
    def transitions(self, request: Request, pk: str | None = None) -> Response:
        options = available_transitions(self.get_object(), request.user)
        return Response(TransitionOptionSerializer([o.__dict__ for o in options], many=True).data)

    @extend_schema(
        request=TransitionRequestSerializer,
        responses={200: TransitionResult, 409: TransitionError},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"transitions/(?P<name>[a-z_]+)",
        url_name="transition",
    )
    def transition(self, request: Request, pk: str | None = None, name: str = "") -> Response:
        obj = self.get_object()
        body = TransitionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            self.perform_transition(obj, name, request, body.validated_data)
        except TransitionRefused as refusal:
            return Response({"detail": str(refusal)}, status=status.HTTP_400_BAD_REQUEST)
        except TransitionConflict as conflict:
            return Response({"detail": str(conflict)}, status=status.HTTP_409_CONFLICT)
        return Response({"id": obj.pk, "state": getattr(obj, "state", None)})
