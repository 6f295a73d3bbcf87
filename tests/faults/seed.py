"""Builds the fault suite's partnership in the database DATABASE_URL names: run in its own process.

``python -m tests.faults.seed OWNERS ACTIONS_PER_OWNER`` migrates, then writes one business manager (the
giant recipient: every action is past the second rung, so each one is escalated to them), eight agencies
each with a lead, and OWNERS owners with ACTIONS_PER_OWNER overdue actions each (a few entries each).
Rows are written in bulk: the suite is about delivery, and thousands of transitions would cost minutes.
"""

from __future__ import annotations

import datetime as dt
import sys

import django


def seed(owners: int, actions_per_owner: int) -> None:
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.utils import timezone

    from notifications.models import ChasePolicy
    from workflows import roles
    from workflows.models import Action, ActionState, Agency, Person, Plan, Recommendation

    call_command("migrate", verbosity=0)
    groups = {
        name: Group.objects.get(name=name) for name in (roles.MANAGER, roles.AGENCY_LEAD, roles.ACTION_OWNER)
    }
    partnership = Agency.objects.create(name="Safeguarding Partnership", kind=Agency.Kind.PARTNERSHIP)
    agencies = [Agency.objects.create(name=f"Agency {i}", kind=Agency.Kind.HEALTH) for i in range(8)]

    def people(specs: list[tuple[str, Agency, str]]) -> list[User]:
        users = User.objects.bulk_create(
            [
                User(username=name, email=f"{name}@example.org", password="!", first_name=name)
                for name, _, _ in specs
            ]
        )
        Person.objects.bulk_create(
            [Person(user=u, agency=a) for u, (_, a, _) in zip(users, specs, strict=True)]
        )
        User.groups.through.objects.bulk_create(
            [
                User.groups.through(user_id=u.pk, group_id=groups[r].pk)
                for u, (_, _, r) in zip(users, specs, strict=True)
            ]
        )
        return users

    (manager,) = people([("business.manager", partnership, roles.MANAGER)])
    people([(f"lead{i}", agency, roles.AGENCY_LEAD) for i, agency in enumerate(agencies)])
    owner_users = people(
        [(f"owner{i:04d}", agencies[i % len(agencies)], roles.ACTION_OWNER) for i in range(owners)]
    )

    plan = Plan.objects.create(name="Business plan")
    recommendation = Recommendation.objects.create(text="Act on what the audits found", source=plan)
    today = timezone.localdate()
    Action.objects.bulk_create(
        [
            Action(
                recommendation=recommendation,
                description=f"Action {n} of {owner.username}",
                owner=owner,
                agency=agencies[i % len(agencies)],
                due_on=today - dt.timedelta(days=30 + n),
                state=ActionState.IN_PROGRESS,
            )
            for i, owner in enumerate(owner_users)
            for n in range(actions_per_owner)
        ],
        batch_size=1000,
    )
    policy = ChasePolicy.current()
    policy.business_managers.set([manager])
    policy.confirmed_at, policy.confirmed_by = timezone.now(), manager
    policy.save()


if __name__ == "__main__":
    django.setup()
    seed(int(sys.argv[1]), int(sys.argv[2]))
