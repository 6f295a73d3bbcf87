from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import OPEN_STATES, RAG, Action, ActionState, Agency, Recommendation, Theme, TransitionLog
from ..selectors import action_list, actions_visible_to, recommendations_visible_to, sees_all_agencies
from ..services import actions as services
from .transitions import TransitionsMixin


def actor_of(request: Request) -> User:
    """The authenticated caller; every endpoint here requires authentication, so never anonymous."""
    assert isinstance(request.user, User)
    return request.user


def _as_api_error(error: ValidationError | PermissionDenied) -> exceptions.APIException:
    if isinstance(error, PermissionDenied):
        return exceptions.PermissionDenied(str(error))
    return exceptions.ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages)


def call_service(service: Any, **kwargs: Any) -> Any:
    """Call a service for an endpoint: its refusals become the API's 400 or 403, saying why."""
    try:
        return service(**kwargs)
    except (ValidationError, PermissionDenied) as error:
        raise _as_api_error(error) from error


class ActionSerializer(serializers.ModelSerializer[Action]):
    rag = serializers.CharField(read_only=True)
    rag_disagrees = serializers.BooleanField(read_only=True)
    state = serializers.CharField(read_only=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True, required=False)
    agency = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.all(), allow_null=True, required=False
    )
    theme = serializers.PrimaryKeyRelatedField(queryset=Theme.objects.all(), allow_null=True, required=False)

    class Meta:
        model = Action
        fields = [
            "id",
            "recommendation",
            "reference",
            "description",
            "outcome_measure",
            "difference_for_children",
            "owner",
            "agency",
            "responsible_group",
            "due_on",
            "original_due_on",
            "priority",
            "theme",
            "state",
            "rag",
            "reported_rag",
            "rag_disagrees",
            "follow_up_of",
            "last_progress_on",
            "submitted_at",
            "signed_off_at",
            "signed_off_by",
            "completed_on",
            "impact_check_on",
        ]
        read_only_fields = [
            "responsible_group",
            "original_due_on",
            "follow_up_of",
            "last_progress_on",
            "submitted_at",
            "signed_off_at",
            "signed_off_by",
            "completed_on",
            "impact_check_on",
        ]


class ActionFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=ActionState.choices)
    rag = django_filters.MultipleChoiceFilter(choices=RAG.choices)
    overdue = django_filters.BooleanFilter(method="filter_overdue")

    class Meta:
        model = Action
        fields = ["state", "agency", "owner", "rag", "recommendation"]

    def filter_overdue(self, actions: QuerySet[Action], name: str, value: bool | None) -> QuerySet[Action]:
        if value is None:
            return actions
        overdue = {"state__in": OPEN_STATES, "due_on__lt": timezone.localdate()}
        return actions.filter(**overdue) if value else actions.exclude(**overdue)


class ActionViewSet(
    TransitionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Action],
):
    """Actions the caller may see. State changes only through the transitions endpoints; only a draft is
    deleted."""

    serializer_class = ActionSerializer
    filterset_class = ActionFilter

    def get_queryset(self) -> QuerySet[Action]:
        return action_list(actions_visible_to(self.request.user)).order_by("due_on", "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        recommendation = data.pop("recommendation")
        try:
            action = services.action_create(actor=actor_of(request), recommendation=recommendation, **data)
        except (ValidationError, PermissionDenied) as error:
            raise _as_api_error(error) from error
        return Response(self.get_serializer(self.get_queryset().get(pk=action.pk)).data, status=201)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        action = self.get_object()
        serializer = self.get_serializer(action, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if getattr(action, k) != v}
        try:
            services.action_update(action=action, actor=actor_of(request), **changes)
        except (ValidationError, PermissionDenied) as error:
            raise _as_api_error(error) from error
        return Response(self.get_serializer(self.get_queryset().get(pk=action.pk)).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            services.action_delete(action=self.get_object(), actor=actor_of(request))
        except PermissionDenied as error:
            raise _as_api_error(error) from error
        except ValidationError as refusal:
            # The action's state refuses, not the request: 409, as for a transition from a changed state.
            return Response({"detail": " ".join(refusal.messages)}, status=409)
        return Response(status=204)


class RecommendationSerializer(serializers.ModelSerializer[Recommendation]):
    source_type: serializers.SlugRelatedField[ContentType] = serializers.SlugRelatedField(
        slug_field="model", read_only=True
    )
    theme = serializers.PrimaryKeyRelatedField(queryset=Theme.objects.all(), allow_null=True, required=False)

    class Meta:
        model = Recommendation
        fields = ["id", "reference", "text", "theme", "source_type", "source_id", "created_at"]
        read_only_fields = ["source_id", "created_at"]


class RecommendationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Recommendation],
):
    serializer_class = RecommendationSerializer
    filterset_fields = ["theme"]

    def get_queryset(self) -> QuerySet[Recommendation]:
        return recommendations_visible_to(self.request.user).select_related("source_type", "theme")

    def perform_create(self, serializer: serializers.BaseSerializer[Recommendation]) -> None:
        try:
            serializer.instance = services.recommendation_create(
                actor=actor_of(self.request), **serializer.validated_data
            )
        except (ValidationError, PermissionDenied) as error:
            raise _as_api_error(error) from error

    def perform_update(self, serializer: serializers.BaseSerializer[Recommendation]) -> None:
        if not self.request.user.has_perm("workflows.change_recommendation"):
            raise exceptions.PermissionDenied("only an auditor or a manager may change recommendations")
        recommendation = serializer.instance
        assert recommendation is not None
        recommendation._history_user = self.request.user  # type: ignore[attr-defined]
        serializer.save()


class TransitionLogSerializer(serializers.ModelSerializer[TransitionLog]):
    object_type: serializers.SlugRelatedField[ContentType] = serializers.SlugRelatedField(
        source="content_type", slug_field="model", read_only=True
    )
    actor: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = TransitionLog
        fields = [
            "id",
            "object_type",
            "object_id",
            "transition",
            "label",
            "from_state",
            "to_state",
            "actor",
            "comment",
            "at",
        ]


class TransitionLogViewSet(viewsets.ReadOnlyModelViewSet[TransitionLog]):
    """The transition log, read-only, limited to the actions the caller may see."""

    serializer_class = TransitionLogSerializer
    filterset_fields = ["object_id", "transition"]

    def get_queryset(self) -> QuerySet[TransitionLog]:
        log = TransitionLog.objects.select_related("content_type", "actor")
        if sees_all_agencies(self.request.user):
            return log
        # Filter through the join rather than looking up the content type: no query at all until the
        # list is read, so building the OpenAPI schema needs no database.
        return log.filter(
            content_type__app_label=Action._meta.app_label,
            content_type__model=Action._meta.model_name,
            object_id__in=actions_visible_to(self.request.user).values("pk"),
        )
