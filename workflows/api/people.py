"""How the API takes a person: by id, from the people the caller may give work to, with a text box (not
a list of everyone) in the browsable API. Services still check each choice against the item."""

from __future__ import annotations

from typing import Any

from ..selectors import people_open_to
from .fields import ScopedRelatedField


class PersonField(ScopedRelatedField):
    """One of the people the caller may give work to (``people_open_to``), by id."""

    def __init__(self, **kwargs: Any) -> None:
        # Rendered as an input for the id: a <select> would list up to a thousand people on every form.
        kwargs.setdefault("style", {"base_template": "input.html", "input_type": "number"})
        super().__init__(people_open_to, **kwargs)
