"""Forms every case type's pages share: people pickers, recommendations and the actions that deliver them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from .models import Action, Theme

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PersonChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_full_name() or obj.username} ({obj.person.agency})"


def people() -> Any:
    return User.objects.filter(is_active=True, person__isnull=False).select_related("person__agency")


class RecommendationForm(forms.Form):
    reference = forms.CharField(max_length=50, required=False)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    theme = forms.ModelChoiceField(queryset=Theme.objects.all(), required=False)


class ActionForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What will be done (SMART)")
    owner = PersonChoiceField(queryset=people())
    due_on = forms.DateField(widget=DATE, label="Due date")
    outcome_measure = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    priority = forms.ChoiceField(choices=Action.Priority.choices, initial=Action.Priority.MEDIUM)
