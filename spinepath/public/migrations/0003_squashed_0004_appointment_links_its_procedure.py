# Squashed: on a new database this migration stands for public 0003-0004.
# Their operations in order, through Django's optimizer (plans and public point at
# each other, so their squashes follow the ranges the old dependencies allow).
# An installation that applied some of the old ones goes on with those (replaces); they
# stay until every installation has passed them (docs/operations.md).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def link_from_procedures(apps, schema_editor):
    """Each procedure recorded in a booked session: the appointment now names it."""
    Procedure = apps.get_model("plans", "Procedure")
    Appointment = apps.get_model("public", "Appointment")
    for procedure_id, appointment_id in Procedure.objects.filter(session__isnull=False).values_list(
        "id", "session_id"
    ):
        Appointment.objects.filter(pk=appointment_id, procedure__isnull=True).update(
            procedure_id=procedure_id
        )


def link_back(apps, schema_editor):
    Procedure = apps.get_model("plans", "Procedure")
    Appointment = apps.get_model("public", "Appointment")
    for appointment_id, procedure_id in Appointment.objects.filter(
        procedure__isnull=False
    ).values_list("id", "procedure_id"):
        Procedure.objects.filter(pk=procedure_id).update(session_id=appointment_id)


class Migration(migrations.Migration):
    replaces = [
        ("public", "0003_injection_sessions_and_change_requests"),
        ("public", "0004_appointment_links_its_procedure"),
    ]

    dependencies = [
        ("patients", "0002_search_form_and_history"),
        ("plans", "0007_acceptance_by_patient_or_witness_procedure_session"),
        ("plans", "0008_plan_line_submission_key"),
        ("public", "0002_rooms"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ChangeRequest",
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
                        choices=[("reschedule", "Move it"), ("cancel", "Cancel it")], max_length=10
                    ),
                ),
                ("message", models.TextField(blank=True, max_length=1000)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("handled_at", models.DateTimeField(blank=True, null=True)),
                (
                    "appointment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="change_requests",
                        to="public.appointment",
                    ),
                ),
                (
                    "handled_by",
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
                "ordering": ["-created_at"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("handled_at__isnull", True)),
                        fields=("appointment",),
                        name="one_open_change_request",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="appointment",
            name="kind",
            field=models.CharField(
                choices=[("consultation", "Consultation"), ("injection", "Injection session")],
                default="consultation",
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="appointment",
            name="plan",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sessions",
                to="plans.careplan",
            ),
        ),
        migrations.AddField(
            model_name="appointment",
            name="session_key",
            field=models.CharField(blank=True, max_length=10),
        ),
        migrations.AddField(
            model_name="appointment",
            name="session_label",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddConstraint(
            model_name="appointment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "injection"), ("status", "booked")),
                fields=("plan", "session_key"),
                name="one_booking_per_session",
            ),
        ),
        migrations.AddField(
            model_name="appointment",
            name="procedure",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="appointment",
                to="plans.procedure",
            ),
        ),
        migrations.RunPython(
            code=link_from_procedures,
            reverse_code=link_back,
        ),
    ]
