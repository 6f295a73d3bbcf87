# The escalation level is derived in SQL from the due date and the policy (workflows/deadlines.py), not
# stored and bulk-updated by the sweep. Nothing has been released, so the stored copies simply go.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0013_exception_report_indexes'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='action',
            name='escalation_level',
        ),
        migrations.RemoveField(
            model_name='statutoryclock',
            name='escalation_level',
        ),
    ]
