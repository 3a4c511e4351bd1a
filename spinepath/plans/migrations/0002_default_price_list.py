"""The clinic's starting price list (see spinepath/plans/defaults.py)."""

from django.db import migrations

from spinepath.plans.defaults import ensure_default_prices


def create(apps, schema_editor):
    ensure_default_prices(
        apps.get_model("plans", "PriceItem"),
        apps.get_model("plans", "PriceVersion"),
        apps.get_model("plans", "FinancingTerms"),
    )


class Migration(migrations.Migration):
    dependencies = [("plans", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
