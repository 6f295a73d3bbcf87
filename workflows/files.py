"""Stored files live exactly as long as the rows that name them."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_delete


def _delete_stored_files(sender: type[models.Model], instance: models.Model, using: str, **_: Any) -> None:
    # After commit: a delete that is rolled back keeps its row, so it keeps its file.
    for field in instance._meta.concrete_fields:
        if isinstance(field, models.FileField):
            file = getattr(instance, field.attname)
            if file:
                transaction.on_commit(partial(file.storage.delete, file.name), using=using)


def files_go_with_rows(model: type[models.Model]) -> None:
    """Delete a row's stored files when the row is deleted, directly, in bulk or by cascade."""
    post_delete.connect(_delete_stored_files, sender=model, dispatch_uid=f"files-go-with-{model._meta.label}")
