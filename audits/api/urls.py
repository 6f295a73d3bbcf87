from rest_framework.routers import SimpleRouter

from .views import (
    AgencyReturnViewSet,
    AuditViewSet,
    CaseAuditViewSet,
    Section11CycleViewSet,
    Section11ReturnViewSet,
    StandardRatingViewSet,
)

router = SimpleRouter()
router.register("audits", AuditViewSet, basename="api-audit")
router.register("audit-returns", AgencyReturnViewSet, basename="api-audit-return")
router.register("case-audits", CaseAuditViewSet, basename="api-case-audit")
router.register("section11-cycles", Section11CycleViewSet, basename="api-section11-cycle")
router.register("section11-returns", Section11ReturnViewSet, basename="api-section11-return")
router.register("section11-ratings", StandardRatingViewSet, basename="api-section11-rating")

urlpatterns = router.urls
