"""The benchmarks (bench/) are not tests, but each must keep running: this runs each at a tiny size on
the PostgreSQL server the suite uses (they measure nothing on SQLite), in a database of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = [
    ("sweep_bench.py", "300", "--repeat", "1"),
    ("delivery_bench.py", "300", "--cap", "60"),
    ("queue_bench.py", "300", "--runs", "1"),
]


@pytest.mark.parametrize("benchmark", BENCHMARKS, ids=[b[0] for b in BENCHMARKS])
def test_each_benchmark_runs_at_a_small_size_and_its_floor_writes_what_the_sweep_writes(
    benchmark: tuple[str, ...],
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks run on PostgreSQL only")
    settings = connection.settings_dict
    server = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}"
    script, *args = benchmark
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")} | {"BENCH_POSTGRES": server}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "floor" in done.stdout
    assert "FLOOR DIFFERS" not in done.stdout, done.stdout
