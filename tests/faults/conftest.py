"""Fixtures for the fault suite. The real parts start once a session: a PostgreSQL cluster with a seeded
template database (and a copy swept for today), a redis-server, the SMTP sink and three Celery workers.
Each test gets the workers' database afresh from a template, an empty Redis and a sink that accepts."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from .harness import (
    Beat,
    PostgresCluster,
    RedisServer,
    SmtpSink,
    Tally,
    Workers,
    free_port,
    postgres_bin,
    redis_binary,
    run_django,
    tally,
    wait_until,
)

# A few thousand entries: OWNERS owners with ACTIONS overdue actions each, every action escalated to the one
# business manager (the giant recipient: OWNERS * ACTIONS entries) and twice to its owner (the weekly
# chase and the escalation's copy): 3,000 entries and 251 digests by default.
OWNERS = int(os.environ.get("FAULTS_OWNERS", "250"))
ACTIONS = int(os.environ.get("FAULTS_ACTIONS_PER_OWNER", "4"))
SEEDED, SWEPT, LIVE = "faults_seeded", "faults_swept", "faults_live"
GIANT = "business.manager@example.org"
# Attempts before an entry that keeps failing is given up (status failed) and surfaced.
MAX_ATTEMPTS = 3


@dataclass
class Services:
    postgres: PostgresCluster
    redis: RedisServer
    sink: SmtpSink
    workers: Workers


def environment(
    postgres: PostgresCluster, redis: RedisServer, sink: SmtpSink, database: str
) -> dict[str, str]:
    """What the project's processes (workers, commands) need to use this suite's services."""
    return {
        **{k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL"}},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": postgres.url(database),
        "REDIS_URL": redis.url,
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        # A mail server that hangs must free the worker: a short socket timeout (production's is 30 s).
        "EMAIL_TIMEOUT": "3",
        # Production's backoff (first retry after 5 minutes), so a fault costs each entry one attempt, as
        # it would in a short outage; once the fault has cleared the suite moves the retry times instead.
        "FOLLOWTHROUGH_DELIVERY_BACKOFF_SECONDS": "300",
        # Every digest names the outbox entries it carries, so the sink can count each one.
        "FOLLOWTHROUGH_DIGEST_ENTRY_IDS_HEADER": "true",
        "FOLLOWTHROUGH_DELIVERY_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    bindir, redis_path = postgres_bin(), redis_binary()
    if bindir is None:
        pytest.skip("the fault suite needs PostgreSQL's server binaries (initdb, pg_ctl); none are installed")
    if redis_path is None:
        pytest.skip("the fault suite needs redis-server; it is not installed")
    postgres = PostgresCluster(bindir, free_port())
    redis = RedisServer(redis_path, free_port())
    sink = SmtpSink(free_port())
    workers = Workers(
        environment(postgres, redis, sink, LIVE), Path(tempfile.mkdtemp(prefix="ft-faults-workers-"))
    )
    try:
        postgres.start()
        redis.start()
        sink.start()
        # The workers boot (imports, Django's set-up) while the databases are built: they touch theirs
        # only once a task comes, and none comes before a test's Beat sends one.
        workers.start()
        postgres.execute(f"CREATE DATABASE {SEEDED}")
        run_django(
            environment(postgres, redis, sink, SEEDED), "-m", "tests.faults.seed", str(OWNERS), str(ACTIONS)
        )
        # Most tests start with the day's sweep done, by the project's own command.
        postgres.execute(f"CREATE DATABASE {SWEPT} TEMPLATE {SEEDED}")
        # Its request for delivery goes to a port nobody listens on: it is logged and dropped, and no
        # worker starts delivering before a test does.
        run_django(
            {**environment(postgres, redis, sink, SWEPT), "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"},
            "manage.py",
            "chase",
        )
        workers.wait_ready()
        yield Services(postgres, redis, sink, workers)
    finally:
        workers.stop()
        shutil.rmtree(workers.log_dir, ignore_errors=True)
        sink.destroy()
        redis.destroy()
        postgres.destroy()


class Stack:
    """One test's view of the services, with the workers' database fresh from a template."""

    def __init__(self, services: Services) -> None:
        self.postgres, self.redis, self.sink = services.postgres, services.redis, services.sink
        self.workers = services.workers
        self.env = self.workers.env
        self.killed_before = self.workers.killed
        self.fault_cleared = False

    @property
    def killed(self) -> int:
        return self.workers.killed - self.killed_before

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(
            host="127.0.0.1",
            port=self.postgres.port,
            user="postgres",
            dbname=LIVE,
            autocommit=True,
            connect_timeout=2,
        ) as conn:
            cursor = conn.execute(query, params or None)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def scalar(self, query: str, *params: Any) -> Any:
        return self.sql(query, *params)[0][0]

    def pending(self) -> int:
        """Entries still to deliver: pending, whether or not their retry time has come."""
        return int(self.scalar("SELECT count(*) FROM notifications_outboxentry WHERE status = 'pending'"))

    def pending_or_unknown(self) -> int:
        try:
            if self.fault_cleared:
                self.time_passes()
            return self.pending()
        except psycopg.Error:
            return 1  # the database is down: there may be work

    def clear_fault(self) -> None:
        """From now on every retry time a fault set has come: the suite does not wait out a backoff."""
        self.fault_cleared = True

    def time_passes(self) -> None:
        self.sql(
            "UPDATE notifications_outboxentry SET next_attempt_at = now() "
            "WHERE status = 'pending' AND next_attempt_at > now()"
        )

    def beat(self) -> Beat:
        return Beat(self.redis, self.pending_or_unknown)

    def delivered(self) -> int:
        return len(self.sink.messages())

    def drain(self, seconds: float = 240) -> None:
        """Wait until no entry is pending, saying what the workers logged if that never happens."""
        try:
            wait_until(lambda: self.pending_or_unknown() == 0, seconds, "every outbox entry to be delivered")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; {self.pending()} pending; {self.workers.crashed()}") from None

    def tally(self) -> Tally:
        with self.postgres.connect(LIVE) as conn:
            return tally(conn, self.sink.messages())


def fresh(services: Services, template: str) -> Stack:
    # Tasks left queued by the last test's Beat go first, so none delivers from the new copy before the
    # sink's record is reset. FORCE ends the workers' connections; each task opens its own (CONN_MAX_AGE
    # is 0 in tests).
    services.redis.flush()
    services.postgres.execute(f"DROP DATABASE IF EXISTS {LIVE} WITH (FORCE)")
    services.postgres.execute(f"CREATE DATABASE {LIVE} TEMPLATE {template}")
    services.sink.reset()
    return Stack(services)


@pytest.fixture
def stack(services: Services) -> Iterator[Stack]:
    """The day's sweep done, nothing delivered yet."""
    yield fresh(services, SWEPT)
    services.sink.set_mode("accept")


@pytest.fixture
def unswept_stack(services: Services) -> Iterator[Stack]:
    """Before the day's sweep."""
    yield fresh(services, SEEDED)
    services.sink.set_mode("accept")
