import json
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflows.imports.reading import check_size, read_sheet
from workflows.services.plan_import import plan_import


class Command(BaseCommand):
    help = (
        "Import an action plan from a .csv or .xlsx file: all of it, or with any error nothing. "
        "Importing the same file again creates nothing new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="read and check everything, save nothing")
        parser.add_argument("--json", action="store_true", help="print one JSON object: rows, created, ...")
        parser.add_argument("--source", help="the plan's name (default: the file's name)")
        parser.add_argument(
            "--as-user",
            default=None,
            help="the manager recorded as importing (default: the first active superuser)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path} does not exist")
        actor = self._actor(options["as_user"])
        try:
            check_size(path.stat().st_size)  # before the file is read into memory
            sheet = read_sheet(path.name, path.read_bytes())
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        result = plan_import(
            actor=actor, sheet=sheet, source=options["source"] or path.stem, dry_run=options["dry_run"]
        )
        summary = result.summary()
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False))
        else:
            for problem in summary["errors"]:
                self.stderr.write(f"row {problem['row']}, column “{problem['column']}”: {problem['message']}")
            for flagged in summary["flagged"]:
                self.stdout.write(
                    f"row {flagged['row']} ({flagged['reference']}): {'; '.join(flagged['why'])}"
                )
            self.stdout.write(
                f"{summary['rows']} rows: {summary['created']} created, {summary['updated']} updated, "
                f"{len(summary['flagged'])} flagged, {len(summary['errors'])} errors"
                + (" (dry run: nothing saved)" if options["dry_run"] else "")
            )
        if result.errors:
            raise CommandError(f"{len(result.errors)} errors: nothing was imported")

    def _actor(self, username: str | None) -> User:
        users = User.objects.filter(is_active=True)
        actor = (
            users.filter(username=username).first() if username else users.filter(is_superuser=True).first()
        )
        if actor is None:
            raise CommandError(
                f"no active user {username}" if username else "no active superuser: use --as-user"
            )
        if not actor.has_perm("workflows.import_plan"):
            raise CommandError(f"{actor.username} may not import plans")
        return actor
