# Squashed: on a new database this migration stands for plans 0009-0016.
# Their operations in order, through Django's optimizer (plans and public point at
# each other, so their squashes follow the ranges the old dependencies allow).
# An installation that applied some of the old ones goes on with those (replaces); they
# stay until every installation has passed them (docs/operations.md).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    replaces = [
        ("plans", "0009_procedure_session_on_the_appointment"),
        ("plans", "0010_plan_released_to_the_patient"),
        ("plans", "0011_biologic_products_and_lots"),
        ("plans", "0012_plan_line_product_kind_and_ind"),
        ("plans", "0013_procedure_ind_number"),
        ("plans", "0014_procedure_checks_and_fluoroscopy"),
        ("plans", "0015_lot_recall"),
        ("plans", "0016_accepted_odds"),
    ]

    dependencies = [
        ("consultations", "0008_block_submission_key"),
        ("patients", "0003_patient_submission_key"),
        ("plans", "0008_plan_line_submission_key"),
        ("public", "0004_appointment_links_its_procedure"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveField(
            model_name="procedure",
            name="session",
        ),
        migrations.AddField(
            model_name="careplan",
            name="released_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="careplan",
            name="released_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="careplan",
            name="released_content_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="careplan",
            name="status",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("released", "Released to the patient"),
                    ("accepted", "Accepted"),
                    ("superseded", "Superseded"),
                ],
                default="draft",
                max_length=12,
            ),
        ),
        migrations.AddConstraint(
            model_name="careplan",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "released")),
                fields=("patient",),
                name="one_released_plan_per_patient",
            ),
        ),
        migrations.CreateModel(
            name="BiologicProduct",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=120, unique=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("bmac", "autologous bone marrow concentrate"),
                            ("adipose", "adipose-derived cells"),
                            ("msc_expanded", "culture-expanded MSC"),
                            ("msc_allogeneic", "allogeneic MSC"),
                            ("exosome", "exosome preparation"),
                            ("prp", "platelet-rich plasma (PRP)"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[("autologous", "autologous"), ("allogeneic", "allogeneic")],
                        max_length=12,
                    ),
                ),
                (
                    "establishment",
                    models.CharField(
                        help_text="The establishment that made or processed it, with its FEI.",
                        max_length=160,
                    ),
                ),
                ("active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.AddField(
            model_name="procedure",
            name="cells_million",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=8, null=True),
        ),
        migrations.AddField(
            model_name="procedure",
            name="leukocytes_k_per_ul",
            field=models.DecimalField(blank=True, decimal_places=1, max_digits=7, null=True),
        ),
        migrations.AddField(
            model_name="procedure",
            name="platelets_k_per_ul",
            field=models.DecimalField(blank=True, decimal_places=1, max_digits=7, null=True),
        ),
        migrations.AddField(
            model_name="procedure",
            name="viability_pct",
            field=models.DecimalField(blank=True, decimal_places=1, max_digits=5, null=True),
        ),
        migrations.CreateModel(
            name="ProductLot",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("lot", models.CharField(max_length=60)),
                (
                    "code",
                    models.CharField(
                        help_text="As on the label.",
                        max_length=80,
                        unique=True,
                        verbose_name="distinct identification code",
                    ),
                ),
                ("expires_on", models.DateField()),
                (
                    "donor",
                    models.CharField(
                        blank=True, help_text="Donor id, for allogeneic.", max_length=60
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lots",
                        to="plans.biologicproduct",
                    ),
                ),
                ("recall_reason", models.TextField(blank=True)),
                (
                    "recalled_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("recalled_on", models.DateField(blank=True, null=True)),
            ],
            options={
                "ordering": ["product", "expires_on", "lot"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("product", "lot"), name="one_lot_number_per_product"
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="procedure",
            name="lot",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="injections",
                to="plans.productlot",
            ),
        ),
        migrations.AddField(
            model_name="planline",
            name="ind_number",
            field=models.CharField(blank=True, max_length=12, verbose_name="IND number"),
        ),
        migrations.AddField(
            model_name="planline",
            name="product_kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("bmac", "autologous bone marrow concentrate"),
                    ("adipose", "adipose-derived cells"),
                    ("msc_expanded", "culture-expanded MSC"),
                    ("msc_allogeneic", "allogeneic MSC"),
                    ("exosome", "exosome preparation"),
                    ("prp", "platelet-rich plasma (PRP)"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="procedure",
            name="ind_number",
            field=models.CharField(blank=True, max_length=12, verbose_name="IND number"),
        ),
        migrations.AddField(
            model_name="procedure",
            name="air_kerma_mgy",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=7,
                null=True,
                verbose_name="air kerma (mGy)",
            ),
        ),
        migrations.AddField(
            model_name="procedure",
            name="consent_confirmed",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="procedure",
            name="fluoroscopy_seconds",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="procedure",
            name="site_marked",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="procedure",
            name="time_out_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="procedure",
            name="time_out_done",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="careplan",
            name="accepted_odds",
            field=models.JSONField(blank=True, null=True),
        ),
    ]
