"""Forms for the review pages: they parse input; the services decide what is allowed."""

from __future__ import annotations

from django import forms

from workflows.forms import DATE, PersonChoiceField, ScopedModelChoiceField
from workflows.selectors import agencies_open_to

from ..models import PracticeReview, RapidReview
from ..selectors import rapid_reviews_visible_to

RAPID_DATES = ["became_aware_on", "notified_on", "panel_meeting_on", "sent_to_panel_on"]


class RapidReviewForm(forms.ModelForm):  # type: ignore[type-arg]
    lead = PersonChoiceField(help_text="Answers for the clocks and is chased by them")
    chair = PersonChoiceField(required=False)

    class Meta:
        model = RapidReview
        fields = [
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
        ]
        widgets = {name: DATE for name in RAPID_DATES}


class RapidReviewCreateForm(RapidReviewForm):
    class Meta(RapidReviewForm.Meta):
        fields = [
            "reference",
            "child_reference",
            "incident_type",
            "incident_summary",
            "became_aware_on",
            "notified_on",
            "lead",
            "chair",
        ]


class AskAgencyForm(forms.Form):
    agency = ScopedModelChoiceField(agencies_open_to)
    owner = PersonChoiceField(
        required=False,
        label="Who completes the chronology (leave empty for the agency's leads)",
    )
    due_on = forms.DateField(
        widget=DATE, required=False, label="Due date", help_text="Empty: working day 10 of the rapid review"
    )


class ChronologyForm(forms.Form):
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        label="Your agency's chronology and summary",
        help_text="What your agency knew and did. Refer to the child by the reference: never a name.",
    )


class PracticeReviewForm(forms.ModelForm):  # type: ignore[type-arg]
    lead = PersonChoiceField()
    chair = PersonChoiceField(required=False)
    publication_url = forms.URLField(
        label="Link to the published report", required=False, assume_scheme="https"
    )

    class Meta:
        model = PracticeReview
        fields = [
            "title",
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
        ]
        widgets = {"decided_on": DATE, "published_on": DATE}


class PracticeReviewCreateForm(PracticeReviewForm):
    rapid_review = ScopedModelChoiceField(rapid_reviews_visible_to, required=False)

    class Meta(PracticeReviewForm.Meta):
        fields = ["reference", "rapid_review", "title", "child_reference", "decided_on", "lead", "chair"]
