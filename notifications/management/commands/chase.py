import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from notifications.models import ChasePolicy
from notifications.sweep import sweep
from notifications.tasks import request_delivery


class Command(BaseCommand):
    help = "Run the chasing sweep for a date in the foreground (or, with --dry-run, say what it would add)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=dt.date.fromisoformat, help="YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--dry-run", action="store_true", help="Add nothing; print what a real run would add now"
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        on = options["date"] or timezone.localdate()
        dry_run = options["dry_run"]
        if not dry_run and ChasePolicy.current().confirmed_at is None:
            raise CommandError(
                "Chasing is not switched on yet: a manager confirms the first sweep on the chasing preview "
                "page. Use --dry-run to see what it would send."
            )
        result = sweep(on=on, dry_run=dry_run)
        if not dry_run:
            request_delivery()
        if options["json"]:
            payload = {
                "sweep_date": on.isoformat(),
                "dry_run": dry_run,
                "entries": [entry.as_json() for entry in result.entries],
            }
            self.stdout.write(json.dumps(payload, indent=2))
            return
        verb = "Would add" if dry_run else "Added"
        self.stdout.write(f"{verb} {result.count} outbox entr{'y' if result.count == 1 else 'ies'} for {on}")
        for entry in result.entries:
            gap = f" (because {entry.gap})" if entry.gap else ""
            self.stdout.write(
                f"  {entry.recipient:<20} {entry.rule:<14} {entry.item_type} {entry.item_id} "
                f"due {entry.due_on}{gap}"
            )
