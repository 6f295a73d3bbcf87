"""Forms for the audit pages: they parse input; the services decide what is allowed."""

from __future__ import annotations

from django import forms

from workflows.forms import DATE, PersonChoiceField, ScopedModelChoiceField
from workflows.selectors import agencies_open_to

from ..models import AgencyReturn, Audit, Finding, Grade


class AuditForm(forms.ModelForm):  # type: ignore[type-arg]
    lead_auditor = PersonChoiceField(required=False)
    chair = PersonChoiceField(
        required=False,
        label="Chair of the commissioning group",
        help_text="Second rung of escalation",
    )

    class Meta:
        model = Audit
        fields = [
            "title",
            "kind",
            "theme",
            "terms_of_reference",
            "lead_auditor",
            "commissioning_group",
            "chair",
            "scoping_due_on",
            "returns_due_on",
            "moderation_due_on",
            "reporting_due_on",
            "action_planning_due_on",
        ]
        widgets = {
            name: DATE
            for name in [
                "scoping_due_on",
                "returns_due_on",
                "moderation_due_on",
                "reporting_due_on",
                "action_planning_due_on",
            ]
        }


class AuditCreateForm(AuditForm):
    class Meta(AuditForm.Meta):
        fields = ["reference", *AuditForm.Meta.fields]


class CaseForm(forms.Form):
    reference = forms.CharField(label="Pseudonymised case reference", max_length=30)


class ParticipationForm(forms.Form):
    agency = ScopedModelChoiceField(agencies_open_to)
    contact = PersonChoiceField(
        required=False,
        label="Who completes the agency's returns (leave empty for its leads)",
    )


class ModerationForm(forms.Form):
    agreed_grade = forms.ChoiceField(choices=Grade.choices)
    grade_reasons = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class FindingForm(forms.Form):
    kind = forms.ChoiceField(choices=Finding.Kind.choices, initial=Finding.Kind.IMPROVEMENT)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class ReturnForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = AgencyReturn
        fields = ["knew", "did", "strengths", "shortfalls", "own_grade"]
        widgets = {name: forms.Textarea(attrs={"rows": 4}) for name in AgencyReturn.ANSWERS}


class CaseAuditForm(forms.Form):
    agency = ScopedModelChoiceField(agencies_open_to)
    case_reference = forms.CharField(label="Pseudonymised case reference", max_length=30)
    scheduled_for = forms.DateField(widget=DATE)
    case_worker = PersonChoiceField(required=False, label="The case's worker")
    auditor = PersonChoiceField(required=False, label="Auditor (you, if empty)")


class GradeForm(forms.Form):
    grade = forms.ChoiceField(choices=Grade.choices)
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    shortfalls = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One shortfall a line; each gets a remedial action",
    )

    def clean_shortfalls(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["shortfalls"].splitlines() if line.strip()]
