"""Celery tasks for the engine: a big plan import, run by a worker so no web process waits for it."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from .imports.reading import read_sheet
from .models import PlanUpload
from .services.plan_import import plan_import

logger = logging.getLogger(__name__)
Status = PlanUpload.Status


@shared_task(acks_late=True)
def import_plan_upload(upload_id: int) -> str:
    """Import a queued upload, all or nothing, reporting progress on its row for the page to show.

    Safe to run twice: only the run that moves the upload out of "queued" imports it."""
    if not PlanUpload.objects.filter(pk=upload_id, status=Status.QUEUED).update(status=Status.CHECKING):
        return "not queued"
    upload = PlanUpload.objects.select_related("uploaded_by").get(pk=upload_id)

    def progress(stage: str, rows_checked: int) -> None:
        # Outside the import's transaction (checking comes before it), so the page sees it at once.
        PlanUpload.objects.filter(pk=upload_id).update(status=stage, rows_checked=rows_checked)

    try:
        result = plan_import(
            actor=upload.uploaded_by,
            sheet=read_sheet(upload.name, bytes(upload.content)),
            source=upload.source,
            mapping=upload.mapping,
            progress=progress,
        )
    except (ValidationError, PermissionDenied) as error:
        reasons = error.messages if isinstance(error, ValidationError) else [str(error)]
        _finish(
            upload_id, Status.FAILED, {"errors": [{"row": 0, "column": "", "message": m} for m in reasons]}
        )
        return "refused"
    except Exception as error:
        _finish(
            upload_id,
            Status.FAILED,
            {"errors": [{"row": 0, "column": "", "message": f"The import stopped ({type(error).__name__})"}]},
        )
        raise
    _finish(upload_id, Status.DONE if result.saved else Status.FAILED, result.summary())
    return "imported" if result.saved else "errors"


def _finish(upload_id: int, status: str, result: dict[str, object]) -> None:
    # The file is no longer needed once imported (or refused); the row stays as the page's result.
    PlanUpload.objects.filter(pk=upload_id).update(
        status=status, result=result, content=b"", finished_at=timezone.now()
    )
