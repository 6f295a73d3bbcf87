import datetime as dt

from django import template
from django.forms import BoundField
from django.template import Context
from django.utils import timezone

from .. import deadlines
from ..calendar import working_calendar
from ..models import RAG

register = template.Library()

# GOV.UK tag colours; the tag always carries the word too, so colour is never the only signal.
RAG_TAG_CLASSES = {
    RAG.RED: "govuk-tag--red",
    RAG.AMBER: "govuk-tag--orange",
    RAG.GREEN: "govuk-tag--green",
    RAG.GREY: "govuk-tag--grey",
    RAG.NO_DATE: "govuk-tag--yellow",
}


@register.inclusion_tag("workflows/includes/rag_tag.html")
def rag_tag(rag: str) -> dict[str, str]:
    if rag not in RAG.values:
        return {"label": "Unknown", "css": ""}
    return {"label": str(RAG(rag).label), "css": RAG_TAG_CLASSES[RAG(rag)]}


@register.simple_tag(takes_context=True)
def due_in_words(context: Context, due_on: dt.date | None) -> str:
    """'due in 3 working days', 'due today', '5 days overdue', or 'no due date': the digests' words.

    The working-day calendar is read once a request, however many dates the page shows."""
    request = context.get("request")
    calendar = getattr(request, "_working_calendar", None)
    if calendar is None:
        calendar = working_calendar()
        if request is not None:
            request._working_calendar = calendar
    return deadlines.due_in_words(due_on, timezone.localdate(), calendar)


_GOVUK_CLASSES = {
    "Textarea": "govuk-textarea",
    "Select": "govuk-select",
    "DateInput": "govuk-input govuk-input--width-10",
    "FileInput": "govuk-file-upload",
    "ClearableFileInput": "govuk-file-upload",
}


@register.filter
def govuk(field: BoundField) -> str:
    """A form field's widget with the GOV.UK Design System class for its kind."""
    widget = type(field.field.widget).__name__
    css = _GOVUK_CLASSES.get(widget, "govuk-input")
    if field.errors:
        css += f" {css.split()[0]}--error"
    return field.as_widget(attrs={"class": css})


@register.filter
def pairs(text: str) -> list[tuple[str, str]]:
    """ "a:A,b:B" as [("a", "A"), ("b", "B")], for lists written in a template."""
    return [tuple(item.split(":", 1)) for item in text.split(",")]  # type: ignore[misc]


@register.filter
def days_overdue(due_on: dt.date | None, today: dt.date) -> int | str:
    return "—" if due_on is None else deadlines.days_overdue(due_on, today)
