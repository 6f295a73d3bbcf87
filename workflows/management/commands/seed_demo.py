from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand

from workflows import demo


class Command(BaseCommand):
    help = "Create or refresh the demo partnership and print its logins. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        context = demo.seed()
        # Other apps add their own demo data by providing demo.seed(context); workflows imports none of them.
        for config in apps.get_app_configs():
            if config.name == "workflows" or find_spec(f"{config.name}.demo") is None:
                continue
            import_module(f"{config.name}.demo").seed(context)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo partnership ready. Sign in with any of these (password: {demo.DEMO_PASSWORD}):"
            )
        )
        for username, role_names in context.logins:
            self.stdout.write(f"  {username:<18} {role_names}")
