"""What every benchmark shares: Django on a PostgreSQL server of the benchmark's own, generated databases
kept as templates and cloned fresh for each timed run, the server's settings, peak memory, medians.

The server is BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5496, see bench/README.md); the
databases are bench_schema_<version> (migrated, empty), bench_t<N> (generated data), bench_s<N>
(after the first sweep), all templates, and bench_work_<script> (the run's copy). A template is made
again when the generator changes, and migrated forward when the migrations do.
Import this module before anything of Django's: it sets the settings up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
import tokenize
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5496").rstrip("/")
# Each benchmark its own working copy, so two may run at once.
WORK = "bench_work_" + re.sub(r"\W", "_", Path(sys.argv[0]).stem or "python")
# The local settings with debug off, as a web or worker process runs (cached templates, no query log);
# the database is always the benchmark's own.
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 40)
os.environ["DATABASE_URL"] = f"{SERVER}/{WORK}"
# The benchmarks share 2 cores with everyone else: be the one that waits.
os.nice(10)

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.loader import MigrationLoader  # noqa: E402

from bench import generate  # noqa: E402

SETTINGS = [
    "server_version",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "max_wal_size",
    "jit",
]


def admin() -> psycopg.Connection[Any]:
    return psycopg.connect(f"{SERVER}/postgres", autocommit=True)


def use(database: str) -> None:
    """Point Django's connection at another database of the server (reconnecting on next use)."""
    connection.close()
    connection.settings_dict["NAME"] = database


def server_settings() -> str:
    with admin() as db:
        values = [f"{name}={db.execute(f'SHOW {name}').fetchone()[0]}" for name in SETTINGS]  # type: ignore[index]
    return "PostgreSQL " + ", ".join(values) + f"; client {os.cpu_count()} cores shared, nice 10"


def schema_version() -> str:
    """Changes whenever the migrations change."""
    leaves = sorted(MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes())
    return hashlib.sha256(json.dumps(leaves).encode()).hexdigest()[:16]


def generator_version(n: int) -> str:
    """Changes whenever the generator's code (not its comments) or the size changes."""
    with (ROOT / "bench" / "generate.py").open("rb") as source:
        code = [
            token.string
            for token in tokenize.tokenize(source.readline)
            if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE)
        ]
    return hashlib.sha256(json.dumps([n, code]).encode()).hexdigest()[:16]


def schema() -> str:
    """An empty migrated database, the template every generated one starts from."""
    want = schema_version()
    # Named by its version: checkouts with other migrations keep their own.
    name = f"bench_schema_{want}"
    if _comment(name):
        return name
    use("postgres")
    drop(name)
    with admin() as db:
        db.execute(f'CREATE DATABASE "{name}"')
    use(name)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    mark(name, {"schema": want})
    return name


def _comment(database: str) -> dict[str, Any] | None:
    with admin() as db:
        row = db.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
    if row is None or not row[0]:
        return None
    return json.loads(row[0])  # type: ignore[no-any-return]


def drop(database: str) -> None:
    with admin() as db:
        db.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def clone(template: str, database: str = WORK) -> None:
    """A fresh copy of ``template`` (files copied, as new as the template), and Django pointed at it."""
    use("postgres")
    drop(database)
    with admin() as db:
        db.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    use(database)


def mark(database: str, meta: dict[str, Any]) -> None:
    use("postgres")
    with admin() as db:
        db.execute(f"COMMENT ON DATABASE \"{database}\" IS '{json.dumps(meta)}'")


def data(n: int, *, quiet: bool = False) -> tuple[str, dt.date]:
    """The template database holding N generated actions and the date its sweeps are for: made now if
    missing or if the generator changed, migrated forward if only the migrations did."""
    name, schema_now, generator_now = f"bench_t{n}", schema_version(), generator_version(n)
    meta = _comment(name)
    if meta and meta.get("generator") == generator_now:
        on = dt.date.fromisoformat(meta["on"])
        if meta.get("schema") == schema_now:
            use(name)
            return name, on
        use(name)
        # A history reset to initial migrations leaves records of migrations that no longer exist, and
        # "0001_initial" recorded as applied: migrate would then do nothing on an old schema.
        loader = MigrationLoader(connection)
        reset = set(loader.applied_migrations) - set(loader.graph.nodes)
        try:
            if reset:
                raise RuntimeError(f"{len(reset)} applied migrations no longer exist")
            call_command("migrate", verbosity=0)
        except Exception as exc:
            print(f"N={n:,}: the template could not be migrated forward ({exc}); generating again")
        else:
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            mark(name, {"schema": schema_now, "generator": generator_now, "on": on.isoformat()})
            use(name)
            if not quiet:
                print(f"N={n:,}: template migrated forward to the current migrations", flush=True)
            return name, on
    empty = schema()
    started = time.perf_counter()
    clone(empty, name)
    on = generate.sweep_date()
    generate.generate(n, on)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    if not quiet:
        print(
            f"N={n:,}: generated in {time.perf_counter() - started:.0f} s, {size}; sweep date {on}",
            flush=True,
        )
    mark(name, {"schema": schema_now, "generator": generator_now, "on": on.isoformat()})
    use(name)
    return name, on


def swept(n: int) -> tuple[str, dt.date]:
    """The template of N generated actions after the first sweep (``bench_s<N>``, made now from
    ``data(n)`` with the code here unless one was made from the same template), and the sweep's date."""
    from notifications.sweep import sweep

    template, on = data(n)
    name, made_from = f"bench_s{n}", _comment(template)
    meta = _comment(name)
    if meta and meta.get("from") == made_from:
        use(name)
        return name, on
    clone(template, name)
    sweep(on=on, describe=False)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    mark(name, {"from": made_from})
    use(name)
    return name, on


def prepare(sizes: list[int], *, after_first_sweep: bool = False) -> None:
    """Make (or check) the templates in a process of their own, so generating or migrating leaves
    nothing in the measuring process's memory."""
    make = "swept" if after_first_sweep else "data"
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench import harness; "
            f"[harness.{make}(int(n)) for n in sys.argv[1:]]",
            *map(str, sizes),
        ],
        check=True,
    )


def prewarm() -> None:
    """Every table and index of the copy read into shared buffers (as far as they fit), so each timed
    statement starts as warm as the one it is compared with."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_prewarm(c.oid)) FROM pg_class c "
            "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')"
        )
        cursor.execute("CHECKPOINT")


def reset_peak_memory() -> None:
    """Linux: start counting this process's peak resident memory again from now."""
    with suppress(OSError):
        Path(f"/proc/{os.getpid()}/clear_refs").write_text("5")


def peak_memory_mb() -> float:
    """Peak resident memory of this process since the last reset (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as took:`` then ``took[0]`` is the seconds the block took."""
    took: list[float] = []
    started = time.perf_counter()
    yield took
    took.append(time.perf_counter() - started)


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], unit: str = "s", scale: float = 1.0, digits: int = 2) -> str:
    """'median (min-max, n runs)'."""
    shown = [v * scale for v in values]
    if len(shown) == 1:
        return f"{shown[0]:.{digits}f} {unit} (1 run)"
    return (
        f"{statistics.median(shown):.{digits}f} {unit} "
        f"({min(shown):.{digits}f}-{max(shown):.{digits}f}, {len(shown)} runs)"
    )


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        sys.exit("The benchmarks measure production's database: PostgreSQL (set BENCH_POSTGRES)")


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result
