"""Forms every case type's pages share: people pickers, recommendations and the actions that deliver them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Concat
from django.urls import reverse_lazy

from .models import Action, Theme
from .selectors import people_open_to

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PersonInput(forms.TextInput):
    """A text box for a person, never a list of everyone: the browser suggests names as they are typed
    from the people lookup (static/people.js), and without script a username or email works as well."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            {
                "autocomplete": "off",
                "spellcheck": "false",
                "data-person-lookup": reverse_lazy("people-lookup"),
                **(attrs or {}),
            }
        )

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, User):
            return value.get_username()
        if isinstance(value, int):
            # A model form's initial value is the person's id: show their username instead (what was
            # typed, even digits, is shown as typed).
            return User.objects.filter(pk=value).values_list("username", flat=True).first() or ""
        return super().format_value(value)


def person_label(user: User) -> str:
    """How a picker and its lookup name a person: their name and agency."""
    person = getattr(user, "person", None)
    name = user.get_full_name() or user.get_username()
    return f"{name} ({person.agency})" if person is not None else name


class PersonChoiceField(forms.Field):
    """Picks one active person from what was typed: a username, an email, a name, or a name with its
    agency as the lookup offers it. Pickers scale to thousands of people: nothing is listed on the page,
    and reading the answer is one query whatever their number.

    The people it accepts are everyone's by default; ``scope_to(viewer)`` narrows them to those the
    viewer may give work to (``people_open_to``), as the lookup does. Services still check each choice
    against the item (an owner must work for the action's agency).
    """

    widget = PersonInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.queryset: QuerySet[User] = User.objects.filter(is_active=True, person__isnull=False)

    def scope_to(self, viewer: Any) -> None:
        self.queryset = people_open_to(viewer)

    def to_python(self, value: Any) -> User | None:
        if isinstance(value, User):
            return value
        text = " ".join(str(value or "").split())
        if not text:
            return None
        name, agency = text, ""
        if text.endswith(")") and " (" in text:
            name, agency = text[:-1].rsplit(" (", 1)
        full_name = Concat("first_name", Value(" "), "last_name", output_field=CharField())
        named = Q(full_name__iexact=name) & (Q(person__agency__name__iexact=agency) if agency else Q())
        matches = list(
            self.queryset.annotate(full_name=full_name)
            .filter(Q(username__iexact=text) | Q(email__iexact=text) | named)
            .select_related("person__agency")[:2]
        )
        exact = [u for u in matches if text.lower() in (u.username.lower(), u.email.lower())]
        if len(exact) == 1 or len(matches) == 1:
            return (exact or matches)[0]
        if matches:
            raise ValidationError(
                f"More than one person is called “{name}”: give their username or email", code="ambiguous"
            )
        raise ValidationError(
            f"Nobody you may choose has the username, email or name “{text}”", code="invalid_choice"
        )


class ScopedModelChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A choice list of what the viewer may see or act on, from the one selector of that rule
    (``agencies_open_to``...): it offers nothing until ``scope_to(viewer)``, never every row."""

    def __init__(self, scope: Callable[[Any], QuerySet[Any]], **kwargs: Any) -> None:
        self.scope = scope
        super().__init__(queryset=scope(AnonymousUser()), **kwargs)

    def scope_to(self, viewer: Any) -> None:
        self.queryset = self.scope(viewer)


F = TypeVar("F", bound=forms.BaseForm)


def scope_people(form: F, viewer: Any) -> F:
    """Narrow every person picker of ``form`` to the people ``viewer`` may pick, as the lookup offers, and
    every other scoped choice list (agencies, reviews) to what ``viewer`` may see or act on."""
    for field in form.fields.values():
        if isinstance(field, (PersonChoiceField, ScopedModelChoiceField)):
            field.scope_to(viewer)
    return form


class RecommendationForm(forms.Form):
    reference = forms.CharField(max_length=50, required=False)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    theme = forms.ModelChoiceField(queryset=Theme.objects.all(), required=False)


class ActionForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What will be done (SMART)")
    owner = PersonChoiceField()
    due_on = forms.DateField(widget=DATE, label="Due date")
    outcome_measure = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    priority = forms.ChoiceField(choices=Action.Priority.choices, initial=Action.Priority.MEDIUM)
