from rest_framework.routers import DefaultRouter

from .views import ActionViewSet, RecommendationViewSet, TransitionLogViewSet

router = DefaultRouter()
router.register("actions", ActionViewSet, basename="api-action")
router.register("recommendations", RecommendationViewSet, basename="api-recommendation")
router.register("transition-log", TransitionLogViewSet, basename="api-transition-log")

urlpatterns = router.urls
