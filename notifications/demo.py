"""Demo chasing: switched on, with the demo's managers as business managers, and today's sweep run."""

from django.utils import timezone

from workflows.demo import DemoContext

from .models import ChasePolicy
from .sweep import sweep
from .tasks import request_delivery


def seed(context: DemoContext) -> None:
    policy = ChasePolicy.current()
    policy.business_managers.set([context.users["manager"]])
    if policy.confirmed_at is None:
        policy.confirmed_at = timezone.now()
        policy.confirmed_by = context.users["manager"]
        policy.save()
    sweep(on=timezone.localdate())
    # Queued for the worker, which prints the digests to the console as soon as it starts.
    request_delivery()
