from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews: rapid reviews and child safeguarding practice reviews"

    def ready(self) -> None:
        from django.db.models import Q

        from notifications import registry
        from workflows.selectors import register_recommendation_source
        from workflows.stages import register_stage_source, stage_counts
        from workflows.worklist import register_work_source

        from . import services  # noqa: F401  (registers the transitions' effects)
        from .models import Chronology, ChronologyState, PracticeReview, RapidReview, RapidReviewState
        from .selectors import chronologies_work, practice_reviews_visible_to, rapid_reviews_visible_to

        register_work_source(chronologies_work)
        register_recommendation_source(RapidReview, rapid_reviews_visible_to)
        register_recommendation_source(PracticeReview, practice_reviews_visible_to)
        register_stage_source("Rapid reviews by stage", stage_counts(RapidReview))
        register_stage_source("Practice reviews by stage", stage_counts(PracticeReview))
        # Owed while the review gathers information: once the panel has met, what is missing is recorded
        # as not received and nobody can give it any more.
        registry.register(
            registry.Chaseable(
                model=Chronology,
                open=Q(
                    state=ChronologyState.OWED,
                    review__state__in=[RapidReviewState.NOTIFIED, RapidReviewState.INFORMATION_GATHERING],
                ),
                url_name="chronology-detail",
                chair_field="review__chair",
                label_field="title",
            )
        )
