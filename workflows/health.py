"""What /healthz reports beyond the database and Redis.

Apps that workflows must not import (notifications) add their figures by registering a reading: a
function returning a small JSON-able dict, read on every call, so it must be cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HealthReading = Callable[[], dict[str, Any]]
_readings: dict[str, HealthReading] = {}


def register_health_reading(name: str, reading: HealthReading) -> None:
    _readings[name] = reading


def health_readings() -> dict[str, Any]:
    """Every registered reading by name; one that cannot be read says why instead of failing the rest."""
    found: dict[str, Any] = {}
    for name, reading in _readings.items():
        try:
            found[name] = reading()
        except Exception as exc:  # a reading is a report: the liveness answer must still come back
            found[name] = f"error: {exc.__class__.__name__}"
    return found
