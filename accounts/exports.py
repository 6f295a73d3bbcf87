"""The sign-in audit as CSV, through the cell function every export shares."""

import csv
import io

from django.db.models import QuerySet
from django.utils import timezone

from workflows.spreadsheets import export_row

from .models import AccessEvent

HEADERS = ["When", "What", "Username", "Account", "By", "From address", "Browser", "Detail", "Reason"]


def access_events_csv(events: QuerySet[AccessEvent]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for event in events.select_related("user", "actor").order_by("at", "pk"):
        writer.writerow(
            export_row(
                [
                    timezone.localtime(event.at).isoformat(timespec="seconds"),
                    event.get_kind_display(),
                    event.username,
                    event.user.get_username() if event.user else "",
                    event.actor.get_username() if event.actor else "",
                    event.address or "",
                    event.user_agent,
                    event.detail,
                    event.reason,
                ]
            )
        )
    # With a byte-order mark, so Excel opens the file as UTF-8.
    return out.getvalue().encode("utf-8-sig")
