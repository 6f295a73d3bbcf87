"""Bench data on PostgreSQL, made in SQL (INSERT ... SELECT generate_series), about a minute at 1,000,000.

N open actions over 150 agencies and 5,000 owners, plus N/10 closed ones; due dates spread evenly from
150 days overdue to 89 days ahead (1% undated), so each working day's sweep has real news: reminders
crossing their thresholds, weekly overdue chases, rungs reached. People as a partnership has them: 80%
of owners have a line manager (a few of whom have no email, so their agency lead hears instead), 2% of
owners have no email and 1% are deactivated, 0.5% of actions have no owner, two business managers are
named in the policy, one chair per recommendation (one in five has none), three plans' chasing is
paused (1.5% of actions), 2% of actions were reopened once. Beside them (from N = 1,000,000; fewer
below), 300 rapid reviews with two statutory clocks each and 10 audits in fieldwork with 2,000 agency
returns owed.

Every row is written through `insert_select`, which fills each column the SQL does not name from the
model's own default, so the generator follows the schema as fields come and go.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.utils import timezone
from psycopg import sql

from audits.models import AgencyReturn, Audit, AuditCase
from notifications.models import ChasePause, ChasePolicy
from reviews.models import RapidReview
from workflows import roles
from workflows.calendar import working_calendar
from workflows.models import Action, Agency, Person, Plan, Recommendation, StatutoryClock, Theme

AGENCIES = 150
OWNERS = 5_000
LINE_MANAGERS = 300
CHAIRS = 20
PLANS = 200
PAUSED_PLANS = 3
RECOMMENDATIONS = 2_000
# Reviews and audits grow with N up to these (a tiny N stays tiny, for the smoke test).
REVIEWS = 300
AUDITS = 10
CASES_PER_AUDIT = 20
AGENCIES_PER_AUDIT = 10
BUSINESS_MANAGERS = ["bm1", "bm2"]
# The benchmarks' manager, who reads the queue, dashboard and report: not named in the policy.
MANAGER = "manager1"


def sweep_date(today: dt.date | None = None) -> dt.date:
    """The date the data is generated for: today, or the next working day."""
    day = today or timezone.localdate()
    calendar = working_calendar()
    while not calendar.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def insert_select(
    model: type[models.Model], values: dict[str, str], source: str, params: list[Any] | None = None
) -> int:
    """INSERT INTO model's table SELECT ... FROM source: each field named in ``values`` gets that SQL
    expression, every other column its default (auto_now(_add) fields now(), nullable fields NULL)."""
    columns: list[str] = []
    expressions: list[str] = []
    for field in model._meta.concrete_fields:
        if field.name in values:
            expressions.append(values[field.name])
        elif field.primary_key:
            continue
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            expressions.append("now()")
        elif field.has_default() or (field.empty_strings_allowed and not field.null):
            expressions.append(_literal(field.get_db_prep_save(field.get_default(), connection)))
        elif field.null:
            continue
        else:
            raise ValueError(f"bench: {model.__name__}.{field.name} needs a value")
        columns.append(connection.ops.quote_name(field.column))  # type: ignore[arg-type]
    unknown = set(values) - {f.name for f in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"bench: {model.__name__} has no field {sorted(unknown)}")
    with connection.cursor() as cursor:
        cursor.execute(
            _literal_percent(
                f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
                f"SELECT {', '.join(expressions)} FROM {source}"
            ),
            params or [],
        )
        return cursor.rowcount


def _literal(value: Any) -> str:
    """A default as an SQL literal, quoted by the driver."""
    connection.ensure_connection()
    return sql.Literal(value).as_string(connection.connection)


def _literal_percent(sql: str) -> str:
    """SQL written with % for modulo and LIKE, made safe beside %s placeholders."""
    return re.sub(r"%(?!s)", "%%", sql)


def _users(kind: str, count: int, *, email: str = "", active: str = "true") -> None:
    """Users named kind1..kindN; ``email`` and ``active`` are SQL over g, the number."""
    insert_select(
        User,
        {
            "password": "'!'",
            "username": f"'{kind}' || g",
            "first_name": f"'{kind.capitalize()}'",
            "last_name": "g::text",
            "email": email or f"'{kind}' || g || '@bench.example'",
            "is_active": active,
            "date_joined": "now()",
        },
        "generate_series(1, %s) g",
        [count],
    )


def _one(sql: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def _grant(group: str, where: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _literal_percent(
                "INSERT INTO auth_user_groups (user_id, group_id) SELECT u.id, g.id FROM auth_user u, "
                f"auth_group g WHERE g.name = %s AND ({where})"
            ),
            [group],
        )


def generate(n: int, on: dt.date) -> None:
    """Fill an empty, migrated database: ``n`` open actions, their people and sources, for ``on``."""
    user_id = {  # the first id of each kind of user, made in order below
        kind: 0 for kind in ("owner", "lead", "linemanager", "chair", "bm", "manager", "executive")
    }
    for kind, count, extra in [
        # 2% of owners have no email, 1% are deactivated: the sweep tells their agency lead instead.
        (
            "owner",
            OWNERS,
            {
                "email": "CASE WHEN g % 50 = 0 THEN '' ELSE 'owner' || g || '@bench.example' END",
                "active": "g % 97 <> 0",
            },
        ),
        ("lead", AGENCIES, {}),
        # A few line managers cannot be reached: escalation 1 falls back to the agency lead.
        (
            "linemanager",
            LINE_MANAGERS,
            {"email": "CASE WHEN g % 60 = 0 THEN '' ELSE 'linemanager' || g || '@bench.example' END"},
        ),
        ("chair", CHAIRS, {}),
        ("bm", len(BUSINESS_MANAGERS), {}),
        ("manager", 1, {}),
        ("executive", 3, {}),
    ]:
        _users(kind, count, **extra)
        user_id[kind] = _one("SELECT min(id) FROM auth_user WHERE username LIKE %s", [f"{kind}%"])
    _grant(roles.AGENCY_LEAD, "u.username LIKE 'lead%'")
    _grant(roles.MANAGER, "u.username LIKE 'bm%' OR u.username = 'manager1'")
    _grant(roles.EXECUTIVE, "u.username LIKE 'executive%'")
    _grant(roles.ACTION_OWNER, "u.username LIKE 'owner%' OR u.username LIKE 'linemanager%'")

    insert_select(
        Agency,
        {"name": "'Agency ' || g", "kind": "'health'", "is_active": "true"},
        "generate_series(1, %s) g",
        [AGENCIES],
    )
    agency0 = _one("SELECT min(id) FROM workflows_agency")
    # Owner g works for agency g % 150 and has line manager g % 300 unless g % 5 = 0.
    insert_select(
        Person,
        {
            "user": "u.id",
            "agency": f"{agency0} + (u.last_name::int % {AGENCIES})",
            "line_manager": f"CASE WHEN u.username LIKE 'owner%' AND u.last_name::int % 5 <> 0 "
            f"THEN {user_id['linemanager']} + u.last_name::int % {LINE_MANAGERS} END",
        },
        "auth_user u WHERE u.username LIKE 'owner%' OR u.username LIKE 'lead%' "
        "OR u.username LIKE 'linemanager%'",
    )

    insert_select(Theme, {"name": "'Theme ' || g"}, "generate_series(1, 10) g")
    theme0 = _one(f"SELECT min(id) FROM {Theme._meta.db_table}")
    insert_select(Plan, {"name": "'Business plan ' || g"}, "generate_series(1, %s) g", [PLANS])
    plan0 = _one(f"SELECT min(id) FROM {Plan._meta.db_table}")
    plan_type = ContentType.objects.get_for_model(Plan).pk
    insert_select(
        Recommendation,
        {
            "text": "'Recommendation ' || g",
            "reference": "g::text",
            "source_type": str(plan_type),
            "source_id": f"{plan0} + g % {PLANS}",
            "theme": f"{theme0} + g % 10",
            "chair": f"CASE WHEN g % 5 <> 0 THEN {user_id['chair']} + g % {CHAIRS} END",
        },
        "generate_series(1, %s) g",
        [RECOMMENDATIONS],
    )
    rec0 = _one(f"SELECT min(id) FROM {Recommendation._meta.db_table}")

    # Open actions: 97% chased (agreed or in progress), 2% awaiting sign-off, 1% drafts; then N/10 closed.
    action = {
        "recommendation": f"{rec0} + g % {RECOMMENDATIONS}",
        "reference": "g::text",
        "description": "'Bench action ' || g || ': make sure every referral is acknowledged in writing'",
        "owner": f"CASE WHEN g % 200 <> 0 THEN {user_id['owner']} + (g * 13) % {OWNERS} END",
        # The owner's agency (owner k works for agency k % 150).
        "agency": f"{agency0} + (CASE WHEN g % 200 <> 0 THEN (g * 13) % {OWNERS} + 1 ELSE g END) "
        f"% {AGENCIES}",
        "due_on": "CASE WHEN g % 100 <> 50 THEN %s::date + ((g::bigint * 7919) % 240 - 150)::int END",
        "original_due_on": "%s::date + ((g::bigint * 7919) % 240 - 150)::int",
        "priority": "(ARRAY['high', 'medium', 'low'])[1 + g % 3]",
        "theme": f"CASE WHEN g % 3 = 0 THEN {theme0} + g % 10 END",
        "state": "CASE WHEN g % 100 = 0 THEN 'awaiting_sign_off' WHEN g % 100 = 1 THEN 'draft' "
        "WHEN g % 5 = 2 THEN 'agreed' ELSE 'in_progress' END",
        "reopened_count": "CASE WHEN g % 50 = 7 THEN 1 ELSE 0 END",
        "last_progress_on": "%s::date - g % 90",
    }
    insert_select(Action, action, "generate_series(1, %s) g", [on, on, on, n])
    closed = action | {
        "reference": "'C' || g",
        "state": "CASE WHEN g % 4 = 0 THEN 'discontinued' ELSE 'completed' END",
        "completed_on": "%s::date - g % 300",
    }
    insert_select(Action, closed, "generate_series(1, %s) g", [on, on, on, on, n // 10])

    manager = _one("SELECT id FROM auth_user WHERE username = %s", [MANAGER])
    insert_select(
        ChasePause,
        {
            "source_type": str(plan_type),
            "source_id": f"{plan0} + g",
            "reason": "'Plan under review by the executive'",
            "paused_by": str(manager),
            "paused_at": "now()",
        },
        "generate_series(0, %s) g",
        [PAUSED_PLANS - 1],
    )

    reviews, audits = min(REVIEWS, max(5, n // 3_000)), min(AUDITS, max(1, n // 100_000))
    # Rapid reviews, each with its Panel notification and rapid review clocks, a tenth of them met.
    insert_select(
        RapidReview,
        {
            "reference": "'RR-' || g",
            "child_reference": "'Child ' || g",
            "incident_type": "'serious_harm'",
            "became_aware_on": "%s::date - g % 30",
            "lead": f"{user_id['owner']} + g",
            "chair": f"{user_id['chair']} + g % {CHAIRS}",
            "state": "'information_gathering'",
        },
        "generate_series(1, %s) g",
        [on, reviews],
    )
    review_type = ContentType.objects.get_for_model(RapidReview).pk
    insert_select(
        StatutoryClock,
        {
            "name": "c.name",
            "label": "c.name || ' of ' || r.reference",
            "source_type": str(review_type),
            "source_id": "r.id",
            "starts_on": "r.became_aware_on",
            "length": "c.length",
            "unit": "'working_days'",
            "due_on": "%s::date + (r.id % 60 - 40 + c.length)::int",
            "met_on": "CASE WHEN r.id % 10 = 0 THEN r.became_aware_on END",
            "owner": "r.lead_id",
            "agency": f"{agency0} + (r.lead_id - {user_id['owner']} + 1) % {AGENCIES}",
            "chair": "r.chair_id",
        },
        f"{RapidReview._meta.db_table} r, "
        "(VALUES ('panel_notification', 5), ('rapid_review', 15)) AS c(name, length)",
        [on],
    )

    # Audits in fieldwork: each case's return owed by 10 agencies.
    insert_select(
        Audit,
        {
            "reference": "'AUD-' || g",
            "title": "'Multi-agency audit ' || g",
            "chair": f"{user_id['chair']} + g",
            "returns_due_on": "%s::date + (g * 3 - 20)",
            "state": "'fieldwork'",
        },
        "generate_series(1, %s) g",
        [on, audits],
    )
    insert_select(
        AuditCase,
        {"audit": "a.id", "reference": "'Case ' || g"},
        f"{Audit._meta.db_table} a, generate_series(1, %s) g",
        [CASES_PER_AUDIT],
    )
    insert_select(
        AgencyReturn,
        {
            "case": "c.id",
            "agency": f"{agency0} + (c.id + g) % {AGENCIES}",
            # Someone of the agency (owner k works for agency k % 150); one in ten returns has nobody named.
            "owner": f"CASE WHEN (c.id + g) % 10 <> 0 THEN {user_id['owner']} - 1 + (c.id + g) % {AGENCIES} "
            f"+ {AGENCIES} * (1 + c.id % 30) END",
            "title": "'Return for ' || c.reference",
            "due_on": "a.returns_due_on",
            "state": "'owed'",
        },
        f"{AuditCase._meta.db_table} c JOIN {Audit._meta.db_table} a ON a.id = c.audit_id, "
        "generate_series(1, %s) g",
        [AGENCIES_PER_AUDIT],
    )

    policy = ChasePolicy.current()
    policy.confirmed_at = timezone.now()
    policy.confirmed_by_id = manager
    policy.save()
    policy.business_managers.set(User.objects.filter(username__in=BUSINESS_MANAGERS))
    with connection.cursor() as cursor:
        # What autovacuum leaves a table in: statistics, and the visibility map index-only scans need.
        cursor.execute("VACUUM ANALYZE")
    assert Group.objects.filter(name=roles.AGENCY_LEAD).exists(), "bench: roles not migrated"
