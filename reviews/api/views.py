"""The reviews API: rapid reviews, chronologies and practice reviews, with the transitions contract."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from workflows.api.fields import ScopedRelatedField, scoped_filterset
from workflows.api.people import PersonField
from workflows.api.transitions import TransitionsMixin
from workflows.api.views import actor_of, call_service
from workflows.selectors import agencies_open_to

from .. import services
from ..models import Chronology, PracticeReview, RapidReview
from ..selectors import chronologies_visible_to, practice_reviews_visible_to, rapid_reviews_visible_to


class RapidReviewSerializer(serializers.ModelSerializer[RapidReview]):
    state = serializers.CharField(read_only=True)
    lead = PersonField()
    chair = PersonField(allow_null=True, required=False)

    class Meta:
        model = RapidReview
        fields = [
            "id",
            "reference",
            "child_reference",
            "incident_type",
            "incident_summary",
            "became_aware_on",
            "notified_on",
            "lead",
            "chair",
            "panel_meeting_on",
            "attendees",
            "decision",
            "decision_rationale",
            "immediate_learning",
            "sent_to_panel_on",
            "state",
        ]


class AskAgencyBody(serializers.Serializer[Any]):
    agency = ScopedRelatedField(agencies_open_to)
    owner = PersonField(allow_null=True, required=False)
    due_on = serializers.DateField(required=False, allow_null=True)


class _ReviewViewSet(
    TransitionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
):
    create_service: Any
    update_service: Any
    get_serializer: Any
    get_queryset: Any

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = call_service(type(self).create_service, actor=actor_of(request), **serializer.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=review.pk)).data, status=201)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        review = self.get_object()
        serializer = self.get_serializer(review, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {
            k: v
            for k, v in serializer.validated_data.items()
            if k not in ("reference", "rapid_review") and getattr(review, k) != v
        }
        call_service(type(self).update_service, review=review, actor=actor_of(request), **changes)
        return Response(self.get_serializer(self.get_queryset().get(pk=review.pk)).data)


class RapidReviewViewSet(_ReviewViewSet, viewsets.GenericViewSet[RapidReview]):
    """Rapid reviews the caller may see: partnership staff all, an agency those it was asked to help."""

    serializer_class = RapidReviewSerializer
    filterset_fields = ["state"]
    create_service = staticmethod(services.rapid_review_create)
    update_service = staticmethod(services.rapid_review_update)

    def get_queryset(self) -> QuerySet[RapidReview]:
        return rapid_reviews_visible_to(self.request.user).order_by("id")

    @extend_schema(request=AskAgencyBody, responses=RapidReviewSerializer)
    @action(detail=True, methods=["post"], url_path="agencies")
    def ask_agency(self, request: Request, pk: str | None = None) -> Response:
        review = self.get_object()
        body = AskAgencyBody(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        call_service(
            services.rapid_review_ask_agency, review=review, actor=actor_of(request), **body.validated_data
        )
        return Response(self.get_serializer(review).data, status=201)


class PracticeReviewSerializer(serializers.ModelSerializer[PracticeReview]):
    state = serializers.CharField(read_only=True)
    lead = PersonField()
    chair = PersonField(allow_null=True, required=False)
    rapid_review = ScopedRelatedField(rapid_reviews_visible_to, allow_null=True, required=False)

    class Meta:
        model = PracticeReview
        fields = [
            "id",
            "reference",
            "title",
            "rapid_review",
            "child_reference",
            "decided_on",
            "lead",
            "chair",
            "reviewer",
            "terms_of_reference",
            "practitioner_involvement",
            "family_involvement",
            "published_on",
            "publication_url",
            "state",
        ]


class PracticeReviewViewSet(_ReviewViewSet, viewsets.GenericViewSet[PracticeReview]):
    serializer_class = PracticeReviewSerializer
    filterset_fields = ["state"]
    create_service = staticmethod(services.practice_review_create)
    update_service = staticmethod(services.practice_review_update)

    def get_queryset(self) -> QuerySet[PracticeReview]:
        return practice_reviews_visible_to(self.request.user).order_by("id")


class ChronologySerializer(serializers.ModelSerializer[Chronology]):
    state = serializers.CharField(read_only=True)

    class Meta:
        model = Chronology
        fields = ["id", "review", "agency", "owner", "title", "due_on", "summary", "state", "submitted_at"]
        read_only_fields = ["review", "agency", "owner", "title", "due_on", "submitted_at"]


class ChronologyViewSet(
    TransitionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Chronology],
):
    """Chronologies the caller may see: their own agency's, never another's."""

    serializer_class = ChronologySerializer
    filterset_class = scoped_filterset(Chronology, ["state", "review"], review=rapid_reviews_visible_to)

    def get_queryset(self) -> QuerySet[Chronology]:
        return chronologies_visible_to(self.request.user).order_by("due_on", "id")

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        chronology = self.get_object()
        serializer = self.get_serializer(chronology, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        summary = serializer.validated_data.get("summary", chronology.summary)
        call_service(
            services.chronology_save, chronology=chronology, actor=actor_of(request), summary=summary
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=chronology.pk)).data)
