from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from redis import Redis
from redis.exceptions import RedisError

from workflows.health import health_readings


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and the demo: can we reach the database and Redis? The apps' readings
    (how long the oldest email has waited) are reported beside, without deciding the status: a slow
    outbox is for the managers to act on, not a reason to take the site out of service."""
    checks = {"database": "ok", "redis": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except RedisError as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks, **health_readings()},
        status=200 if healthy else 503,
    )
