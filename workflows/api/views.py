from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from .. import deadlines
from ..models import (
    OPEN_STATES,
    RAG,
    Action,
    ActionChangeRequest,
    ActionState,
    ExtensionRequest,
    Recommendation,
    Theme,
    TransitionLog,
)
from ..selectors import (
    action_list,
    actions_visible_to,
    agencies_open_to,
    recommendations_open_to,
    recommendations_visible_to,
    sees_all_agencies,
    serving_theme,
)
from ..services import actions as services
from ..transitions import TransitionConflict
from ..validators import MAX_ID
from .fields import ScopedRelatedField, scoped_choices
from .people import PersonField
from .transitions import TransitionError, TransitionsMixin


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
    # The rung it stands on today, derived from its due date and the policy, as the queue shows it.
    escalation_level = serializers.IntegerField(read_only=True)
    state = serializers.CharField(read_only=True)
    recommendation = ScopedRelatedField(recommendations_open_to)
    owner = PersonField(allow_null=True, required=False)
    agency = ScopedRelatedField(agencies_open_to, allow_null=True, required=False)
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
            "escalation_level",
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


class ActionRequestFields:
    fields = [
        "id",
        "action",
        "reason",
        "requested_by",
        "requested_at",
        "decision",
        "decision_comment",
        "decided_by",
        "decided_at",
    ]


class ChangeRequestSerializer(serializers.ModelSerializer[ActionChangeRequest]):
    class Meta:
        model = ActionChangeRequest
        fields = [
            *ActionRequestFields.fields,
            "old_description",
            "new_description",
            "old_outcome_measure",
            "new_outcome_measure",
            "old_difference_for_children",
            "new_difference_for_children",
        ]
        read_only_fields = fields


class ExtensionRequestSerializer(serializers.ModelSerializer[ExtensionRequest]):
    class Meta:
        model = ExtensionRequest
        fields = [*ActionRequestFields.fields, "current_due_on", "requested_due_on"]
        read_only_fields = fields


class ChangeAskSerializer(serializers.Serializer[Any]):
    """New wording for an agreed action; a field left out keeps its text."""

    description = serializers.CharField(required=False)
    outcome_measure = serializers.CharField(required=False, allow_blank=True)
    difference_for_children = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField()


class ExtensionAskSerializer(serializers.Serializer[Any]):
    requested_due_on = serializers.DateField()
    reason = serializers.CharField()


class DecisionSerializer(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(choices=[("approve", "Approve"), ("refuse", "Refuse")])
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ActionFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=ActionState.choices)
    rag = django_filters.MultipleChoiceFilter(choices=RAG.choices)
    overdue = django_filters.BooleanFilter(method="filter_overdue")
    escalation = django_filters.MultipleChoiceFilter(
        field_name="escalation_level", choices=[(str(n), f"Level {n}") for n in range(4)]
    )
    # By id: a choice filter would list every person and every recommendation on the browsable API.
    owner = django_filters.NumberFilter(field_name="owner_id", min_value=1, max_value=MAX_ID)
    recommendation = django_filters.NumberFilter(
        field_name="recommendation_id", min_value=1, max_value=MAX_ID
    )
    agency = django_filters.ModelChoiceFilter(queryset=scoped_choices(agencies_open_to))
    theme = django_filters.ModelChoiceFilter(queryset=Theme.objects.all(), method="filter_theme")

    class Meta:
        model = Action
        fields = ["state", "agency", "owner", "rag", "escalation", "recommendation", "theme"]

    def filter_theme(self, actions: QuerySet[Action], name: str, value: Theme) -> QuerySet[Action]:
        return serving_theme(actions, value)

    def filter_overdue(self, actions: QuerySet[Action], name: str, value: bool | None) -> QuerySet[Action]:
        if value is None:
            return actions
        overdue = Q(state__in=OPEN_STATES) & deadlines.overdue(timezone.localdate())
        return actions.filter(overdue) if value else actions.exclude(overdue)


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
        # The recommendations offered are those the caller may plan for: none, for someone who may not.
        call_service(services.require_may_add_actions, actor=actor_of(request))
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

    @extend_schema(responses={204: None, 409: TransitionError})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            services.action_delete(action=self.get_object(), actor=actor_of(request))
        except PermissionDenied as error:
            raise _as_api_error(error) from error
        except ValidationError as refusal:
            # The action's state refuses, not the request: 409, as for a transition from a changed state.
            return Response({"detail": " ".join(refusal.messages)}, status=409)
        return Response(status=204)

    def _requests(
        self,
        request: Request,
        *,
        related: str,
        output: type[serializers.ModelSerializer[Any]],
        ask: type[serializers.Serializer[Any]],
        service: Any,
    ) -> Response:
        action = self.get_object()
        if request.method == "GET":
            asked = getattr(action, related).select_related("requested_by", "decided_by")
            return Response(output(asked, many=True).data)
        body = ask(data=request.data)
        body.is_valid(raise_exception=True)
        made = call_service(service, action=action, actor=actor_of(request), **body.validated_data)
        return Response(output(made).data, status=201)

    def _decide(
        self,
        request: Request,
        *,
        related: str,
        request_pk: str,
        output: type[serializers.ModelSerializer[Any]],
        service: Any,
        keyword: str,
    ) -> Response:
        asked = get_object_or_404(getattr(self.get_object(), related).all(), pk=request_pk)
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            call_service(
                service,
                **{keyword: asked},
                actor=actor_of(request),
                approve=body.validated_data["decision"] == "approve",
                comment=body.validated_data["comment"],
            )
        except TransitionConflict as conflict:
            return Response({"detail": str(conflict)}, status=status.HTTP_409_CONFLICT)
        return Response(output(asked).data)

    # GET: a plain list, neither paged nor filtered like the actions' list; POST: the request made.
    @extend_schema(methods=["GET"], responses=ChangeRequestSerializer(many=True), filters=False)
    @extend_schema(methods=["POST"], request=ChangeAskSerializer, responses={201: ChangeRequestSerializer})
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="change-requests",
        url_name="change-requests",
        pagination_class=None,
        filter_backends=[],
    )
    def change_requests(self, request: Request, pk: str | None = None) -> Response:
        """An agreed action's wording changes only by a change request another manager approves."""
        return self._requests(
            request,
            related="change_requests",
            output=ChangeRequestSerializer,
            ask=ChangeAskSerializer,
            service=services.action_request_change,
        )

    @extend_schema(request=DecisionSerializer, responses={200: ChangeRequestSerializer, 409: TransitionError})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"change-requests/(?P<request_pk>[0-9]+)/decide",
        url_name="change-request-decide",
    )
    def decide_change_request(
        self, request: Request, pk: str | None = None, request_pk: str = ""
    ) -> Response:
        return self._decide(
            request,
            related="change_requests",
            request_pk=request_pk,
            output=ChangeRequestSerializer,
            service=services.action_decide_change,
            keyword="change",
        )

    @extend_schema(methods=["GET"], responses=ExtensionRequestSerializer(many=True), filters=False)
    @extend_schema(
        methods=["POST"], request=ExtensionAskSerializer, responses={201: ExtensionRequestSerializer}
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="extension-requests",
        url_name="extension-requests",
        pagination_class=None,
        filter_backends=[],
    )
    def extension_requests(self, request: Request, pk: str | None = None) -> Response:
        return self._requests(
            request,
            related="extension_requests",
            output=ExtensionRequestSerializer,
            ask=ExtensionAskSerializer,
            service=services.action_request_extension,
        )

    @extend_schema(
        request=DecisionSerializer, responses={200: ExtensionRequestSerializer, 409: TransitionError}
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"extension-requests/(?P<request_pk>[0-9]+)/decide",
        url_name="extension-request-decide",
    )
    def decide_extension_request(
        self, request: Request, pk: str | None = None, request_pk: str = ""
    ) -> Response:
        return self._decide(
            request,
            related="extension_requests",
            request_pk=request_pk,
            output=ExtensionRequestSerializer,
            service=services.action_decide_extension,
            keyword="extension",
        )


class RecommendationSerializer(serializers.ModelSerializer[Recommendation]):
    # null for a recommendation made directly, with no audit, review or plan as its source.
    source_type: serializers.SlugRelatedField[ContentType] = serializers.SlugRelatedField(
        slug_field="model", read_only=True, allow_null=True
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
    # null for a transition the system made (the sweep, an import).
    actor: serializers.StringRelatedField[User] = serializers.StringRelatedField(allow_null=True)

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
