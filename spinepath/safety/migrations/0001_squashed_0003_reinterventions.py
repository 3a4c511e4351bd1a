# Squashed: on a new database this migration stands for safety 0001-0003.
# Each model is created whole, as the old migrations leave it (the same fields in
# the same order, so the same columns); the data and triggers they add come after.
# An installation that applied some of the old ones goes on with those (replaces); they
# stay until every installation has passed them (docs/operations.md).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    replaces = [
        ("safety", "0001_adverse_events"),
        ("safety", "0002_lookback_notices"),
        ("safety", "0003_reinterventions"),
    ]

    dependencies = [
        ("patients", "0005_contact_changed_by"),
        ("plans", "0011_biologic_products_and_lots"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SafetyReport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("answered_on", models.DateField()),
                (
                    "answers",
                    models.JSONField(
                        help_text="Each safety question's key: true (yes) or false (no)."
                    ),
                ),
                ("worrying", models.BooleanField(default=False)),
                ("urgency", models.CharField(blank=True, max_length=10)),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("questionnaire", "Follow-up questionnaire"),
                            ("own_pages", "Patient's own pages"),
                            ("paper", "Paper form in clinic"),
                            ("api", "FHIR API"),
                        ],
                        max_length=15,
                    ),
                ),
                ("visit_label", models.CharField(blank=True, max_length=40)),
                (
                    "details",
                    models.TextField(
                        blank=True, help_text="What the patient added in their words."
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "submission_key",
                    models.CharField(editable=False, max_length=64, null=True, unique=True),
                ),
                ("reviewed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "review_outcome",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("no_event", "Reviewed: no adverse event"),
                            ("event", "Reviewed: adverse event recorded"),
                        ],
                        max_length=10,
                    ),
                ),
                ("review_note", models.TextField(blank=True)),
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
                        related_name="safety_reports",
                        to="patients.patient",
                    ),
                ),
                (
                    "reviewed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["worrying", "reviewed_at"], name="safety_open_tasks")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("review_outcome", ""),
                                ("reviewed_at__isnull", True),
                                ("reviewed_by__isnull", True),
                            ),
                            models.Q(
                                ("reviewed_at__isnull", False),
                                ("reviewed_by__isnull", False),
                                models.Q(("review_outcome", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="safety_review_names_who_when_what",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="AdverseEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "aware_on",
                    models.DateField(help_text="The day the clinic learned of the event."),
                ),
                ("reportable_since", models.DateField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "submission_key",
                    models.CharField(editable=False, max_length=64, null=True, unique=True),
                ),
                ("in_error_at", models.DateTimeField(blank=True, null=True)),
                ("in_error_reason", models.TextField(blank=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "in_error_by",
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
                        related_name="adverse_events",
                        to="patients.patient",
                    ),
                ),
                (
                    "procedure",
                    models.ForeignKey(
                        blank=True,
                        help_text="The injection the event follows.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="adverse_events",
                        to="plans.procedure",
                    ),
                ),
                (
                    "report",
                    models.ForeignKey(
                        blank=True,
                        help_text="The patient's answers it was found from.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="safety.safetyreport",
                    ),
                ),
            ],
            options={
                "ordering": ["-aware_on", "-id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("in_error_at__isnull", True),
                                ("in_error_by__isnull", True),
                                ("in_error_reason", ""),
                            ),
                            models.Q(
                                ("in_error_at__isnull", False),
                                ("in_error_by__isnull", False),
                                models.Q(("in_error_reason", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="event_in_error_names_who_when_why",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="EventFiling",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("initial", "Initial report"), ("follow_up", "Follow-up report")],
                        default="initial",
                        max_length=10,
                    ),
                ),
                ("filed_on", models.DateField()),
                (
                    "method",
                    models.CharField(
                        choices=[
                            ("esubmission", "FDA Electronic Submissions Gateway"),
                            ("medwatch_online", "MedWatch online"),
                            ("fax", "Fax"),
                            ("mail", "Mail"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "reference",
                    models.CharField(
                        help_text="The report or acknowledgement number.", max_length=80
                    ),
                ),
                (
                    "version_number",
                    models.PositiveSmallIntegerField(help_text="The event version reported."),
                ),
                ("recorded_at", models.DateTimeField(auto_now_add=True)),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="filings",
                        to="safety.adverseevent",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["event", "filed_on", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("kind", "initial")),
                        fields=("event",),
                        name="one_initial_filing",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="EventVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveSmallIntegerField()),
                ("term", models.CharField(max_length=200)),
                ("description", models.TextField(blank=True)),
                ("onset_on", models.DateField()),
                ("grade", models.PositiveSmallIntegerField(help_text="CTCAE v5 grade, 1-5.")),
                (
                    "serious_criteria",
                    models.JSONField(default=list, help_text="ICH E2A criteria met."),
                ),
                (
                    "related_procedure",
                    models.CharField(
                        choices=[
                            ("not_related", "not related"),
                            ("unlikely", "unlikely related"),
                            ("possible", "possibly related"),
                            ("probable", "probably related"),
                            ("definite", "definitely related"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "related_product",
                    models.CharField(
                        choices=[
                            ("not_related", "not related"),
                            ("unlikely", "unlikely related"),
                            ("possible", "possibly related"),
                            ("probable", "probably related"),
                            ("definite", "definitely related"),
                        ],
                        max_length=12,
                    ),
                ),
                ("expected", models.BooleanField()),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("none", "none"),
                            ("observation", "observation or advice"),
                            ("medication", "medication"),
                            ("procedure", "a procedure (drainage, aspiration, injection)"),
                            ("hospitalisation", "hospital admission"),
                            ("surgery", "surgery"),
                            ("other", "other"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("ongoing", "ongoing"),
                            ("recovering", "recovering"),
                            ("resolved", "resolved"),
                            ("resolvedWithSequelae", "resolved with lasting effects"),
                            ("fatal", "fatal"),
                            ("unknown", "unknown"),
                        ],
                        max_length=24,
                    ),
                ),
                ("resolved_on", models.DateField(blank=True, null=True)),
                ("change_reason", models.TextField(blank=True)),
                ("recorded_at", models.DateTimeField(auto_now_add=True)),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="versions",
                        to="safety.adverseevent",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["event", "-number"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("event", "number"), name="one_event_version_number"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("grade__gte", 1), ("grade__lte", 5)),
                        name="ctcae_grade_1_to_5",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="LookbackNotice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "about",
                    models.CharField(
                        help_text="What was looked back on, in words.", max_length=200
                    ),
                ),
                ("query", models.JSONField(help_text="The look-back's lot, product and donor.")),
                (
                    "channel",
                    models.CharField(
                        choices=[("email", "Email"), ("letter", "Printed letter")], max_length=6
                    ),
                ),
                ("to_address", models.EmailField(blank=True, max_length=254)),
                ("subject", models.CharField(max_length=200)),
                ("body", models.TextField()),
                ("sent_at", models.DateTimeField(auto_now_add=True)),
                ("submission_key", models.CharField(editable=False, max_length=64)),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lookback_notices",
                        to="patients.patient",
                    ),
                ),
                (
                    "sent_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-sent_at", "patient_id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("submission_key", "patient"), name="one_lookback_notice_per_send"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="Reintervention",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("surgery", "Spine surgery"),
                            ("injection", "Injection elsewhere"),
                        ],
                        max_length=10,
                    ),
                ),
                ("performed_on", models.DateField()),
                (
                    "level",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("L1-L2", "L1-L2"),
                            ("L2-L3", "L2-L3"),
                            ("L3-L4", "L3-L4"),
                            ("L4-L5", "L4-L5"),
                            ("L5-S1", "L5-S1"),
                        ],
                        max_length=5,
                    ),
                ),
                (
                    "side",
                    models.CharField(
                        blank=True,
                        choices=[("left", "Left"), ("right", "Right"), ("bilateral", "Both sides")],
                        max_length=10,
                    ),
                ),
                (
                    "description",
                    models.TextField(help_text="What was done, where and by whom, as known."),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            (
                                "recorded",
                                "Recorded from a clinical document (an operative note, a letter)",
                            ),
                            ("reported_by_patient", "Reported by the patient"),
                            (
                                "reported_at_follow_up",
                                "Reported by the patient at a follow-up visit",
                            ),
                        ],
                        max_length=24,
                    ),
                ),
                ("recorded_role", models.CharField(max_length=20)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "submission_key",
                    models.CharField(editable=False, max_length=64, null=True, unique=True),
                ),
                ("in_error_at", models.DateTimeField(blank=True, null=True)),
                ("in_error_reason", models.TextField(blank=True)),
                (
                    "in_error_by",
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
                        related_name="reinterventions",
                        to="patients.patient",
                    ),
                ),
                (
                    "procedure",
                    models.ForeignKey(
                        help_text="The treated injection whose level the re-intervention was at.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reinterventions",
                        to="plans.procedure",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-performed_on", "-id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("in_error_at__isnull", True),
                                ("in_error_by__isnull", True),
                                ("in_error_reason", ""),
                            ),
                            models.Q(
                                ("in_error_at__isnull", False),
                                ("in_error_by__isnull", False),
                                models.Q(("in_error_reason", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="reintervention_in_error_names_who_when_why",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("kind__in", ["surgery", "injection"])),
                        name="reintervention_surgery_or_injection",
                    ),
                ],
            },
        ),
    ]
