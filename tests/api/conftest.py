"""What the schemathesis suites share: the app in this process, each role's personal token, the checks
that hold the API to its schema, and the schema itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from schemathesis import checks

from accounts.services import issue_token

# What the schema promises. (Not schemathesis's extra heuristics: "ignored auth" cannot take away the
# credentials this harness adds to every call, and "positive data acceptance" cannot know that a valid
# id may name a recommendation the caller may not use.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """The real WSGI application, in this process, on the test's database connection: Django would close
    the connection at each request's start and end, as the test client also stops it doing."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def bearer(username: str) -> dict[str, str]:
    """Each role calls with a personal token, as an API client does."""
    _, key = issue_token(User.objects.get(username=username), "schema suite")
    return {"Authorization": f"Bearer {key}"}


def api_schema() -> Any:
    """The public OpenAPI schema as drf-spectacular serves it, loaded by schemathesis."""
    return schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
