# The escalation level is derived in SQL from the due date and the policy (workflows/deadlines.py), not
# stored and bulk-updated by the sweep. Nothing has been released, so the stored copies simply go.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('reviews', '0002_history_without_escalation_level'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='chronology',
            name='escalation_level',
        ),
    ]
