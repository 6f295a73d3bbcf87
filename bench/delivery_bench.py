"""Delivery of the digests at N open actions on PostgreSQL, to a mail server in its own process.

    .venv/bin/python bench/delivery_bench.py [N] [--cap SECONDS]        (default: 1000000, 300 s)

Two days, each on a fresh copy of the generated database: the first day (every entry of the first
sweep waiting: the backlog when chasing is switched on, with the business managers' huge digests)
and an ordinary day (the first day's entries delivered, then the next working day's sweep). For
each, delivery runs as the worker's task does (deliver_pending, 1,000 people a call, again until
nothing is left or the cap is reached), committed, against the SMTP sink (bench/smtp_sink.py, a
separate process). Prints digests a second, entries, this process's peak memory, and the floor: the
same number of messages of the same average size sent with smtplib over one connection to the same
sink. Target (issue 16): at least 60 digests a second.
"""

from __future__ import annotations

import argparse
import smtplib
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: I001  (sets Django up first)
    clone,
    peak_memory_mb,
    prepare,
    prewarm,
    require_postgresql,
    reset_peak_memory,
    server_settings,
    swept,
    use,
    verdict,
)
from django.conf import settings
from django.db import connection

from notifications.delivery import deliver_pending
from notifications.models import OutboxEntry
from notifications.sweep import sweep
from workflows.calendar import working_calendar

PORT = 8925
TARGET = 60.0


class Sink:
    """bench/smtp_sink.py in a process of its own."""

    def __init__(self) -> None:
        self.stats = Path(tempfile.mkstemp(prefix="bench-sink-")[1])
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("smtp_sink.py")), str(PORT), str(self.stats)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"

    def counts(self) -> tuple[int, int]:
        messages, size = self.stats.read_text().split()
        return int(messages), int(size)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.stats.unlink(missing_ok=True)


def pending() -> tuple[int, int]:
    """(entries, people) waiting."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT recipient_id) FROM notifications_outboxentry WHERE status = %s",
            [OutboxEntry.Status.PENDING],
        )
        entries, people = cursor.fetchone()
    return entries, people


def deliver(sink: Sink, cap: float) -> tuple[float, int, int, int, bool]:
    """Deliver until nothing is left or ``cap`` seconds passed: (seconds, digests, entries, received,
    finished)."""
    before, _ = sink.counts()
    digests = entries = 0
    started = time.perf_counter()
    finished = False
    while time.perf_counter() - started < cap:
        result = deliver_pending()
        digests += result.sent
        entries += result.entries_sent
        if result.sent == 0 and result.failed == 0:
            finished = True
            break
    seconds = time.perf_counter() - started
    return seconds, digests, entries, sink.counts()[0] - before, finished


def smtp_floor(count: int, size: int) -> float:
    """Seconds to send ``count`` messages of ``size`` bytes with smtplib over one connection."""
    body = ("x" * 76 + "\n") * max(size // 77, 1)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", PORT) as smtp:
        for i in range(count):
            message = EmailMessage()
            message["Subject"], message["From"], message["To"] = (
                f"Floor {i}",
                "a@bench.example",
                "b@bench.example",
            )
            message.set_content(body)
            smtp.send_message(message)
    return time.perf_counter() - started


def day(label: str, n: int, sink: Sink, cap: float) -> None:
    prewarm()
    entries_waiting, people = pending()
    reset_peak_memory()
    cpu_before = time.process_time()
    seconds, digests, entries, received, finished = deliver(sink, cap)
    cpu = time.process_time() - cpu_before
    peak = peak_memory_mb()
    rate = digests / seconds if seconds else 0.0
    _, size = sink.counts()
    total, _ = sink.counts()
    average = size // max(total, 1)
    sample = min(max(digests, 1), 2_000)
    floor_rate = sample / smtp_floor(sample, average)
    state = "all delivered" if finished else f"STOPPED at the {cap:.0f} s cap"
    print(
        f"N={n:,}: {label}: {entries_waiting:,} entries for {people:,} people waiting; {digests:,} digests "
        f"({entries:,} entries, {received:,} received by the sink) in {seconds:.1f} s, {state}: "
        f"{rate:.0f} digests/s ({digests / cpu if cpu else 0:.0f} a CPU second of this process, which had "
        f"{cpu:.1f} s of CPU in those {seconds:.1f} s), peak memory {peak:.0f} MB | "
        f"floor (smtplib alone, {sample:,} messages of "
        f"{average:,} bytes) {floor_rate:.0f}/s | the floor is "
        f"{floor_rate / rate if rate else float('inf'):.1f}x faster "
        f"(target >= {TARGET:.0f} digests/s: {verdict(finished and rate >= TARGET)})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("size", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--cap", type=float, default=300.0)
    args = parser.parse_args()
    require_postgresql()
    print(server_settings(), flush=True)
    prepare([args.size], after_first_sweep=True)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", PORT, False
    n = args.size
    first_day, on = swept(n)
    next_day = working_calendar().add_working_days(on, 1)
    sink = Sink()
    try:
        clone(first_day)
        day("first day (the first sweep's backlog)", n, sink, args.cap)
        clone(first_day)
        # The first day's entries delivered (as the worker would have), then the next day's sweep.
        OutboxEntry.objects.update(status=OutboxEntry.Status.SENT)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE notifications_outboxentry")
        sweep(on=next_day, describe=False)
        day("an ordinary day (the next working day's sweep)", n, sink, args.cap)
    finally:
        sink.stop()
        use("postgres")


if __name__ == "__main__":
    main()
