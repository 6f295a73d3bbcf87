"""The one chase policy row exists from the start, so reading it (every /chasing/ view) never writes."""

from typing import Any

from django.db import migrations


def create_policy(apps: Any, schema_editor: Any) -> None:
    apps.get_model("notifications", "ChasePolicy").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_dashboard_snapshot")]

    operations = [migrations.RunPython(create_policy, migrations.RunPython.noop)]
