from tests.reviews.conftest import asked_review, rapid_review

__all__ = ["asked_review", "rapid_review"]
