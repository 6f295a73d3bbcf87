"""The daily sweep at N open actions on PostgreSQL, each figure beside its floor measured in the same run.

    .venv/bin/python bench/sweep_bench.py [N ...] [--repeat R]      (default: 10000 1000000, R=3)

Measured, each on a fresh copy of the generated database (files copied, every table and index read
into shared buffers first), committed:
- the first sweep ever (empty outbox) on the sweep date D, against its floor: one plain INSERT ...
  SELECT that computes every entry the sweep should write on D and writes it;
- the next working day's sweep (D+1, after D's sweep was committed by the code under test), against
  its floor: one INSERT ... SELECT that computes only the entries new on D+1 (what differs between D
  and D+1 for each item: rule, weekly period, rung) and writes them;
- the sweep's query count (compare the sizes: it must not grow with N) and this process's peak
  resident memory during the sweep.
Each floor is checked to write exactly the entries the sweep wrote (a count and checksum per rule),
so it is an honest floor, not a cheaper job. Targets (issue 16): next day <= 2x its floor, first
sweep <= 3x, queries independent of N, peak memory < 300 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: I001  (sets Django up first)
    clone,
    data,
    peak_memory_mb,
    prepare,
    prewarm,
    require_postgresql,
    reset_peak_memory,
    server_settings,
    spread,
    timed,
    use,
    verdict,
)
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audits.models import AgencyReturn
from bench.generate import insert_select
from notifications.models import ChasePolicy, OutboxEntry
from notifications.ladder import Reach
from notifications.sweep import sweep
from workflows.calendar import working_calendar
from workflows.models import Action, StatutoryClock

NEVER = dt.date(1900, 1, 1)


def _dates(policy: ChasePolicy, on: dt.date, prefix: str) -> dict[str, Any]:
    """The policy's thresholds for a sweep on ``on``, worked out once on the calendar."""
    calendar = working_calendar()
    return {
        f"{prefix}": on,
        f"{prefix}_first": calendar.add_working_days(on, policy.first_reminder_working_days),
        f"{prefix}_second": calendar.add_working_days(on, policy.second_reminder_working_days),
        f"{prefix}_repeat": on - dt.timedelta(days=policy.overdue_repeat_days),
        f"{prefix}_r1": on - dt.timedelta(days=policy.escalation_1_days),
        f"{prefix}_r2": on - dt.timedelta(days=policy.escalation_2_days),
        f"{prefix}_r3": on - dt.timedelta(days=policy.escalation_3_days),
    }


def _rule(p: str) -> str:
    return (
        f"CASE WHEN due > %({p}_second)s THEN 'remind_first' WHEN due > %({p})s THEN 'remind_second' "
        f"WHEN due > %({p}_repeat)s THEN 'due' ELSE 'overdue' END"
    )


def _period(p: str) -> str:
    return f"CASE WHEN due <= %({p}_repeat)s THEN (%({p})s::date - due) / %(repeat)s ELSE 0 END"


def _rung(p: str) -> str:
    return (
        f"CASE WHEN due <= %({p}_r3)s THEN 3 WHEN due <= %({p}_r2)s THEN 2 "
        f"WHEN due <= %({p}_r1)s THEN 1 ELSE 0 END"
    )


def floor(on: dt.date, previous: dt.date | None) -> int:
    """One plain INSERT ... SELECT writing the entries new on ``on``, given that the sweep of
    ``previous`` (None: no sweep ever) was the last and nothing changed since: per item, the rule,
    weekly period and rung on both dates, and an entry wherever they differ."""
    policy = ChasePolicy.current()
    reach = Reach.current(policy)
    params: dict[str, Any] = {
        **_dates(policy, on, "d"),
        **_dates(policy, previous or NEVER, "p"),
        "repeat": policy.overdue_repeat_days,
        "managers": reach.business_managers,
        "executives": [e for e in reach.executives if e not in reach.business_managers],
        "action": ContentType.objects.get_for_model(Action).pk,
        "clock": ContentType.objects.get_for_model(StatutoryClock).pk,
        "return": ContentType.objects.get_for_model(AgencyReturn).pk,
    }
    reachable = "({u}.id IS NOT NULL AND {u}.is_active AND {u}.email <> '')"
    paused = (
        "EXISTS (SELECT 1 FROM notifications_chasepause cp WHERE cp.resumed_at IS NULL "
        "AND cp.source_type_id = {t} AND cp.source_id = {i})"
    )
    owner_new = "NOT (seen_p AND rule_p = rule_d AND per_p = per_d)"
    manager_overdue_new = "rung_d = 3 AND NOT (rung_p = 3 AND per_p = per_d)"
    columns = "t, id, due, rnd"
    entries = f"""
        WITH leads AS (
            SELECT DISTINCT p.agency_id, u.id AS lead
            FROM workflows_person p JOIN auth_user u ON u.id = p.user_id
            JOIN auth_user_groups ug ON ug.user_id = u.id
            JOIN auth_group_permissions gp ON gp.group_id = ug.group_id
            JOIN auth_permission perm ON perm.id = gp.permission_id
            WHERE perm.codename = 'view_agency_work' AND u.is_active AND u.email <> ''
        ), items AS (
            SELECT %(action)s AS t, a.id, a.due_on AS due, a.owner_id AS owner, a.agency_id AS agency,
                r.chair_id AS chair, a.reopened_count AS rnd
            FROM workflows_action a JOIN workflows_recommendation r ON r.id = a.recommendation_id
            WHERE a.state IN ('agreed', 'in_progress') AND a.due_on <= %(d_first)s
                AND NOT {paused.format(t="r.source_type_id", i="r.source_id")}
            UNION ALL
            SELECT %(clock)s, c.id, c.due_on, c.owner_id, c.agency_id, c.chair_id, 0
            FROM workflows_statutoryclock c
            WHERE c.met_on IS NULL AND c.due_on <= %(d_first)s
                AND NOT {paused.format(t="c.source_type_id", i="c.source_id")}
            UNION ALL
            SELECT %(return)s, ar.id, ar.due_on, ar.owner_id, ar.agency_id, au.chair_id, 0
            FROM audits_agencyreturn ar JOIN audits_auditcase ac ON ac.id = ar.case_id
            JOIN audits_audit au ON au.id = ac.audit_id
            WHERE ar.state = 'owed' AND au.state = 'fieldwork' AND ar.due_on <= %(d_first)s
        ), s AS (
            SELECT items.*, {_rule("d")} AS rule_d, {_period("d")} AS per_d, {_rung("d")} AS rung_d,
                due <= %(p_first)s AS seen_p, {_rule("p")} AS rule_p, {_period("p")} AS per_p,
                {_rung("p")} AS rung_p
            FROM items
        ), o AS (
            SELECT s.*, {reachable.format(u="ou")} AS reach_owner,
                CASE WHEN s.owner IS NULL THEN 'it has no owner'
                    WHEN NOT ou.is_active THEN 'its owner''s account is deactivated'
                    ELSE 'its owner has no email address' END AS gap,
                lm.id AS lm, {reachable.format(u="lm")} AS reach_lm,
                ch.id AS ch, {reachable.format(u="ch")} AS reach_ch
            FROM s LEFT JOIN auth_user ou ON ou.id = s.owner
            LEFT JOIN workflows_person op ON op.user_id = s.owner
            LEFT JOIN auth_user lm ON lm.id = op.line_manager_id
            LEFT JOIN auth_user ch ON ch.id = s.chair
            WHERE {owner_new} OR rung_d > rung_p
        )
        SELECT {columns}, owner AS recipient, rule_d AS rule, per_d AS period, '' AS gap, false AS copy
        FROM o WHERE reach_owner AND {owner_new}
        UNION ALL
        SELECT {columns}, leads.lead, rule_d, per_d, gap, false
        FROM o JOIN leads ON leads.agency_id = o.agency WHERE NOT reach_owner AND {owner_new}
        UNION ALL
        SELECT {columns}, owner, 'escalation_' || rung_d, 0, '', true
        FROM o WHERE reach_owner AND rung_d > rung_p
        UNION ALL
        SELECT {columns}, lm, 'escalation_1', 0, '', false FROM o WHERE rung_d = 1 AND rung_p < 1 AND reach_lm
        UNION ALL
        SELECT {columns}, leads.lead, 'escalation_1', 0, '', false
        FROM o JOIN leads ON leads.agency_id = o.agency WHERE rung_d = 1 AND rung_p < 1 AND NOT reach_lm
        UNION ALL
        SELECT {columns}, ch, 'escalation_2', 0, '', false FROM o WHERE rung_d = 2 AND rung_p < 2 AND reach_ch
        UNION ALL
        SELECT {columns}, m, 'escalation_' || rung_d, 0, '', false
        FROM o, unnest(%(managers)s::bigint[]) m WHERE rung_d >= 2 AND rung_d > rung_p
        UNION ALL
        SELECT {columns}, x, 'escalation_3', 0, '', false
        FROM o, unnest(%(executives)s::bigint[]) x WHERE rung_d = 3 AND rung_p < 3
        UNION ALL
        SELECT {columns}, m, 'overdue', per_d, '', false
        FROM o, unnest(%(managers)s::bigint[]) m WHERE {manager_overdue_new}
    """
    # Named parameters in the CTE, one statement; every other outbox column takes its default.
    entries = connection.ops.compose_sql(entries, params)  # type: ignore[attr-defined]  # PostgreSQL's
    return insert_select(
        OutboxEntry,
        {
            "item_type": "e.t",
            "item_id": "e.id",
            "recipient": "e.recipient",
            "rule": "e.rule",
            "due_on": "e.due",
            "period": "e.period",
            "round": "e.rnd",
            "sweep_date": f"'{on.isoformat()}'::date",
            "gap": "e.gap",
            "is_copy": "e.copy",
        },
        f"({entries}) AS e",
    )


def max_outbox_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM notifications_outboxentry")
        return int(cursor.fetchone()[0])


def checksum(after_id: int) -> dict[str, tuple[int, int]]:
    """Per rule (and copy or not): how many entries were written after ``after_id``, and a checksum of
    their keys, recipients, gaps and copy flags."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rule || CASE WHEN is_copy THEN ' (copy)' ELSE '' END, count(*), "
            "sum(hashtextextended(concat_ws('|', item_type_id, item_id, recipient_id, rule, due_on, "
            "period, round, gap, is_copy), 0)) FROM notifications_outboxentry WHERE id > %s GROUP BY 1",
            [after_id],
        )
        return {rule: (count, int(total)) for rule, count, total in cursor.fetchall()}


def compare(sweep_rows: dict[str, tuple[int, int]], floor_rows: dict[str, tuple[int, int]]) -> str:
    if sweep_rows == floor_rows:
        return "the floor wrote exactly the sweep's entries"
    differ = [
        f"{rule}: sweep {sweep_rows.get(rule, (0, 0))[0]:,}, floor {floor_rows.get(rule, (0, 0))[0]:,}"
        for rule in sorted(set(sweep_rows) | set(floor_rows))
        if sweep_rows.get(rule) != floor_rows.get(rule)
    ]
    return "FLOOR DIFFERS from the sweep (its ratio is not honest): " + "; ".join(differ)


@dataclass
class Figures:
    seconds: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    entries: int = 0
    queries: int = 0
    peak_mb: float = 0.0
    same: str = ""

    def ratio(self) -> float:
        return median(self.seconds) / median(self.floor)


def run_sweep(on: dt.date, figures: Figures) -> dict[str, tuple[int, int]]:
    before = max_outbox_id()
    reset_peak_memory()
    with CaptureQueriesContext(connection) as queries:
        seconds, result = timed(lambda: sweep(on=on, describe=False))
    figures.seconds.append(seconds)
    figures.peak_mb = max(figures.peak_mb, peak_memory_mb())
    figures.queries = len(queries)
    figures.entries = result.count
    return checksum(before)


def run_floor(on: dt.date, previous: dt.date | None, figures: Figures) -> dict[str, tuple[int, int]]:
    before = max_outbox_id()
    seconds, _ = timed(lambda: floor(on, previous))
    figures.floor.append(seconds)
    return checksum(before)


def bench(n: int, repeat: int) -> dict[str, Figures]:
    template, on = data(n)
    next_day = working_calendar().add_working_days(on, 1)
    # Its own copy after the first sweep (the pages' and delivery's benchmarks keep bench_s<N>), so
    # they may run beside it.
    swept = f"bench_sweep_s{n}"
    first, nxt = Figures(), Figures()
    for i in range(repeat):
        # The first sweep, on a copy then kept as the template of the next day's runs.
        clone(template, swept)
        prewarm()
        first_rows = run_sweep(on, first)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        clone(template)
        prewarm()
        first_floor_rows = run_floor(on, None, first)
        clone(swept)
        prewarm()
        next_floor_rows = run_floor(next_day, on, nxt)
        clone(swept)
        prewarm()
        next_rows = run_sweep(next_day, nxt)
        if i == 0:
            first.same = compare(first_rows, first_floor_rows)
            nxt.same = compare(next_rows, next_floor_rows)
    use("postgres")
    return {"first": first, "next": nxt}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    require_postgresql()
    print(server_settings(), flush=True)
    prepare(args.sizes)
    results = {}
    for n in args.sizes:
        results[n] = figures = bench(n, args.repeat)
        for key, label, target in (
            ("first", "first sweep", 3.0),
            ("next", "next working day's sweep", 2.0),
        ):
            f = figures[key]
            ratio = f.ratio()
            print(
                f"N={n:,}: {label}: {spread(f.seconds)}, {f.entries:,} entries, {f.queries} queries, "
                f"peak memory {f.peak_mb:.0f} MB | floor {spread(f.floor)} | {ratio:.1f}x floor "
                f"(target <= {target:.0f}x: {verdict(ratio <= target)}); {f.same}",
                flush=True,
            )
    largest = max(results)
    peak = max(f.peak_mb for f in results[largest].values())
    print(
        f"Peak memory of the sweeping process at N={largest:,}: {peak:.0f} MB (target < 300 MB: "
        f"{verdict(peak < 300)})"
    )
    if len(results) > 1:
        counts = {n: (r["first"].queries, r["next"].queries) for n, r in results.items()}
        same = len(set(counts.values())) == 1
        shown = ", ".join(f"N={n:,}: {a} and {b}" for n, (a, b) in counts.items())
        print(f"Queries (first sweep and next day's): {shown} (independent of N: {verdict(same)})")


if __name__ == "__main__":
    main()
