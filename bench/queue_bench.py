"""The managers' pages at N open actions on PostgreSQL, each beside a trivial page measured in the same run.

    .venv/bin/python bench/queue_bench.py [N] [--runs R]        (default: 1000000, 7)

Pages are requested as the business's manager through Django's test Client, debug off (as a web
process serves them), warm (one request first, not counted), the median of R requests. The floor is
a trivial page through the same middleware and sign-in: /my-work/ for a manager who owns nothing; the
queue filtered to nothing is shown beside it. Timed: the queue's first page, every sort the page
offers (read from its links, each both ways), page 1,000 (through the page's own links: a page
number, or its next-page link followed), the dashboard, /chasing/ and the exception report. A page
slower than 5 s is requested once. Targets (issue 16): the queue's first page within 3x the trivial
page, every sort under 100 ms, page 1,000 as fast as page 1 (within 1.5x), the dashboard, /chasing/
and the exception report under 500 ms. With --exports, each export link of the queue is streamed whole
by a fresh process, which reports its peak memory.
"""

from __future__ import annotations

import argparse
import html
import importlib
import logging
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: I001  (sets Django up first)
    WORK,
    clone,
    peak_memory_mb,
    prepare,
    prewarm,
    require_postgresql,
    server_settings,
    swept,
    timed,
    use,
    verdict,
)
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client

from bench.generate import MANAGER

SLOW = 5.0


class Pages:
    def __init__(self, runs: int) -> None:
        settings.ALLOWED_HOSTS = ["*"]
        logging.getLogger("axes").setLevel(logging.WARNING)
        self.client = Client()
        self.client.force_login(User.objects.get(username=MANAGER))
        self.runs = runs

    def get(self, url: str) -> str:
        response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.content.decode()

    def time(self, url: str) -> tuple[float, int, int]:
        """(median milliseconds, runs, queries), warm."""
        queries = []

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            queries.append(sql)
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            self.get(url)
        first = time.perf_counter() - started
        if first > SLOW:
            return first * 1000, 1, len(queries)
        times = []
        for _ in range(self.runs):
            started = time.perf_counter()
            self.get(url)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times), len(times), len(queries)


def _links(page: str, parameter: str) -> list[str]:
    """The hrefs of the page that set ``parameter``."""
    hrefs = (html.unescape(h) for h in re.findall(r'href="([^"]*)"', page))
    return [h for h in hrefs if parameter in dict(parse_qsl(urlsplit(h).query))]


def _with(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | params
    return f"{parts.path}?{urlencode(query)}"


def sorts(page: str) -> list[str]:
    offered = {dict(parse_qsl(urlsplit(h).query))["sort"] for h in _links(page, "sort")}
    both = {s.lstrip("-") for s in offered}
    return sorted(both | {f"-{s}" for s in both})


def page_1000(pages: Pages, first: str) -> tuple[str, int]:
    """The address of the queue's 1,000th page (or its last, if it has fewer), reached as a person
    would: by number if the page links pages by number, else by following its next-page link."""
    numbered = [h for h in _links(first, "page") if dict(parse_qsl(urlsplit(h).query))["page"].isdigit()]
    if numbered:
        link = numbered[0] if numbered[0].startswith("/") else "/queue/" + numbered[0]
        return _with(link, page="1000"), 1000
    url, page, number = "/queue/", first, 1
    while number < 1000:
        following = re.search(r'<a[^>]*href="([^"]*)"[^>]*rel="next"|rel="next"[^>]*href="([^"]*)"', page)
        if not following:
            break
        href = html.unescape(following.group(1) or following.group(2))
        url = href if href.startswith("/") else "/queue/" + href
        page, number = pages.get(url), number + 1
    return url, number


def line(label: str, ms: float, runs: int, queries: int, verdict_text: str = "") -> None:
    print(f"  {label}: {ms:.0f} ms (median of {runs}), {queries} queries{verdict_text}", flush=True)


def export(url: str) -> None:
    """In a fresh process, as a web worker: stream the whole unfiltered queue and report peak memory."""
    use(os.environ["BENCH_DATABASE"])
    pages = Pages(1)
    started = time.perf_counter()
    response = pages.client.get(url)
    size = sum(len(chunk) for chunk in response.streaming_content)  # type: ignore[attr-defined,misc]
    print(
        f"{size / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s, peak memory {peak_memory_mb():.0f} MB"
    )


def draw_dashboard() -> str:
    """Run the beat task that draws the dashboard's figures, as it runs every few minutes."""
    for module in ("oversight.tasks", "notifications.tasks"):
        try:
            task = importlib.import_module(module).draw_dashboard
        except (ImportError, AttributeError):
            continue
        seconds, _ = timed(task)
        return f"{seconds:.1f} s"
    return "no such task"


def bench(n: int, runs: int, exports: bool) -> None:
    # The day's chasing done, as on any working day: the outbox (and any stored levels) are real.
    template, _ = swept(n)
    clone(template)
    prewarm()
    drawn = draw_dashboard()
    pages = Pages(runs)
    print(f"N={n:,} (median of {runs} warm requests; floor = the trivial page):", flush=True)
    floor, r, q = pages.time("/my-work/")
    line("trivial page (/my-work/, a manager who owns nothing)", floor, r, q)
    empty, r, q = pages.time("/queue/?owner=nobody-at-all")
    line("queue filtered to nothing", empty, r, q, f", {empty / floor:.1f}x floor")
    first_ms, r, q = pages.time("/queue/")
    line(
        "queue, first page",
        first_ms,
        r,
        q,
        f", {first_ms / floor:.1f}x floor (target <= 3x: {verdict(first_ms <= 3 * floor)})",
    )
    first = pages.get("/queue/")
    slowest = 0.0
    for key in sorts(first):
        ms, r, q = pages.time(f"/queue/?sort={key}")
        slowest = max(slowest, ms)
        line(f"queue sorted by {key}", ms, r, q, f", {ms / floor:.1f}x floor")
    print(
        f"  every offered sort under 100 ms: slowest {slowest:.0f} ms: {verdict(slowest < 100)}", flush=True
    )
    url, number = page_1000(pages, first)
    ms, r, q = pages.time(url)
    line(
        f"queue, page {number:,} ({url})",
        ms,
        r,
        q,
        f", {ms / first_ms:.1f}x page 1 (target as fast as page 1, <= 1.5x: {verdict(ms <= 1.5 * first_ms)})",
    )
    for url in sorted({html.unescape(h) for h in re.findall(r'href="([^"]*export[^"]*)"', first)}):
        if not exports:
            break
        child = subprocess.run(
            [sys.executable, __file__, "--export", url],
            capture_output=True,
            text=True,
            check=True,
            env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"BENCH_DATABASE": WORK},
        )
        print(f"  whole queue from {url}, streamed by a fresh process: {child.stdout.strip()}", flush=True)
    print(f"  the dashboard's figures drawn by its beat task (outside any request): {drawn}", flush=True)
    for label, address in (
        ("dashboard", "/dashboard/"),
        ("/chasing/", "/chasing/"),
        ("exception report", "/exception-report/"),
    ):
        ms, r, q = pages.time(address)
        line(label, ms, r, q, f", {ms / floor:.1f}x floor (target < 500 ms: {verdict(ms < 500)})")
    use("postgres")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("size", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--exports", action="store_true", help="also stream each export (slow)")
    parser.add_argument("--export", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export:
        export(args.export)
        return
    require_postgresql()
    print(server_settings(), flush=True)
    prepare([args.size], after_first_sweep=True)
    # Served as in production, through the static files manifest: collected once.
    if not (Path(settings.STATIC_ROOT or "") / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)
    bench(args.size, args.runs, args.exports)


if __name__ == "__main__":
    main()
