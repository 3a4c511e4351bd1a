# Squashed: on a new database this migration stands for accounts 0001-0004.
# Each model is created whole, as the old migrations leave it (the same fields in
# the same order, so the same columns); the data and triggers they add come after.
# An installation that applied some of the old ones goes on with those (replaces); they
# stay until every installation has passed them (docs/operations.md).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Left out: 0003's mark_synthetic_clinicians, which changes users named
# synthetic.clinician*. This squash runs only where none of accounts' migrations has, and
# accounts 0001 came with the clinic's first migrations, so no user was made before it.


class Migration(migrations.Migration):
    replaces = [
        ("accounts", "0001_initial"),
        ("accounts", "0002_staff_accounts"),
        ("accounts", "0003_record_only"),
        ("accounts", "0004_wrong_current_passwords"),
    ]

    dependencies = [
        # Order only: after the other apps' migrations that alter models pointing at
        # the user (each such change re-renders every related model in the state, so
        # with this project's models in it they cost seconds).
        ("auth", "0012_alter_user_first_name_max_length"),
        ("oauth2_provider", "0022_refreshtoken_token_family_index"),
        ("otp_static", "0003_add_timestamps"),
        ("otp_totp", "0003_add_timestamps"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="StaffAccount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("demo", models.BooleanField(default=False)),
                ("password_change_required", models.BooleanField(default=False)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="staff_account",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("record_only", models.BooleanField(default=False)),
                ("wrong_current_passwords", models.PositiveSmallIntegerField(default=0)),
            ],
        ),
    ]
