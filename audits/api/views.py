"""The audits API: audits, agency returns and case audits, with the transitions contract of actions."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from workflows.api.fields import ScopedRelatedField, scoped_filterset
from workflows.api.people import PersonField
from workflows.api.timeline import TimelineEntrySerializer
from workflows.api.transitions import TransitionsMixin
from workflows.api.views import actor_of, call_service
from workflows.deadlines import with_rung
from workflows.models import Agency, Theme
from workflows.selectors import agencies_open_to

from ..models import (
    AgencyReturn,
    Audit,
    CaseAudit,
    Finding,
    Grade,
    Rating,
    Section11Cycle,
    Section11Return,
    StandardRating,
)
from ..section11_reports import (
    return_timeline,
    section11_cycles_visible_to,
    section11_returns_visible_to,
)
from ..selectors import audit_list, case_audits_visible_to, returns_visible_to
from ..services import audits as services
from ..services import case_audits as case_audit_services
from ..services import section11 as section11_services


class CaseBody(serializers.Serializer[Any]):
    reference = serializers.CharField(max_length=30)


class ParticipationBody(serializers.Serializer[Any]):
    agency = ScopedRelatedField(agencies_open_to)
    contact = PersonField(allow_null=True, required=False)


class ModerationBody(serializers.Serializer[Any]):
    agreed_grade = serializers.ChoiceField(choices=Grade.choices)
    grade_reasons = serializers.CharField(required=False, allow_blank=True, default="")


class FindingBody(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=Finding.Kind.choices, default=Finding.Kind.IMPROVEMENT)
    text = serializers.CharField()


class RecommendationBody(serializers.Serializer[Any]):
    text = serializers.CharField()
    reference = serializers.CharField(required=False, allow_blank=True, default="")
    theme = serializers.PrimaryKeyRelatedField(queryset=Theme.objects.all(), allow_null=True, required=False)


class NoRecommendationsBody(serializers.Serializer[Any]):
    decided = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class AuditSerializer(serializers.ModelSerializer[Audit]):
    state = serializers.CharField(read_only=True)
    theme = serializers.PrimaryKeyRelatedField(queryset=Theme.objects.all(), allow_null=True, required=False)
    lead_auditor = PersonField(allow_null=True, required=False)
    chair = PersonField(allow_null=True, required=False)
    agencies: serializers.PrimaryKeyRelatedField[Agency] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )
    cases: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="reference"
    )
    recommendations: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )

    class Meta:
        model = Audit
        fields = [
            "id",
            "reference",
            "title",
            "kind",
            "theme",
            "terms_of_reference",
            "lead_auditor",
            "commissioning_group",
            "chair",
            "agencies",
            "cases",
            "scoping_due_on",
            "returns_due_on",
            "moderation_due_on",
            "reporting_due_on",
            "action_planning_due_on",
            "no_recommendations",
            "no_recommendations_reason",
            "recommendations",
            "state",
            "created_at",
            "closed_at",
        ]
        read_only_fields = ["no_recommendations", "no_recommendations_reason", "created_at", "closed_at"]


class AuditViewSet(
    TransitionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Audit],
):
    """Audits the caller may see: partnership staff all, an agency those it takes part in."""

    serializer_class = AuditSerializer
    filterset_fields = ["state", "kind", "theme"]

    def get_queryset(self) -> QuerySet[Audit]:
        return (
            audit_list(self.request.user)
            .prefetch_related("agencies", "cases", "recommendations")
            .order_by("id")
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        audit = call_service(services.audit_create, actor=actor_of(request), **serializer.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=audit.pk)).data, status=201)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        audit = self.get_object()
        serializer = self.get_serializer(audit, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if getattr(audit, k) != v}
        call_service(services.audit_update, audit=audit, actor=actor_of(request), **changes)
        return Response(self.get_serializer(self.get_queryset().get(pk=audit.pk)).data)

    def _add(
        self, request: Request, body: type[serializers.Serializer[Any]], service: Any, **extra: Any
    ) -> Response:
        """Parse ``body``, call ``service`` on the audit (scoped: 404 if unseen), answer with the audit."""
        audit = self.get_object()
        data = body(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        call_service(service, audit=audit, actor=actor_of(request), **extra, **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=audit.pk)).data, status=201)

    @extend_schema(request=CaseBody, responses=AuditSerializer)
    @action(detail=True, methods=["post"], url_path="cases")
    def add_case(self, request: Request, pk: str | None = None) -> Response:
        return self._add(request, CaseBody, services.audit_add_case)

    @extend_schema(request=ParticipationBody, responses=AuditSerializer)
    @action(detail=True, methods=["post"], url_path="agencies")
    def add_agency(self, request: Request, pk: str | None = None) -> Response:
        return self._add(request, ParticipationBody, services.audit_add_agency)

    @extend_schema(request=ModerationBody, responses=AuditSerializer)
    @action(detail=True, methods=["post"], url_path=r"cases/(?P<reference>[^/]+)/moderate")
    def moderate(self, request: Request, pk: str | None = None, reference: str = "") -> Response:
        audit = self.get_object()
        case = get_object_or_404(audit.cases.all(), reference=reference)
        data = ModerationBody(data=request.data)
        data.is_valid(raise_exception=True)
        call_service(services.case_moderate, case=case, actor=actor_of(request), **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=audit.pk)).data)

    @extend_schema(request=FindingBody, responses=AuditSerializer)
    @action(detail=True, methods=["post"], url_path="findings")
    def add_finding(self, request: Request, pk: str | None = None) -> Response:
        return self._add(request, FindingBody, services.finding_add)

    @extend_schema(request=RecommendationBody, responses=AuditSerializer)
    @action(detail=True, methods=["post"], url_path="recommendations")
    def add_recommendation(self, request: Request, pk: str | None = None) -> Response:
        return self._add(request, RecommendationBody, services.audit_add_recommendation)

    @extend_schema(request=NoRecommendationsBody, responses=AuditSerializer)
    @action(detail=True, methods=["post"], url_path="no-recommendations")
    def no_recommendations(self, request: Request, pk: str | None = None) -> Response:
        return self._add(request, NoRecommendationsBody, services.audit_decide_no_recommendations)


class AgencyReturnSerializer(serializers.ModelSerializer[AgencyReturn]):
    # The rung it stands on today, derived from its due date and the policy (0 once submitted).
    escalation_level = serializers.IntegerField(read_only=True)
    state = serializers.CharField(read_only=True)
    audit = serializers.IntegerField(source="case.audit_id", read_only=True)
    case: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="reference", read_only=True
    )

    class Meta:
        model = AgencyReturn
        fields = [
            "id",
            "audit",
            "case",
            "agency",
            "owner",
            "title",
            "due_on",
            "knew",
            "did",
            "strengths",
            "shortfalls",
            "own_grade",
            "state",
            "escalation_level",
            "submitted_at",
            "submitted_by",
        ]
        read_only_fields = [
            "agency",
            "owner",
            "title",
            "due_on",
            "submitted_at",
            "submitted_by",
        ]


class AgencyReturnViewSet(
    TransitionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[AgencyReturn],
):
    """Returns the caller may see: their own agency's, never another's (partnership staff see all)."""

    serializer_class = AgencyReturnSerializer
    filterset_class = scoped_filterset(AgencyReturn, ["state", "agency"], agency=agencies_open_to)

    def get_queryset(self) -> QuerySet[AgencyReturn]:
        returns = with_rung(returns_visible_to(self.request.user))
        return returns.select_related("case").order_by("due_on", "id")

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        agency_return = self.get_object()
        serializer = self.get_serializer(agency_return, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        call_service(
            services.return_save,
            agency_return=agency_return,
            actor=actor_of(request),
            **serializer.validated_data,
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=agency_return.pk)).data)


class GradeBody(serializers.Serializer[Any]):
    grade = serializers.ChoiceField(choices=Grade.choices)
    summary = serializers.CharField(required=False, allow_blank=True, default="")
    shortfalls = serializers.ListField(child=serializers.CharField(), default=list)


class ShortfallCheckBody(serializers.Serializer[Any]):
    shortfall_id = serializers.IntegerField()
    addressed = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    new_due_on = serializers.DateField(required=False, allow_null=True, default=None)


class FollowUpBody(serializers.Serializer[Any]):
    checks = ShortfallCheckBody(many=True)


class CaseAuditSerializer(serializers.ModelSerializer[CaseAudit]):
    state = serializers.CharField(read_only=True)
    agency = ScopedRelatedField(agencies_open_to)
    case_worker = PersonField(allow_null=True, required=False)
    auditor = PersonField(allow_null=True, required=False)
    shortfalls: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="description"
    )

    class Meta:
        model = CaseAudit
        fields = [
            "id",
            "agency",
            "case_reference",
            "case_worker",
            "auditor",
            "scheduled_for",
            "grade",
            "summary",
            "graded_on",
            "shortfalls",
            "follow_up_by",
            "follow_up_at",
            "state",
        ]
        read_only_fields = ["grade", "summary", "graded_on", "follow_up_by", "follow_up_at"]


class CaseAuditViewSet(
    TransitionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[CaseAudit],
):
    """Case audits the caller may see. Grading and the follow-up check are pages' forms; the API offers
    the stage transitions."""

    serializer_class = CaseAuditSerializer
    filterset_class = scoped_filterset(CaseAudit, ["state", "agency"], agency=agencies_open_to)

    def get_queryset(self) -> QuerySet[CaseAudit]:
        return case_audits_visible_to(self.request.user).prefetch_related("shortfalls").order_by("id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case_audit = call_service(
            case_audit_services.case_audit_schedule, actor=actor_of(request), **serializer.validated_data
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=case_audit.pk)).data, status=201)

    @extend_schema(request=GradeBody, responses=CaseAuditSerializer)
    @action(detail=True, methods=["post"], url_path="grade")
    def grade(self, request: Request, pk: str | None = None) -> Response:
        case_audit = self.get_object()
        data = GradeBody(data=request.data)
        data.is_valid(raise_exception=True)
        call_service(
            case_audit_services.case_audit_grade,
            case_audit=case_audit,
            actor=actor_of(request),
            **data.validated_data,
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=case_audit.pk)).data)

    @extend_schema(request=FollowUpBody, responses=CaseAuditSerializer)
    @action(detail=True, methods=["post"], url_path="follow-up")
    def follow_up(self, request: Request, pk: str | None = None) -> Response:
        case_audit = self.get_object()
        data = FollowUpBody(data=request.data)
        data.is_valid(raise_exception=True)
        checks = [case_audit_services.ShortfallCheck(**check) for check in data.validated_data["checks"]]
        call_service(
            case_audit_services.case_audit_follow_up,
            case_audit=case_audit,
            actor=actor_of(request),
            checks=checks,
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=case_audit.pk)).data)


class Section11CycleSerializer(serializers.ModelSerializer[Section11Cycle]):
    state = serializers.CharField(read_only=True)

    class Meta:
        model = Section11Cycle
        fields = [
            "id",
            "name",
            "framework",
            "previous",
            "lead",
            "returns_due_on",
            "challenge_due_on",
            "action_plan_due_on",
            "state",
        ]
        read_only_fields = ["framework", "previous", "lead"]


class Section11CycleViewSet(
    TransitionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Section11Cycle],
):
    """Section 11 cycles the caller takes part in (all, for partnership staff); transitions as for actions."""

    serializer_class = Section11CycleSerializer

    def get_queryset(self) -> QuerySet[Section11Cycle]:
        return section11_cycles_visible_to(self.request.user).order_by("id")


class StandardRatingSerializer(serializers.ModelSerializer[StandardRating]):
    standard: serializers.StringRelatedField[Any] = serializers.StringRelatedField()

    class Meta:
        model = StandardRating
        fields = [
            "id",
            "standard",
            "self_rating",
            "not_applicable_reason",
            "commentary",
            "proposed_rating",
            "reviewer_reasoning",
            "agency_response",
            "agreed_rating",
        ]


class Section11ReturnSerializer(serializers.ModelSerializer[Section11Return]):
    state = serializers.CharField(read_only=True)
    ratings = StandardRatingSerializer(many=True, read_only=True)

    class Meta:
        model = Section11Return
        fields = [
            "id",
            "cycle",
            "agency",
            "owner",
            "reviewer",
            "due_on",
            "state",
            "submitted_at",
            "agreed_at",
            "ratings",
        ]


class Section11ReturnViewSet(
    TransitionsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Section11Return],
):
    """An agency's own section 11 returns, and from challenge those its people review; transitions as for
    actions (submit, begin_challenge, agree)."""

    serializer_class = Section11ReturnSerializer
    filterset_class = scoped_filterset(Section11Return, ["cycle", "state"], cycle=section11_cycles_visible_to)

    def get_queryset(self) -> QuerySet[Section11Return]:
        return (
            section11_returns_visible_to(self.request.user)
            .prefetch_related("ratings__standard")
            .order_by("cycle_id", "agency__name")
        )

    # A plain list, neither paged nor filtered like the returns' list.
    @extend_schema(responses=TimelineEntrySerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        """The return's dated timeline, oldest first: transitions, ratings, each step of the challenge,
        evidence added, the reviewer's deadline, and chasing, with people's names."""
        agency_return = self.get_object()
        entries = return_timeline(agency_return)
        return Response(TimelineEntrySerializer(entries, many=True).data)  # type: ignore[arg-type]


class RatingBody(serializers.Serializer[Any]):
    self_rating = serializers.ChoiceField(choices=Rating.choices)
    commentary = serializers.CharField(required=False, allow_blank=True, default="")
    not_applicable_reason = serializers.CharField(required=False, allow_blank=True, default="")


class RatingEvidenceBody(serializers.Serializer[Any]):
    description = serializers.CharField(max_length=300)
    url = serializers.URLField()


class ChallengeBody(serializers.Serializer[Any]):
    agree = serializers.BooleanField()
    proposed_rating = serializers.ChoiceField(
        choices=Rating.choices, required=False, allow_blank=True, default=""
    )
    reasoning = serializers.CharField(required=False, allow_blank=True, default="")


class RespondBody(serializers.Serializer[Any]):
    accept = serializers.BooleanField()
    response = serializers.CharField(required=False, allow_blank=True, default="")


class SettleBody(serializers.Serializer[Any]):
    agreed_rating = serializers.ChoiceField(choices=Rating.choices)


class StandardRatingViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet[StandardRating]):
    """One standard of a section 11 return: the agency rates it and adds evidence (links; files through
    the page); in challenge the reviewer agrees or proposes, the agency answers, the reviewer settles."""

    serializer_class = StandardRatingSerializer

    def get_queryset(self) -> QuerySet[StandardRating]:
        visible = section11_returns_visible_to(self.request.user)
        return StandardRating.objects.filter(agency_return__in=visible).select_related(
            "agency_return", "standard"
        )

    def _apply(self, request: Request, body: type[serializers.Serializer[Any]], service: Any) -> Response:
        rating = self.get_object()
        data = body(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        call_service(service, rating=rating, actor=actor_of(request), **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=rating.pk)).data)

    @extend_schema(request=RatingBody, responses=StandardRatingSerializer)
    @action(detail=True, methods=["post"], url_path="rate")
    def rate(self, request: Request, pk: str | None = None) -> Response:
        return self._apply(request, RatingBody, section11_services.rating_save)

    @extend_schema(request=RatingEvidenceBody, responses=StandardRatingSerializer)
    @action(detail=True, methods=["post"], url_path="evidence")
    def evidence(self, request: Request, pk: str | None = None) -> Response:
        return self._apply(request, RatingEvidenceBody, section11_services.rating_add_evidence)

    @extend_schema(request=ChallengeBody, responses=StandardRatingSerializer)
    @action(detail=True, methods=["post"], url_path="challenge")
    def challenge(self, request: Request, pk: str | None = None) -> Response:
        return self._apply(request, ChallengeBody, section11_services.challenge_review)

    @extend_schema(request=RespondBody, responses=StandardRatingSerializer)
    @action(detail=True, methods=["post"], url_path="respond")
    def respond(self, request: Request, pk: str | None = None) -> Response:
        return self._apply(request, RespondBody, section11_services.challenge_respond)

    @extend_schema(request=SettleBody, responses=StandardRatingSerializer)
    @action(detail=True, methods=["post"], url_path="settle")
    def settle(self, request: Request, pk: str | None = None) -> Response:
        return self._apply(request, SettleBody, section11_services.challenge_settle)
