# Squashed: on a new database this migration stands for plans 0001-0008.
# Each model is created whole, as the old migrations leave it (the same fields in
# the same order, so the same columns); the data and triggers they add come after.
# An installation that applied some of the old ones goes on with those (replaces); they
# stay until every installation has passed them (docs/operations.md).

from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from spinepath.plans.defaults import ensure_default_prices


# From 0002_default_price_list: the clinic's starting price list. Left out: 0007's
# earlier_acceptances_were_in_person (no plans yet: the tables are made here).
def create_default_prices(apps, schema_editor):
    ensure_default_prices(
        apps.get_model("plans", "PriceItem"),
        apps.get_model("plans", "PriceVersion"),
        apps.get_model("plans", "FinancingTerms"),
    )


class Migration(migrations.Migration):
    replaces = [
        ("plans", "0001_initial"),
        ("plans", "0002_default_price_list"),
        ("plans", "0003_price_versions_by_id"),
        ("plans", "0004_procedures_voided_once_per_submission_one_draft"),
        ("plans", "0005_plan_acceptance_keeps_content_hash"),
        ("plans", "0006_plan_keeps_accepted_pdf"),
        ("plans", "0007_acceptance_by_patient_or_witness_procedure_session"),
        ("plans", "0008_plan_line_submission_key"),
    ]

    dependencies = [
        ("consultations", "0001_initial"),
        ("patients", "0001_initial"),
        ("public", "0002_rooms"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="FinancingTerms",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("provider", models.CharField(default="Clinic payment plan", max_length=100)),
                ("term_months", models.PositiveSmallIntegerField(default=12)),
                (
                    "annual_rate_pct",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=5),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "verbose_name_plural": "financing terms",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="PriceItem",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.SlugField(max_length=40, unique=True)),
                ("name", models.CharField(max_length=120)),
                (
                    "category",
                    models.CharField(
                        choices=[
                            ("regenerative", "Regenerative injection"),
                            ("shockwave", "Shockwave therapy"),
                            ("diagnostic", "Diagnostic block"),
                            ("visit", "Visit"),
                            ("imaging", "Imaging"),
                            ("other", "Other"),
                        ],
                        max_length=15,
                    ),
                ),
                (
                    "unit",
                    models.CharField(
                        help_text="e.g. per level, per joint, per session", max_length=40
                    ),
                ),
                (
                    "generator",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("discogenic", "Disc"),
                            ("facet", "Facet joint"),
                            ("myoligamentous", "Ligament / muscle attachment"),
                            ("sacroiliac", "Sacroiliac joint"),
                        ],
                        max_length=15,
                    ),
                ),
                (
                    "material",
                    models.CharField(
                        blank=True,
                        choices=[("msc", "MSC"), ("exosome", "Exosome"), ("prp", "PRP")],
                        max_length=10,
                    ),
                ),
                ("active", models.BooleanField(default=True)),
            ],
            options={
                "ordering": ["category", "name"],
            },
        ),
        migrations.CreateModel(
            name="CarePlan",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.PositiveIntegerField(default=1)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("accepted", "Accepted"),
                            ("superseded", "Superseded"),
                        ],
                        default="draft",
                        max_length=12,
                    ),
                ),
                ("payer", models.CharField(blank=True, max_length=30)),
                ("financing_provider", models.CharField(blank=True, max_length=100)),
                ("financing_term_months", models.PositiveSmallIntegerField(default=12)),
                (
                    "financing_rate_pct",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=5),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("accepted_at", models.DateTimeField(blank=True, null=True)),
                ("accepted_name", models.CharField(blank=True, max_length=200)),
                ("accepted_address", models.GenericIPAddressField(blank=True, null=True)),
                (
                    "accepted_total",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "decision",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="plans",
                        to="consultations.candidacydecision",
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="plans",
                        to="patients.patient",
                    ),
                ),
                (
                    "supersedes",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="superseded_by",
                        to="plans.careplan",
                    ),
                ),
                ("accepted_content_hash", models.CharField(blank=True, max_length=64)),
                ("accepted_pdf", models.BinaryField(blank=True, null=True)),
                ("accepted_pdf_sha256", models.CharField(blank=True, max_length=64)),
                (
                    "accepted_by",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("patient", "By the patient, online"),
                            ("in_person", "In person, witnessed"),
                        ],
                        max_length=10,
                    ),
                ),
                ("accepted_consent", models.TextField(blank=True)),
                (
                    "accepted_witness",
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
                "ordering": ["-version", "-id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("patient", "version"), name="one_plan_per_version"
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("status", "draft")),
                        fields=("patient",),
                        name="one_draft_per_patient",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="PriceVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=2, max_digits=10)),
                ("effective_from", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "item",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="versions",
                        to="plans.priceitem",
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="PlanLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "phase",
                    models.CharField(
                        choices=[
                            ("prepare", "Prepare"),
                            ("inject", "Inject"),
                            ("follow", "Follow"),
                        ],
                        max_length=8,
                    ),
                ),
                ("position", models.PositiveSmallIntegerField(default=0)),
                ("description", models.CharField(max_length=200)),
                ("unit_price", models.DecimalField(decimal_places=2, max_digits=10)),
                ("quantity", models.PositiveSmallIntegerField(default=1)),
                (
                    "generator",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("discogenic", "Disc"),
                            ("facet", "Facet joint"),
                            ("myoligamentous", "Ligament / muscle attachment"),
                            ("sacroiliac", "Sacroiliac joint"),
                        ],
                        max_length=15,
                    ),
                ),
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
                    "material",
                    models.CharField(
                        blank=True,
                        choices=[("msc", "MSC"), ("exosome", "Exosome"), ("prp", "PRP")],
                        max_length=10,
                    ),
                ),
                (
                    "guidance",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("fluoroscopy", "Fluoroscopy"),
                            ("ct", "CT"),
                            ("ultrasound", "Ultrasound"),
                        ],
                        max_length=12,
                    ),
                ),
                ("planned_on", models.DateField(blank=True, null=True)),
                (
                    "plan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="plans.careplan",
                    ),
                ),
                (
                    "price_item",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="plans.priceitem",
                    ),
                ),
                (
                    "price_version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="plans.priceversion",
                    ),
                ),
                (
                    "submission_key",
                    models.CharField(editable=False, max_length=64, null=True, unique=True),
                ),
            ],
            options={
                "ordering": ["plan", "position", "id"],
            },
        ),
        migrations.CreateModel(
            name="Procedure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("performed_on", models.DateField()),
                (
                    "generator",
                    models.CharField(
                        choices=[
                            ("discogenic", "Disc"),
                            ("facet", "Facet joint"),
                            ("myoligamentous", "Ligament / muscle attachment"),
                            ("sacroiliac", "Sacroiliac joint"),
                        ],
                        max_length=15,
                    ),
                ),
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
                    "material",
                    models.CharField(
                        choices=[("msc", "MSC"), ("exosome", "Exosome"), ("prp", "PRP")],
                        max_length=10,
                    ),
                ),
                (
                    "dose",
                    models.CharField(blank=True, help_text="e.g. 10 million cells", max_length=100),
                ),
                (
                    "volume_ml",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True),
                ),
                (
                    "guidance",
                    models.CharField(
                        choices=[
                            ("fluoroscopy", "Fluoroscopy"),
                            ("ct", "CT"),
                            ("ultrasound", "Ultrasound"),
                        ],
                        max_length=12,
                    ),
                ),
                ("complications", models.TextField(blank=True)),
                ("recorded_at", models.DateTimeField(auto_now_add=True)),
                (
                    "operator",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="regen_procedures",
                        to="patients.patient",
                    ),
                ),
                (
                    "plan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="procedures",
                        to="plans.careplan",
                    ),
                ),
                (
                    "submission_key",
                    models.CharField(blank=True, editable=False, max_length=64, null=True),
                ),
                ("void_reason", models.TextField(blank=True)),
                ("voided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "voided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "session",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="procedures",
                        to="public.appointment",
                    ),
                ),
            ],
            options={
                "ordering": ["-performed_on", "-id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("submission_key",), name="one_procedure_per_submission"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("void_reason", ""),
                                ("voided_at__isnull", True),
                                ("voided_by__isnull", True),
                            ),
                            models.Q(
                                ("voided_at__isnull", False),
                                ("voided_by__isnull", False),
                                models.Q(("void_reason", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="void_names_who_when_why",
                    ),
                ],
            },
        ),
        migrations.RunPython(
            code=create_default_prices,
            reverse_code=migrations.RunPython.noop,
        ),
    ]
