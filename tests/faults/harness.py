"""The fault suite's real parts, each in its own process: a throwaway PostgreSQL cluster, a redis-server,
an SMTP sink that records every message and the outbox entries it carries, and Celery workers.

Everything is driven from outside, as an operator would see it: the suite reads the outbox with plain SQL
and the messages from the sink's record, never through the app's own code, so a defect in delivery cannot
hide itself from the count. Waits poll a condition with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from celery import Celery

ROOT = Path(__file__).resolve().parent.parent.parent
DELIVER_TASK = "notifications.tasks.deliver_digests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail saying ``what`` was awaited if ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.1)


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def redis_binary() -> str | None:
    return os.environ.get("REDIS_SERVER") or shutil.which("redis-server")


class PostgresCluster:
    """A cluster of its own (fsync off: it is thrown away), started and stopped by the suite."""

    def __init__(self, bindir: Path, port: int) -> None:
        self.bindir, self.port = bindir, port
        self.dir = Path(tempfile.mkdtemp(prefix="ft-faults-pg-"))
        self.data, self.log = self.dir / "data", self.dir / "pg.log"
        self.as_root = os.geteuid() == 0  # initdb refuses root: run the cluster as postgres

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        if not self.data.exists():
            if self.as_root:
                shutil.chown(self.dir, "postgres", "postgres")
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def execute(self, sql: str, database: str = "postgres") -> None:
        with self.connect(database) as conn:
            conn.execute(sql)  # type: ignore[arg-type]


class RedisServer:
    def __init__(self, binary: str, port: int) -> None:
        self.binary, self.port = binary, port
        self.dir = Path(tempfile.mkdtemp(prefix="ft-faults-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), 20, "redis-server to listen")

    def kill(self) -> None:
        """Gone at once, with everything queued in it (no persistence): what a crash does."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def flush(self) -> None:
        import redis

        with redis.Redis(port=self.port, socket_timeout=5) as client:
            client.flushall()

    def queued(self) -> int:
        import redis

        with redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1) as client:
            return int(client.llen("celery"))

    def destroy(self) -> None:
        if self.process and self.process.poll() is None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class SmtpSink:
    """The sink process (tests/faults/smtp_sink.py), its mode and its record."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="ft-faults-smtp-"))
        self.mode_file, self.record = self.dir / "mode", self.dir / "record.jsonl"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.set_mode("accept")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.faults.smtp_sink",
                str(self.port),
                str(self.record),
                str(self.mode_file),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), 30, "the SMTP sink to listen")

    def set_mode(self, mode: str) -> None:
        tmp = self.mode_file.with_suffix(".tmp")
        tmp.write_text(mode)
        tmp.replace(self.mode_file)

    def reset(self) -> None:
        self.set_mode("accept")
        self.record.write_text("")

    def messages(self, outcome: str | None = "accepted") -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        lines = [json.loads(line) for line in self.record.read_text().splitlines() if line.endswith("}")]
        return [m for m in lines if outcome is None or m["outcome"] == outcome]

    def destroy(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Workers:
    """``count`` Celery worker processes (``celery -A config worker``), each its own process to kill."""

    env: dict[str, str]
    log_dir: Path
    count: int = 3
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0
    killed: int = 0

    def _spawn(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = (self.log_dir / f"worker{self.started}.log").open("wb")
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "-n",
                f"faults{self.started}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.count)]

    def wait_ready(self, seconds: float = 300) -> None:
        """Until every worker has said it is ready (Celery logs "ready." once it consumes)."""
        logs = [self.log_dir / f"worker{n}.log" for n in range(1, self.started + 1)]
        wait_until(
            lambda: all(" ready." in log.read_text(errors="replace") for log in logs),
            seconds,
            f"{self.count} Celery workers to be ready (their logs: {self.log_dir})",
        )

    def kill_one(self, index: int) -> None:
        """kill -9 one worker, mid-whatever it is doing, and start another in its place."""
        process = self.processes[index]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        self.killed += 1
        self.processes[index] = self._spawn()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def crashed(self) -> list[str]:
        """Tracebacks in the workers' logs, for a failure's message."""
        found = []
        for log in sorted(self.log_dir.glob("worker*.log")):
            text = log.read_text(errors="replace")
            if "Traceback" in text:
                found.append(f"{log.name}: ...{text[-1500:]}")
        return found


class Beat:
    """Stands in for celery beat's 5-minute delivery run, faster: while entries wait, it keeps a few
    delivery tasks queued. A broker that is down is retried on the next tick, as beat would."""

    def __init__(self, redis: RedisServer, pending: Callable[[], int], queued_tasks: int = 3) -> None:
        self.redis, self.pending, self.queued_tasks = redis, pending, queued_tasks
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.sent = 0

    def _run(self) -> None:
        client = Celery("faults-beat", broker=self.redis.url)
        client.conf.broker_connection_retry = False
        client.conf.broker_connection_timeout = 1
        client.conf.broker_transport_options = {"socket_timeout": 2, "socket_connect_timeout": 1}
        try:
            while not self.stopped.wait(0.3):
                try:
                    if self.pending() and self.redis.queued() < self.queued_tasks:
                        client.send_task(DELIVER_TASK, retry=False)
                        self.sent += 1
                except Exception:  # Redis or PostgreSQL down: try again next tick
                    client.close()
        finally:
            client.close()

    def __enter__(self) -> Beat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)


@dataclass
class Tally:
    """Every outbox entry against every message the mail server accepted."""

    entries: int
    pending: int
    failed: int
    messages: int
    lost: list[int]  # entries no accepted message carried
    duplicated_entries: int  # entries carried by more than one accepted message
    duplicate_messages: int  # accepted messages beyond the first carrying the same entries
    duplicates_with_new_message_id: int  # a resend that does not carry its first copy's Message-ID
    misaddressed: list[int]  # entries carried to someone who is neither their recipient nor a fallback
    recipients: int
    recipients_with_more_than_one_message: int

    def summary(self) -> str:
        return (
            f"{self.entries} entries, {self.messages} messages to {self.recipients} people: "
            f"{len(self.lost)} lost, {self.duplicated_entries} entries in "
            f"{self.duplicate_messages} duplicate messages "
            f"({self.duplicates_with_new_message_id} with a new Message-ID), "
            f"{self.pending} pending, {self.failed} failed, {len(self.misaddressed)} misaddressed"
        )


KEY = "o.item_type_id, o.item_id, o.rule, o.due_on, o.period, o.round"


def tally(conn: psycopg.Connection[Any], messages: list[dict[str, Any]]) -> Tally:
    """Each entry must be carried by an accepted message: its own, or (an entry redirected because its
    person could no longer be reached) a copy made for a fallback recipient: same outbox key but the
    recipient, a gap recorded, written after it."""
    rows = conn.execute(
        f"SELECT o.id, o.status, u.email, o.gap <> '', {KEY} FROM notifications_outboxentry o "
        "JOIN auth_user u ON u.id = o.recipient_id"
    ).fetchall()
    carried: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for message in messages:
        for entry in message["entries"]:
            carried[entry].append(message)
    # Copies made for a fallback carry the gap and come after the entry they replace (another person's
    # entry may share the key: the owner's copy of an escalation and the manager's own).
    passed_on: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row in rows:
        if row[3]:
            passed_on[tuple(row[4:])].append(row[0])

    def delivered(pk: int, status: str, key: tuple[Any, ...]) -> bool:
        if status == "redirected":
            return any(carried.get(copy) for copy in passed_on[key] if copy > pk)
        return bool(carried.get(pk))

    by_status = Counter(row[1] for row in rows)
    lost = [row[0] for row in rows if not delivered(row[0], row[1], tuple(row[4:]))]
    duplicated = [row[0] for row in rows if len(carried.get(row[0], [])) > 1]
    seen: dict[frozenset[int], str] = {}
    duplicate_messages = new_ids = 0
    for message in messages:
        key = frozenset(message["entries"])
        if any(len(carried[e]) > 1 and carried[e][0] is not message for e in key):
            duplicate_messages += 1
            if seen.get(key) != message["message_id"]:
                new_ids += 1
        seen.setdefault(key, message["message_id"])
    emails = {row[0]: row[2] for row in rows}
    misaddressed = [
        row[0]
        for row in rows
        for m in carried.get(row[0], [])
        if emails[row[0]] and emails[row[0]] not in m["to"]
    ]
    per_person = Counter(address for m in messages for address in m["to"])
    return Tally(
        entries=len(rows),
        pending=by_status["pending"],
        failed=by_status["failed"],
        messages=len(messages),
        lost=lost,
        duplicated_entries=len(duplicated),
        duplicate_messages=duplicate_messages,
        duplicates_with_new_message_id=new_ids,
        misaddressed=misaddressed,
        recipients=len(per_person),
        recipients_with_more_than_one_message=sum(1 for n in per_person.values() if n > 1),
    )


def run_django(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """A project command in its own process (the way an operator runs it), its output returned."""
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode:
        raise AssertionError(f"{' '.join(args)} failed: {done.stderr[-3000:]}")
    return done.stdout


@contextlib.contextmanager
def timed() -> Iterator[Callable[[], float]]:
    start = time.monotonic()
    yield lambda: time.monotonic() - start
