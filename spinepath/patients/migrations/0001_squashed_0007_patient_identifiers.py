# Squashed: on a new database this migration stands for patients 0001-0007.
# Each model is created whole, as the old migrations leave it (the same fields in
# the same order, so the same columns); the data and triggers they add come after.
# An installation that applied some of the old ones goes on with those (replaces); they
# stay until every installation has passed them (docs/operations.md).

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

# Left out: the data migrations of 0002 (refold_name_keys) and 0006 (phones_to_e164):
# each rewrites patients' rows, and the table is made here.


class Migration(migrations.Migration):
    replaces = [
        ("patients", "0001_initial"),
        ("patients", "0002_search_form_and_history"),
        ("patients", "0003_patient_submission_key"),
        ("patients", "0004_contact_changes_held"),
        ("patients", "0005_contact_changed_by"),
        ("patients", "0006_reminder_choices_and_address"),
        ("patients", "0007_patient_identifiers"),
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
            name="Patient",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "mrn",
                    models.CharField(
                        max_length=20, null=True, unique=True, verbose_name="record number"
                    ),
                ),
                (
                    "external_id",
                    models.CharField(blank=True, max_length=64, null=True, unique=True),
                ),
                ("given_name", models.CharField(max_length=100, verbose_name="first name")),
                ("family_name", models.CharField(max_length=100, verbose_name="last name")),
                (
                    "birth_date",
                    models.DateField(
                        blank=True, db_index=True, null=True, verbose_name="date of birth"
                    ),
                ),
                (
                    "sex",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("female", "Female"),
                            ("male", "Male"),
                            ("other", "Other"),
                            ("unknown", "Unknown"),
                        ],
                        max_length=10,
                    ),
                ),
                ("email", models.EmailField(blank=True, max_length=254)),
                ("phone", models.CharField(blank=True, max_length=40)),
                (
                    "payer",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("self_pay", "Self-pay"),
                            ("commercial", "Commercial insurance"),
                            ("medicare_ab_supplement", "Medicare Parts A & B with supplement"),
                            ("medicare_ab", "Medicare Parts A & B"),
                            ("medicare_advantage", "Medicare Advantage"),
                            ("medicaid", "Medicaid"),
                            ("other", "Other"),
                        ],
                        max_length=30,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("family_key", models.CharField(db_index=True, editable=False, max_length=201)),
                ("given_key", models.CharField(db_index=True, editable=False, max_length=201)),
                (
                    "submission_key",
                    models.CharField(editable=False, max_length=64, null=True, unique=True),
                ),
                ("contact_held_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "contact_held_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "contact_previous_email",
                    models.EmailField(blank=True, editable=False, max_length=254),
                ),
                ("contact_changed_by", models.JSONField(blank=True, default=list, editable=False)),
                ("address_city", models.CharField(blank=True, max_length=100, verbose_name="city")),
                (
                    "address_line",
                    models.CharField(blank=True, max_length=200, verbose_name="street address"),
                ),
                ("address_state", models.CharField(blank=True, max_length=2, verbose_name="state")),
                ("distance_km", models.FloatField(blank=True, editable=False, null=True)),
                ("phone_wrong_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("postcode", models.CharField(blank=True, max_length=10, verbose_name="ZIP code")),
                ("remind_by_call", models.BooleanField(default=True, verbose_name="phone call")),
                ("remind_by_email", models.BooleanField(default=True, verbose_name="email")),
                (
                    "remind_by_letter",
                    models.BooleanField(default=True, verbose_name="letter by post"),
                ),
                ("remind_by_sms", models.BooleanField(default=True, verbose_name="text message")),
                (
                    "reminder_choices_at",
                    models.DateTimeField(blank=True, editable=False, null=True),
                ),
            ],
            options={
                "ordering": ["family_key", "id"],
            },
        ),
        migrations.CreateModel(
            name="HistoricalPatient",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                (
                    "mrn",
                    models.CharField(
                        db_index=True, max_length=20, null=True, verbose_name="record number"
                    ),
                ),
                (
                    "external_id",
                    models.CharField(blank=True, db_index=True, max_length=64, null=True),
                ),
                ("given_name", models.CharField(max_length=100, verbose_name="first name")),
                ("family_name", models.CharField(max_length=100, verbose_name="last name")),
                (
                    "birth_date",
                    models.DateField(
                        blank=True, db_index=True, null=True, verbose_name="date of birth"
                    ),
                ),
                (
                    "sex",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("female", "Female"),
                            ("male", "Male"),
                            ("other", "Other"),
                            ("unknown", "Unknown"),
                        ],
                        max_length=10,
                    ),
                ),
                ("email", models.EmailField(blank=True, max_length=254)),
                ("phone", models.CharField(blank=True, max_length=40)),
                (
                    "payer",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("self_pay", "Self-pay"),
                            ("commercial", "Commercial insurance"),
                            ("medicare_ab_supplement", "Medicare Parts A & B with supplement"),
                            ("medicare_ab", "Medicare Parts A & B"),
                            ("medicare_advantage", "Medicare Advantage"),
                            ("medicaid", "Medicaid"),
                            ("other", "Other"),
                        ],
                        max_length=30,
                    ),
                ),
                ("created_at", models.DateTimeField(blank=True, editable=False)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "submission_key",
                    models.CharField(db_index=True, editable=False, max_length=64, null=True),
                ),
                ("contact_held_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "contact_held_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "contact_previous_email",
                    models.EmailField(blank=True, editable=False, max_length=254),
                ),
                ("contact_changed_by", models.JSONField(blank=True, default=list, editable=False)),
                ("address_city", models.CharField(blank=True, max_length=100, verbose_name="city")),
                (
                    "address_line",
                    models.CharField(blank=True, max_length=200, verbose_name="street address"),
                ),
                ("address_state", models.CharField(blank=True, max_length=2, verbose_name="state")),
                ("distance_km", models.FloatField(blank=True, editable=False, null=True)),
                ("phone_wrong_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("postcode", models.CharField(blank=True, max_length=10, verbose_name="ZIP code")),
                ("remind_by_call", models.BooleanField(default=True, verbose_name="phone call")),
                ("remind_by_email", models.BooleanField(default=True, verbose_name="email")),
                (
                    "remind_by_letter",
                    models.BooleanField(default=True, verbose_name="letter by post"),
                ),
                ("remind_by_sms", models.BooleanField(default=True, verbose_name="text message")),
                (
                    "reminder_choices_at",
                    models.DateTimeField(blank=True, editable=False, null=True),
                ),
            ],
            options={
                "verbose_name": "historical patient",
                "verbose_name_plural": "historical patients",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalPatientIdentifier",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                ("system", models.CharField(max_length=255)),
                ("value", models.CharField(max_length=64)),
                ("added_at", models.DateTimeField(blank=True, editable=False)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "added_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="patients.patient",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical patient identifier",
                "verbose_name_plural": "historical patient identifiers",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="PatientIdentifier",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("system", models.CharField(max_length=255)),
                ("value", models.CharField(max_length=64)),
                ("added_at", models.DateTimeField(auto_now_add=True)),
                (
                    "added_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="identifiers",
                        to="patients.patient",
                    ),
                ),
            ],
            options={
                "ordering": ["system", "value"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("system", "value"), name="one_chart_per_identifier"
                    )
                ],
            },
        ),
    ]
