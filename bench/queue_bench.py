"""Times the overdue queue's first page (no filter, and two filters), the dashboard and a trivial page of
the same app on PostgreSQL at N actions; then the peak memory of a process streaming the whole
unfiltered queue as CSV and as Excel.

    DATABASE_URL=postgres://... .venv/bin/python bench/queue_bench.py 100000 1000000 [--no-export]

Run `manage.py collectstatic` first: the pages are served as in production, debug off. Prints the
median of 15 requests in milliseconds, each page's query count, and the ratio to the trivial
page. Goals (issue 8): the queue's first page within 200 ms median and within 5 times the trivial page;
the dashboard within 500 ms at 1,000,000; the export streaming in under 300 MB.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# As a web process serves: debug off (cached templates, no query log). Needs collectstatic run first.
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 40)

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.generate import generate  # noqa: E402
from oversight.dashboard import draw_partnership_figures  # noqa: E402
from workflows.models import Agency  # noqa: E402

REQUESTS = 15


def timed(client: Client, url: str) -> tuple[float, int]:
    client.get(url)  # warm: templates compiled, caches filled
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(times), len(queries)


def bench(n: int, *, exports: bool = True) -> None:
    started = time.perf_counter()
    generate(n)
    print(f"N={n:,}: generated in {time.perf_counter() - started:.1f} s", flush=True)
    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    client.force_login(User.objects.get(username="manager1"))
    agency = Agency.objects.order_by("id").first()
    assert agency is not None
    pages = [
        ("trivial page (My work, nothing owned)", "/my-work/"),
        ("queue, first page, no filter", "/queue/"),
        ("queue, first page, agency and RAG filters", f"/queue/?agency={agency.pk}&rag=red"),
        ("dashboard (figures from the snapshot, drawn on the first request)", "/dashboard/"),
    ]
    floor = None
    for label, url in pages:
        ms, queries = timed(client, url)
        floor = floor or ms
        print(
            f"N={n:,}: {label}: {ms:.0f} ms median, {queries} queries, {ms / floor:.1f} x trivial", flush=True
        )
    started = time.perf_counter()
    draw_partnership_figures(today=timezone.localdate())
    print(
        f"N={n:,}: drawing the dashboard's figures (the 5-minute task): {time.perf_counter() - started:.2f} s"
    )
    for kind in ("csv", "xlsx") if exports else ():
        child = subprocess.run(
            [sys.executable, __file__, "--export", kind],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ,
        )
        print(f"N={n:,}: whole queue as {kind}: {child.stdout.strip()}", flush=True)


def export(kind: str) -> None:
    """In a fresh process, like a web worker: stream the whole unfiltered queue and report peak memory."""
    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    client.force_login(User.objects.get(username="manager1"))
    started = time.perf_counter()
    response = client.get(f"/queue/export.{kind}")
    size = 0
    for chunk in response.streaming_content:  # type: ignore[attr-defined]
        size += len(chunk)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{size / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s, peak memory {peak:.0f} MB")


if __name__ == "__main__":
    if sys.argv[1] == "--export":
        export(sys.argv[2])
    else:
        sizes = [a for a in sys.argv[1:] if a != "--no-export"]
        for size in sizes:
            bench(int(size), exports="--no-export" not in sys.argv)
