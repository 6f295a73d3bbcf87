from rest_framework.routers import SimpleRouter

from .views import AgencyReturnViewSet, AuditViewSet, CaseAuditViewSet

router = SimpleRouter()
router.register("audits", AuditViewSet, basename="api-audit")
router.register("audit-returns", AgencyReturnViewSet, basename="api-audit-return")
router.register("case-audits", CaseAuditViewSet, basename="api-case-audit")

urlpatterns = router.urls
