# The escalation level is derived in SQL from the due date and the policy (workflows/deadlines.py), not
# stored and bulk-updated by the sweep. Nothing has been released, so the stored copies simply go.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('audits', '0005_section11_challenge_history'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='agencyreturn',
            name='escalation_level',
        ),
        migrations.RemoveField(
            model_name='section11challenge',
            name='escalation_level',
        ),
        migrations.RemoveField(
            model_name='section11return',
            name='escalation_level',
        ),
    ]
