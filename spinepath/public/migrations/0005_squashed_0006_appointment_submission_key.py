# Squashed: on a new database this migration stands for public 0005-0006.
# Their operations in order, through Django's optimizer (plans and public point at
# each other, so their squashes follow the ranges the old dependencies allow).
# An installation that applied some of the old ones goes on with those (replaces); they
# stay until every installation has passed them (docs/operations.md).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def forward(apps, schema_editor):
    """Requests: 'contacted' is still new (nothing was booked), 'closed' was declined. Rooms:
    named for procedures or fluoroscopy are the fluoroscopy suite; the clinic gains one of
    each kind it lacks."""
    Request = apps.get_model("public", "ConsultationRequest")
    Request.objects.filter(status="contacted").update(status="new")
    Request.objects.filter(status="closed").update(status="declined")
    Room = apps.get_model("public", "Room")
    for room in Room.objects.all():
        name = room.name.lower()
        if "ultrasound" in name:
            room.kind = "ultrasound"
        elif "fluoro" in name or "procedure" in name:
            room.kind = "fluoroscopy"
        else:
            continue
        room.save(update_fields=["kind"])
    for name, kind in (("Fluoroscopy suite", "fluoroscopy"), ("Ultrasound room", "ultrasound")):
        if not Room.objects.filter(kind=kind).exists():
            Room.objects.get_or_create(name=name, defaults={"kind": kind})


def backward(apps, schema_editor):
    Request = apps.get_model("public", "ConsultationRequest")
    Request.objects.filter(status="seen").update(status="booked")
    Request.objects.filter(status="declined").update(status="closed")


class Migration(migrations.Migration):
    replaces = [
        ("public", "0005_rooms_kinds_and_request_statuses"),
        ("public", "0006_appointment_submission_key"),
    ]

    dependencies = [
        ("consultations", "0009_study_filed_into_the_next_consultation"),
        ("patients", "0005_contact_changed_by"),
        ("plans", "0010_plan_released_to_the_patient"),
        ("public", "0004_appointment_links_its_procedure"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="room",
            options={"ordering": ["kind", "name"]},
        ),
        migrations.RemoveConstraint(
            model_name="appointment",
            name="one_booking_per_session",
        ),
        migrations.AddField(
            model_name="appointment",
            name="done_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="appointment",
            name="encounter",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="appointment",
                to="consultations.encounter",
            ),
        ),
        migrations.AddField(
            model_name="consultationrequest",
            name="birth_date",
            field=models.DateField(blank=True, null=True, verbose_name="date of birth"),
        ),
        migrations.AddField(
            model_name="room",
            name="kind",
            field=models.CharField(
                choices=[
                    ("consultation", "Consultation room"),
                    ("fluoroscopy", "Fluoroscopy suite"),
                    ("ultrasound", "Ultrasound room"),
                ],
                default="consultation",
                max_length=12,
            ),
        ),
        migrations.AlterField(
            model_name="appointment",
            name="kind",
            field=models.CharField(
                choices=[
                    ("consultation", "Consultation"),
                    ("injection", "Injection session"),
                    ("visit", "Pre-procedure visit"),
                ],
                default="consultation",
                max_length=12,
            ),
        ),
        migrations.AlterField(
            model_name="appointment",
            name="status",
            field=models.CharField(
                choices=[("booked", "Booked"), ("done", "Done"), ("cancelled", "Cancelled")],
                default="booked",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="consultationrequest",
            name="status",
            field=models.CharField(
                choices=[
                    ("new", "New"),
                    ("booked", "Booked"),
                    ("seen", "Seen"),
                    ("declined", "Declined"),
                ],
                db_index=True,
                default="new",
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="appointment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("plan__isnull", False), ("status", "booked")),
                fields=("plan", "session_key"),
                name="one_booking_per_session",
            ),
        ),
        migrations.RunPython(
            code=forward,
            reverse_code=backward,
        ),
        migrations.AddField(
            model_name="appointment",
            name="submission_key",
            field=models.CharField(editable=False, max_length=64, null=True, unique=True),
        ),
    ]
