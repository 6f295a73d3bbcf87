import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery import Celery
from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from notifications.models import ChasePolicy
from tests.factories import AgencyFactory, person_in
from workflows import roles
from workflows.models import Agency


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_server_binary() -> str | None:
    return os.environ.get("REDIS_SERVER") or shutil.which("redis-server")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free port, for this test session only."""
    binary = redis_server_binary()
    if binary is None:
        pytest.fail("redis-server is not installed: run the tests through bin/test, which installs it")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="ft-redis-")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def use_redis(redis_url: str, settings: SettingsWrapper) -> str:
    settings.REDIS_URL = redis_url
    settings.CELERY_BROKER_URL = redis_url
    return redis_url


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """The API throttles count in the cache: each test starts with nothing counted."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_root(tmp_path: Path, settings: SettingsWrapper) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def police(db: None) -> Agency:
    return AgencyFactory.create(name="Greater Manchester Police", kind=Agency.Kind.POLICE)


@pytest.fixture
def health(db: None) -> Agency:
    return AgencyFactory.create(name="NHS Greater Manchester ICB", kind=Agency.Kind.HEALTH)


@pytest.fixture
def partnership(db: None) -> Agency:
    return AgencyFactory.create(name="Safeguarding Partnership", kind=Agency.Kind.PARTNERSHIP)


@pytest.fixture
def owner(police: Agency) -> User:
    return person_in(police, roles.ACTION_OWNER, username="police.owner")


@pytest.fixture
def police_lead(police: Agency) -> User:
    return person_in(police, roles.AGENCY_LEAD, username="police.lead")


@pytest.fixture
def health_owner(health: Agency) -> User:
    return person_in(health, roles.ACTION_OWNER, username="health.owner")


@pytest.fixture
def health_lead(health: Agency) -> User:
    return person_in(health, roles.AGENCY_LEAD, username="health.lead")


@pytest.fixture
def manager(partnership: Agency) -> User:
    return person_in(partnership, roles.MANAGER, username="manager")


@pytest.fixture
def second_manager(partnership: Agency) -> User:
    return person_in(partnership, roles.MANAGER, username="chair")


@pytest.fixture
def auditor(partnership: Agency) -> User:
    return person_in(partnership, roles.AUDITOR, username="auditor")


@pytest.fixture
def executive(partnership: Agency) -> User:
    return person_in(partnership, roles.EXECUTIVE, username="executive")


@pytest.fixture
def chasing_on(db: None, manager: User) -> ChasePolicy:
    """Chasing switched on, with the manager as the partnership's business manager."""
    policy = ChasePolicy.current()
    policy.business_managers.set([manager])
    policy.confirmed_at = timezone.now()
    policy.confirmed_by = manager
    policy.save()
    return policy


@dataclass
class SmtpSink:
    """A real SMTP server on a free port that keeps every message it accepts."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: bool = False
    # Seconds to hold the next message before answering, to let a test kill the sender mid-delivery.
    stall_next: float = 0
    stalling: bool = False

    async def handle_DATA(self, server: Any, session: object, envelope: Any) -> str:
        if self.refuse:
            return "451 Try again later"
        if self.stall_next:
            stall, self.stall_next = self.stall_next, 0
            self.stalling = True
            await asyncio.sleep(stall)
            self.stalling = False
            # Like a real mail server: a message whose sender vanished before the answer is not kept.
            if server.transport is None or server.transport.is_closing():
                return "421 Sender went away"
        self.messages.append(BytesParser(policy=default_policy).parsebytes(envelope.original_content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_sink(settings: SettingsWrapper) -> Iterator[SmtpSink]:
    sink = SmtpSink(host="127.0.0.1", port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = sink.host, sink.port, False
    yield sink
    controller.stop()


@contextmanager
def celery_broker(url: str, **conf: Any) -> Iterator[None]:
    """Point this process's Celery app at ``url`` (and any other settings) for a block, then put back
    everything it changed, and drop pooled connections so none outlives the block."""
    from config.celery_app import app

    changes = {"broker_url": url, **conf}
    saved = {key: app.conf.get(key) for key in changes}
    app.conf.update(changes)
    app.close()
    try:
        yield
    finally:
        app.conf.update(saved)
        app.close()


@contextmanager
def celery_client(url: str) -> Iterator[Celery]:
    """A Celery client of its own on ``url``: talks to real workers without touching the project's app."""
    client = Celery("tests", broker=url)
    try:
        yield client
    finally:
        client.close()
