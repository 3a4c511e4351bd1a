# Squashed: on a new database this migration stands for followup 0001-0008.
# Each model is created whole, as the old migrations leave it (the same fields in
# the same order, so the same columns); the data and triggers they add come after.
# An installation that applied some of the old ones goes on with those (replaces); they
# stay until every installation has passed them (docs/operations.md).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Left out: the data migrations of 0006 (copy_reminders), 0007
# (which_step_got_the_answers) and 0008 (fill_features): each fills rows of this app's
# tables, which are made here.


class Migration(migrations.Migration):
    replaces = [
        ("followup", "0001_initial"),
        ("followup", "0002_outcomemeasurement_any_pain_reduction_and_more"),
        ("followup", "0003_outcomes_covering_index"),
        ("followup", "0004_answers_outside_window_flagged"),
        ("followup", "0005_ichom_low_back_pain_measures"),
        ("followup", "0006_reminder_ladder"),
        ("followup", "0007_answered_after_step"),
        ("followup", "0008_course_features_for_odds"),
    ]

    dependencies = [
        ("patients", "0001_initial"),
        ("patients", "0005_contact_changed_by"),
        ("patients", "0006_reminder_choices_and_address"),
        ("plans", "0002_default_price_list"),
        ("plans", "0015_lot_recall"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ReassessmentVisit",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=10)),
                ("label", models.CharField(max_length=40)),
                ("position", models.PositiveSmallIntegerField(default=0)),
                ("due", models.DateField(db_index=True)),
                ("opens", models.DateField(db_index=True)),
                ("closes", models.DateField(db_index=True)),
                ("optional", models.BooleanField(default=False)),
                ("functional_notes", models.TextField(blank=True)),
                ("repeat_imaging", models.BooleanField(default=False)),
                (
                    "anchor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="plans.procedure",
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="visits",
                        to="patients.patient",
                    ),
                ),
                (
                    "plan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="visits",
                        to="plans.careplan",
                    ),
                ),
                (
                    "clinician",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("generator", models.CharField(blank=True, db_index=True, max_length=15)),
                ("injected_on", models.DateField(db_index=True, null=True)),
                ("material", models.CharField(blank=True, max_length=10)),
                ("prognosis_tier", models.CharField(blank=True, max_length=10)),
                ("target_count", models.PositiveSmallIntegerField(default=1)),
                ("reminders_stopped", models.CharField(blank=True, max_length=200)),
                ("age_band", models.CharField(blank=True, max_length=20)),
                ("pain_pattern", models.CharField(blank=True, max_length=20)),
                ("treated_grade", models.CharField(blank=True, max_length=20)),
            ],
            options={
                "ordering": ["due", "id"],
                "indexes": [
                    models.Index(
                        fields=[
                            "key",
                            "generator",
                            "prognosis_tier",
                            "target_count",
                            "material",
                            "clinician",
                            "injected_on",
                            "due",
                            "closes",
                        ],
                        name="visit_outcomes_cover",
                    ),
                    models.Index(
                        fields=[
                            "generator",
                            "key",
                            "closes",
                            "prognosis_tier",
                            "treated_grade",
                            "pain_pattern",
                            "age_band",
                        ],
                        name="visit_odds_cover",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("plan", "key"), name="one_visit_per_key")
                ],
            },
        ),
        migrations.CreateModel(
            name="QuestionnaireLink",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token_hash", models.CharField(max_length=64, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("expires_at", models.DateTimeField()),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "visit",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="links",
                        to="followup.reassessmentvisit",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="OutcomeMeasurement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("measured_on", models.DateField(db_index=True)),
                ("pain_scale", models.CharField(default="vas", max_length=3)),
                ("pain_raw", models.FloatField(blank=True, null=True)),
                (
                    "pain_vas",
                    models.FloatField(blank=True, help_text="0-100 mm (NRS x 10)", null=True),
                ),
                ("odi_sections", models.JSONField(blank=True, null=True)),
                ("odi_score", models.FloatField(blank=True, null=True)),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("patient_link", "Patient (online)"),
                            ("paper", "Paper form in clinic"),
                            ("phone", "On the phone with a coordinator"),
                            ("consultation", "Consultation"),
                        ],
                        max_length=15,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "entered_by",
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
                        related_name="measurements",
                        to="patients.patient",
                    ),
                ),
                (
                    "visit",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="measurement",
                        to="followup.reassessmentvisit",
                    ),
                ),
                ("any_pain_reduction", models.BooleanField(blank=True, null=True)),
                ("odi_change_points", models.FloatField(blank=True, null=True)),
                ("odi_responder", models.BooleanField(blank=True, null=True)),
                ("pain_change_mm", models.FloatField(blank=True, null=True)),
                ("pain_change_pct", models.FloatField(blank=True, null=True)),
                ("pain_responder", models.BooleanField(blank=True, null=True)),
                ("outside_window", models.BooleanField(default=False)),
                (
                    "analgesic_use",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("none", "No"),
                            ("occasional", "Yes, now and then"),
                            ("daily", "Yes, every day"),
                        ],
                        max_length=10,
                    ),
                ),
                ("back_pain_nrs", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("leg_pain_nrs", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("opioid_use", models.BooleanField(blank=True, null=True)),
                (
                    "work_status",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("full_time", "Working full time"),
                            ("part_time_back_pain", "Working part time because of my back pain"),
                            ("part_time_other", "Working part time for other reasons"),
                            ("sick_leave", "On sick leave"),
                            ("not_working_back_pain", "Not working because of my back pain"),
                            (
                                "not_working_other",
                                "Not working for other reasons (retired, student, homemaker, looking for work)",
                            ),
                        ],
                        max_length=24,
                    ),
                ),
                ("answered_after_step", models.CharField(blank=True, max_length=20)),
            ],
            options={
                "ordering": ["measured_on", "id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("outside_window", True), ("source", "patient_link"), _negated=True
                        ),
                        name="patient_link_answers_inside_window",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("back_pain_nrs__isnull", True),
                            ("back_pain_nrs__lte", 10),
                            _connector="OR",
                        ),
                        name="measurement_back_pain_0_to_10",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("leg_pain_nrs__isnull", True),
                            ("leg_pain_nrs__lte", 10),
                            _connector="OR",
                        ),
                        name="measurement_leg_pain_0_to_10",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("analgesic_use", "none"), ("opioid_use", True), _negated=True
                        ),
                        name="measurement_no_opioid_without_analgesic",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ReminderStep",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("step", models.CharField(max_length=20)),
                ("position", models.PositiveSmallIntegerField(default=0)),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("email", "Email"),
                            ("sms", "Text message"),
                            ("call", "Phone call"),
                            ("letter", "Letter by post"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("sent", "Sent"),
                            ("failed", "Failed"),
                            ("retry", "Failed, will try again"),
                            ("skipped", "Skipped"),
                            ("claimed", "Sending"),
                        ],
                        max_length=10,
                    ),
                ),
                ("detail", models.CharField(blank=True, max_length=300)),
                ("to", models.CharField(blank=True, max_length=254)),
                ("acted_on", models.DateField(db_index=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "call_outcome",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("answered", "Answered on the phone (answers entered)"),
                            ("voicemail", "Left a voicemail"),
                            ("no_answer", "No answer"),
                            ("wrong_number", "Wrong number"),
                            ("declined", "Declined this check-in"),
                        ],
                        max_length=15,
                    ),
                ),
                ("call_note", models.CharField(blank=True, max_length=500)),
                ("call_at", models.DateTimeField(blank=True, null=True)),
                ("printed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "call_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "printed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "visit",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="steps",
                        to="followup.reassessmentvisit",
                    ),
                ),
            ],
            options={
                "ordering": ["visit_id", "position", "id"],
                "indexes": [models.Index(fields=["channel", "status"], name="reminder_step_tasks")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("visit", "step"), name="one_reminder_step_per_visit"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("call_outcome", ""), ("channel", "call"), _connector="OR"
                        ),
                        name="call_outcome_only_on_calls",
                    ),
                ],
            },
        ),
    ]
