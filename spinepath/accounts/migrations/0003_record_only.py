"""Names that are only on records (the synthetic cohort's clinicians) can never sign in."""

from django.db import migrations, models


def mark_synthetic_clinicians(apps, schema_editor):  # type: ignore[no-untyped-def]
    User = apps.get_model("auth", "User")
    StaffAccount = apps.get_model("accounts", "StaffAccount")
    for user in User.objects.filter(username__startswith="synthetic.clinician"):
        StaffAccount.objects.update_or_create(user=user, defaults={"record_only": True})
        if not user.password.startswith("!"):
            user.password = "!"  # unusable
            user.save(update_fields=["password"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_staff_accounts")]

    operations = [
        migrations.AddField(
            model_name="staffaccount",
            name="record_only",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_synthetic_clinicians, migrations.RunPython.noop),
    ]
