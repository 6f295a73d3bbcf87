"""Bench data on PostgreSQL: N actions over 150 agencies and 5,000 owners, made in SQL in seconds.

Owners have no line manager, so escalation 1 goes to the agency lead, one per agency: the heavier
path (a join through groups and permissions). Due dates spread from 150 days overdue to 89
days ahead; one action in ten is completed and so not chased.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from notifications.models import ChasePolicy
from workflows import roles

AGENCIES = 150
OWNERS = 5_000


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE notifications_outboxentry, notifications_digest, workflows_action, "
            "workflows_recommendation, workflows_plan, workflows_person, workflows_agency, auth_user, "
            "auth_user_groups, notifications_chasepolicy_business_managers, notifications_chasepolicy CASCADE"
        )


def generate(n: int) -> None:
    reset()
    today = timezone.localdate()
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO workflows_agency (name, kind, is_active) "
            "SELECT 'Agency ' || g, 'health', true FROM generate_series(1, %s) g",
            [AGENCIES],
        )
        c.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, "
            "is_staff, is_active, date_joined) SELECT '!', false, kind || g, kind, g::text, "
            "kind || g || '@bench.example', false, true, now() "
            "FROM (SELECT 'owner' AS kind, g FROM generate_series(1, %s) g UNION ALL "
            "SELECT 'lead', g FROM generate_series(1, %s) g UNION ALL SELECT 'manager', 1) u(kind, g)",
            [OWNERS, AGENCIES],
        )
        c.execute("SELECT min(id) FROM workflows_agency")
        first_agency = c.fetchone()[0]
        c.execute(
            "INSERT INTO workflows_person (user_id, agency_id, job_title) "
            "SELECT id, %s + (last_name::int - 1) %% %s, '' FROM auth_user "
            "WHERE first_name IN ('owner', 'lead')",
            [first_agency, AGENCIES],
        )
        c.execute(
            "INSERT INTO auth_user_groups (user_id, group_id) SELECT u.id, g.id "
            "FROM auth_user u, auth_group g WHERE (u.first_name = 'lead' AND g.name = %s) "
            "OR (u.first_name = 'manager' AND g.name = %s)",
            [roles.AGENCY_LEAD, roles.MANAGER],
        )
        c.execute(
            "INSERT INTO workflows_recommendation (text, reference, created_at) "
            "SELECT 'Recommendation ' || g, g::text, now() FROM generate_series(1, 100) g"
        )
        c.execute("SELECT min(id) FROM workflows_recommendation")
        first_recommendation = c.fetchone()[0]
        c.execute("SELECT min(id) FROM auth_user WHERE first_name = 'owner'")
        first_owner = c.fetchone()[0]
        c.execute(
            "INSERT INTO workflows_action (recommendation_id, reference, description, outcome_measure, "
            "difference_for_children, owner_id, agency_id, responsible_group, due_on, priority, state, "
            "reported_rag, created_at, reopened_count, extra_columns) "
            "SELECT %s + g %% 100, g::text, 'Bench action ' || g, '', '', %s + g %% %s, "
            "%s + (g %% %s) %% %s, '', %s::date + ((g::bigint * 7919) %% 240 - 150)::int, 'medium', "
            "CASE WHEN g %% 10 = 0 THEN 'completed' ELSE 'in_progress' END, '', now(), 0, '{}' "
            "FROM generate_series(1, %s) g",
            [first_recommendation, first_owner, OWNERS, first_agency, OWNERS, AGENCIES, today, n],
        )
        # What autovacuum leaves a table in: statistics, and the visibility map index-only scans need.
        c.execute("VACUUM ANALYZE")
    policy = ChasePolicy.current()
    policy.confirmed_at = timezone.now()
    policy.save()
