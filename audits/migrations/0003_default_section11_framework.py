"""The default section 11 framework, shipped so a partnership can open its first cycle at once. An
administrator edits it by making a new version; this one stays as cycles used it."""

from django.db import migrations

from audits.section11_defaults import install_default

def add_default(apps, schema_editor):
    install_default(apps.get_model("audits", "Framework"), apps.get_model("audits", "Standard"))


def remove_default(apps, schema_editor):
    Framework = apps.get_model("audits", "Framework")
    framework = Framework.objects.filter(name="Section 11 standards", version=1, cycles__isnull=True).first()
    if framework is not None:
        framework.standards.all().delete()
        framework.delete()


class Migration(migrations.Migration):
    dependencies = [("audits", "0002_section11")]

    operations = [migrations.RunPython(add_default, remove_default)]
