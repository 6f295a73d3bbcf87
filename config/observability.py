"""What leaves the service when something goes wrong: log lines, error reports, error mails.

None of them carries what the service holds: a log line is the event and where it happened, an error
names its type and the code it went through, never its message or the values it was handling (which may
be case references, people's names or the text of an email)."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import ItemsView
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and for an error its type and frames.

    A record's message is its template with numbers and identifiers filled in by our code; an exception's
    message is not ours to vouch for (a database error quotes the row it refused), so only its type and
    the frames it passed through are written."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, tb = record.exc_info
            line["error"] = {
                "type": f"{kind.__module__}.{kind.__qualname__}",
                "frames": [f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb)],
            }
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            line["method"] = request.method
            line["path"] = request.path
        status = getattr(record, "status_code", None)
        if isinstance(status, int):
            line["status"] = status
        return json.dumps(line)


class WithoutDataExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error mails to ADMINS (and any error page) show the code's path, never the values it held or the
    form that was posted: those are case references and people's words."""

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: Any
    ) -> ItemsView[str, Any]:
        return {}.items()

    def get_post_parameters(self, request: HttpRequest | None) -> dict[str, Any]:
        if request is None:
            return {}
        return {name: self.cleansed_substitute for name in request.POST}


def without_exception_messages(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """A Sentry event keeps each exception's type and stack, not its message."""
    for exception in event.get("exception", {}).get("values", []):
        exception["value"] = ""
    return event


def start_error_reporting(dsn: str, environment: str, release: str | None) -> None:
    """Sentry, with nothing personal sent: no local variables, no request bodies, no user details."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        # Breadcrumbs would carry SQL and log messages into the report.
        max_breadcrumbs=0,
        before_send=without_exception_messages,  # type: ignore[arg-type]
    )
