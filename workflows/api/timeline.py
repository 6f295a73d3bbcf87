"""A timeline in the API as on the pages: when, who by name, what and what was said."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..timeline import TimelineEntry


class TimelineEntrySerializer(serializers.Serializer[TimelineEntry]):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    who = serializers.SerializerMethodField()
    summary = serializers.CharField()
    detail = serializers.CharField()

    def get_who(self, entry: TimelineEntry) -> str:
        """The person's name, never an id; empty for what the system did (a reminder)."""
        person: Any = entry.who
        return (person.get_full_name() or person.get_username()) if person is not None else ""
