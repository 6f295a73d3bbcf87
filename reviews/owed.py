"""What reviews owe and the case types they are: registered with the engine from ReviewsConfig.ready()."""

from __future__ import annotations

from django.db.models import Q

from workflows.owed import Owed, register

from .models import Chronology, ChronologyState, PracticeReview, RapidReview, RapidReviewState
from .selectors import chronologies_visible_to, practice_reviews_visible_to, rapid_reviews_visible_to


def register_owed() -> None:
    register(
        Owed(
            model=RapidReview,
            kind="Rapid review",
            url_name="rapid-review-detail",
            stages="Rapid reviews by stage",
            visible_to=rapid_reviews_visible_to,
            source_of_recommendations=True,
        )
    )
    register(
        Owed(
            model=PracticeReview,
            kind="Practice review",
            url_name="practice-review-detail",
            stages="Practice reviews by stage",
            visible_to=practice_reviews_visible_to,
            source_of_recommendations=True,
        )
    )
    # Owed while the review gathers information: once the panel has met, what is missing is recorded
    # as not received and nobody can give it any more.
    register(
        Owed(
            model=Chronology,
            kind="Rapid review chronology",
            url_name="chronology-detail",
            open=Q(
                state=ChronologyState.OWED,
                review__state__in=[RapidReviewState.NOTIFIED, RapidReviewState.INFORMATION_GATHERING],
            ),
            chair_field="review__chair",
            label_field="title",
            visible_to=chronologies_visible_to,
        )
    )
