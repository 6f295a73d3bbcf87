"""Faults at scale: a few thousand outbox entries delivered by three real Celery workers through a real
SMTP server while things break. Nothing may be lost; a message may go twice only inside the window between
the mail server accepting it and the worker committing that it did (at most one digest per killed worker
or timed-out send), and then with the same Message-ID.

Each test prints its figures (entries, messages, lost, duplicates, seconds), kept in notes/faults.md.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter

import pytest

from .conftest import ACTIONS, GIANT, MAX_ATTEMPTS, OWNERS, Stack
from .harness import ROOT, Tally, run_django, timed, wait_until

pytestmark = pytest.mark.faults

# /healthz as a monitor reads it, from a process of the project's own (the suite's process has no app).
HEALTHZ = (
    "import django; django.setup(); from django.test import Client; "
    "print(Client().get('/healthz').content.decode())"
)


def report(name: str, tally: Tally, seconds: float, stack: Stack | None = None, **extra: object) -> None:
    more = "".join(f", {k}={v}" for k, v in extra.items())
    print(f"\nFAULTS {name}: {tally.summary()} in {seconds:.1f} s{more}")
    if stack is not None:
        messages = stack.sink.messages()
        counts = Counter(a for m in messages for a in m["to"])
        for m in messages:
            if any(counts[a] > 1 for a in m["to"]):
                print("  more than one:", m["to"], len(m["entries"]), m["message_id"], m["subject"])


def assert_nothing_lost(tally: Tally) -> None:
    assert tally.entries >= OWNERS * ACTIONS * 3
    assert tally.lost == [], f"{len(tally.lost)} entries no message carried: {tally.lost[:20]}"
    assert tally.pending == 0
    assert tally.misaddressed == []


def test_everyone_gets_one_digest_and_a_giant_recipient_holds_up_nobody(stack: Stack) -> None:
    """The giant's digest carries every one of its entries, and is one digest; the others are served
    meanwhile by the other workers."""
    with timed() as elapsed:
        with stack.beat():
            stack.drain()
        tally = stack.tally()
    messages = stack.sink.messages()
    giant = [m for m in messages if GIANT in m["to"]]
    first = min(m["t"] for m in messages)
    others_done = max(m["t"] for m in messages if GIANT not in m["to"])
    report(
        "plain delivery, giant recipient",
        tally,
        elapsed(),
        giant_sent_after=f"{giant[0]['t'] - first:.1f}s",
        others_done_after=f"{others_done - first:.1f}s",
    )
    assert_nothing_lost(tally)
    assert tally.duplicate_messages == 0
    assert tally.recipients == tally.messages  # one digest each, the giant's too
    assert len(giant) == 1 and len(giant[0]["entries"]) == OWNERS * ACTIONS


def test_workers_killed_repeatedly_during_delivery_lose_nothing_and_resend_only_inside_the_window(
    stack: Stack,
) -> None:
    kills = 6
    rng = random.Random(16)
    with timed() as elapsed:
        with stack.beat():
            for n in range(kills):
                # Kill just after the mail server accepted a message, every 15 to 30 messages: sometimes
                # inside the window between acceptance and commit, where a resend may come from.
                target = stack.delivered() + rng.randrange(15, 30)

                def further(target: int = target) -> bool:
                    return stack.delivered() >= target or stack.pending() == 0

                wait_until(further, 120, f"delivery to go on before kill {n + 1}")
                stack.workers.kill_one(rng.randrange(stack.workers.count))
            stack.drain()
        tally = stack.tally()
    report("kill -9 workers", tally, elapsed(), killed=stack.killed)
    assert_nothing_lost(tally)
    assert tally.duplicate_messages <= stack.killed
    assert tally.duplicates_with_new_message_id == 0


def test_mail_server_refusing_for_a_while_loses_nothing(stack: Stack) -> None:
    with timed() as elapsed:
        stack.sink.set_mode("refuse")
        with stack.beat():
            wait_until(
                lambda: len(stack.sink.messages("refused")) >= 30, 120, "the mail server to refuse 30 digests"
            )
            stack.sink.set_mode("accept")
            stack.clear_fault()
            stack.drain()
        tally = stack.tally()
    refused = len(stack.sink.messages("refused"))
    report("SMTP 451", tally, elapsed(), refused=refused)
    assert_nothing_lost(tally)
    assert tally.duplicate_messages == 0


def test_mail_server_hanging_times_out_and_frees_the_workers(stack: Stack) -> None:
    """The mail server reads each digest and says nothing; it delivers them all the same when it wakes, the
    worst case: a worker that timed out may send the digest again, once, with the same Message-ID."""
    timed_out_people = (
        "SELECT count(DISTINCT recipient_id) FROM notifications_outboxentry "
        "WHERE status = 'pending' AND last_error ILIKE '%%timed out%%'"
    )
    with timed() as elapsed:
        stack.sink.set_mode("hang-deliver")
        with stack.beat():
            # Every worker sent into the silence, gave up on its socket timeout and recorded why; then at
            # least one went on to the next person (freed, not stuck).
            wait_until(
                lambda: stack.scalar(timed_out_people) >= stack.workers.count + 1,
                120,
                "every worker to time out on the hanging mail server and go on",
            )
            stack.sink.set_mode("accept")
            stack.clear_fault()
            stack.drain()
        tally = stack.tally()
    timed_out_sends = sum(1 for m in stack.sink.messages() if m["sender_gone"])
    report("SMTP hanging", tally, elapsed(), stack, timed_out_sends=timed_out_sends)
    assert_nothing_lost(tally)
    assert timed_out_sends >= stack.workers.count
    assert tally.duplicate_messages <= timed_out_sends
    assert tally.duplicates_with_new_message_id == 0


def test_redis_restarted_during_delivery_loses_nothing(stack: Stack) -> None:
    with timed() as elapsed:
        with stack.beat():
            wait_until(lambda: stack.delivered() >= 40, 120, "delivery to be under way")
            stack.redis.kill()  # its queue goes with it: nothing persisted
            stack.redis.start()
            stack.drain()
        tally = stack.tally()
    report("Redis restarted", tally, elapsed())
    assert_nothing_lost(tally)
    assert tally.duplicate_messages == 0


def test_postgresql_restarted_during_delivery_loses_nothing(stack: Stack) -> None:
    with timed() as elapsed:
        with stack.beat():
            wait_until(lambda: stack.delivered() >= 40, 120, "delivery to be under way")
            stack.postgres.stop("immediate")  # a crash: open transactions are gone
            stack.postgres.start()
            stack.clear_fault()
            stack.drain()
        tally = stack.tally()
    report("PostgreSQL restarted", tally, elapsed())
    assert_nothing_lost(tally)
    # Only a worker between the mail server's acceptance and its commit when the database went can resend.
    assert tally.duplicate_messages <= stack.workers.count
    assert tally.duplicates_with_new_message_id == 0


def test_two_sweeps_at_once_write_and_deliver_each_entry_once(unswept_stack: Stack) -> None:
    stack = unswept_stack
    with timed() as elapsed:
        with stack.beat():
            sweeps = [
                subprocess.Popen(
                    [sys.executable, "manage.py", "chase"],
                    cwd=ROOT,
                    env=stack.env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            outputs = [s.communicate(timeout=300) for s in sweeps]
            assert [s.returncode for s in sweeps] == [0, 0], outputs
            stack.drain()
        tally = stack.tally()
    report("two sweeps at once", tally, elapsed(), sweeps=[o[0].strip().splitlines()[0] for o in outputs])
    assert_nothing_lost(tally)
    assert tally.duplicate_messages == 0
    assert tally.recipients == tally.messages


def test_person_emptied_or_deactivated_after_the_sweep_gets_nothing_and_the_fallback_is_told(
    stack: Stack,
) -> None:
    emptied = ["owner0001", "owner0002", "owner0003"]
    deactivated = ["owner0004", "owner0005"]
    addresses = {f"{u}@example.org" for u in emptied + deactivated}
    stack.sql("UPDATE auth_user SET email = '' WHERE username = ANY(%s)", emptied)
    stack.sql("UPDATE auth_user SET is_active = false WHERE username = ANY(%s)", deactivated)
    theirs = [
        pk
        for (pk,) in stack.sql(
            "SELECT o.id FROM notifications_outboxentry o JOIN auth_user u ON u.id = o.recipient_id "
            "WHERE u.username = ANY(%s)",
            emptied + deactivated,
        )
    ]
    with timed() as elapsed:
        with stack.beat():
            stack.drain()
        tally = stack.tally()
    report("emptied/deactivated after the sweep", tally, elapsed(), their_entries=len(theirs))
    messages = stack.sink.messages()
    assert not [m for m in messages if set(m["to"]) & addresses or "" in m["to"]]
    # Each of their entries was passed on, not marked sent: a copy with the gap recorded went to someone
    # who can act (the item's agency lead), and a message carrying that copy was accepted.
    assert {
        status
        for (status,) in stack.sql(
            "SELECT DISTINCT status FROM notifications_outboxentry WHERE id = ANY(%s)", theirs
        )
    } == {"redirected"}
    copies = stack.sql(
        "SELECT o.id, c.id, c.gap, u.username FROM notifications_outboxentry o "
        "JOIN notifications_outboxentry c ON c.id > o.id AND c.gap <> '' AND "
        "(c.item_type_id, c.item_id, c.rule, c.due_on, c.period, c.round) "
        "= (o.item_type_id, o.item_id, o.rule, o.due_on, o.period, o.round) "
        "JOIN auth_user u ON u.id = c.recipient_id WHERE o.id = ANY(%s)",
        theirs,
    )
    assert {original for original, *_ in copies} == set(theirs)
    assert all(username.startswith("lead") for *_, username in copies), copies[:5]
    assert tally.lost == [] and tally.pending == 0 and tally.misaddressed == []


def test_an_entry_that_keeps_failing_is_given_up_and_surfaced_while_everyone_else_is_served(
    stack: Stack,
) -> None:
    refused = "owner0007@example.org"
    stack.sink.set_mode(f"refuse-to {refused}")
    stack.clear_fault()  # its retries come at once: the suite does not wait the backoff out
    with timed() as elapsed:
        with stack.beat():
            stack.drain()
        tally = stack.tally()
    report("one address always refused", tally, elapsed(), refusals=len(stack.sink.messages("refused")))
    failed = stack.sql(
        "SELECT o.status, o.attempts, o.last_error FROM notifications_outboxentry o "
        "JOIN auth_user u ON u.id = o.recipient_id WHERE u.email = %s",
        refused,
    )
    assert failed and all(status == "failed" and error for status, _, error in failed)
    assert {attempts for _, attempts, _ in failed} == {MAX_ATTEMPTS}
    assert set(tally.lost) == {
        pk
        for (pk,) in stack.sql(
            "SELECT o.id FROM notifications_outboxentry o JOIN auth_user u ON u.id = o.recipient_id "
            "WHERE u.email = %s",
            refused,
        )
    }
    health = json.loads(run_django(stack.env, "-c", HEALTHZ))
    assert health["outbox"]["failed"] == len(failed)
