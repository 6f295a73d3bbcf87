"""How the API takes a person: by id, from the active people, with a text box (not a list of everyone) in
the browsable API. Services still check each choice against the item."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers


class PersonField(serializers.PrimaryKeyRelatedField[User]):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", User.objects.filter(is_active=True, person__isnull=False))
        # Rendered as an input for the id: a <select> would list up to a thousand people on every form.
        kwargs.setdefault("style", {"base_template": "input.html", "input_type": "number"})
        super().__init__(**kwargs)
