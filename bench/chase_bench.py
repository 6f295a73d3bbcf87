"""Times the daily sweep at N open actions on PostgreSQL, against the floor of one raw query that
selects the same due and overdue rows; then the delivery of 5,000 digests to a local SMTP server.

    DATABASE_URL=postgres://... .venv/bin/python bench/chase_bench.py 100000 1000000

Prints seconds (median of 3 runs, each rolled back so each does the same work), the sweep's query
count, and the peak memory of this process.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "true")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.generate import OWNERS, generate  # noqa: E402
from notifications.models import ChasePolicy  # noqa: E402
from notifications.sweep import Window, sweep  # noqa: E402
from workflows.calendar import working_calendar  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_seconds(run, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        with transaction.atomic():
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
            transaction.set_rollback(True)
    return statistics.median(times)


def floor_query() -> None:
    window = Window.for_date(ChasePolicy.current(), timezone.localdate())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, owner_id, agency_id, due_on FROM workflows_action "
            "WHERE state IN ('agreed', 'in_progress') AND due_on <= %s",
            [window.first_reminder_from],
        )
        cursor.fetchall()


def bench_sweep(n: int) -> None:
    started = time.perf_counter()
    generate(n)
    print(f"N={n:,}: generated in {time.perf_counter() - started:.1f} s")
    today = timezone.localdate()
    floor = median_seconds(floor_query)
    print(f"N={n:,}: floor (raw select of the due and overdue rows) {floor:.2f} s")
    # Cold: the first sweep ever, when every entry is new.
    measure_sweep(f"N={n:,}: first sweep", today, floor)
    # Steady state: the next working day's sweep, after today's was committed.
    sweep(on=today, describe=False)
    measure_sweep(f"N={n:,}: next day's sweep", working_calendar().add_working_days(today, 1), floor)


def measure_sweep(label: str, on: dt.date, floor: float) -> None:
    seconds = median_seconds(lambda: sweep(on=on, describe=False))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        result = sweep(on=on, describe=False)
        transaction.set_rollback(True)
    print(
        f"{label} {seconds:.2f} s ({result.count:,} entries), {seconds / floor:.1f} x floor; "
        f"{len(queries)} queries; peak memory so far {peak_mb():.0f} MB"
    )


def bench_delivery() -> None:
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    from django.conf import settings

    from notifications.delivery import deliver_pending
    from notifications.models import OutboxEntry

    class Sink:
        received = 0

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            Sink.received += 1
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=8925)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 8925
    try:
        generate(100_000)
        sweep(on=timezone.localdate(), describe=False)
        people = OutboxEntry.objects.values("recipient").distinct().count()
        started = time.perf_counter()
        result = deliver_pending(limit=OWNERS)
        seconds = time.perf_counter() - started
    finally:
        controller.stop()
    print(
        f"Delivery: {result.sent:,} digests ({result.entries_sent:,} entries, {people:,} people waiting) "
        f"in {seconds:.1f} s to a local SMTP server; {Sink.received:,} received"
    )


if __name__ == "__main__":
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database: the benchmark measures production's database")
    sizes = [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]
    for size in sizes:
        bench_sweep(size)
    bench_delivery()
