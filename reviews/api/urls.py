from rest_framework.routers import SimpleRouter

from .views import ChronologyViewSet, PracticeReviewViewSet, RapidReviewViewSet

router = SimpleRouter()
router.register("rapid-reviews", RapidReviewViewSet, basename="api-rapid-review")
router.register("practice-reviews", PracticeReviewViewSet, basename="api-practice-review")
router.register("chronologies", ChronologyViewSet, basename="api-chronology")

urlpatterns = router.urls
