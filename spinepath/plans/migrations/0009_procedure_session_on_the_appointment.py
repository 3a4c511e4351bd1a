from django.db import migrations


class Migration(migrations.Migration):
    """The link between an injection and its booked session is kept on the appointment
    (public 0004 copied it there): the plans app no longer points at appointments."""

    dependencies = [
        ("plans", "0008_plan_line_submission_key"),
        ("public", "0004_appointment_links_its_procedure"),
    ]

    operations = [
        migrations.RemoveField(model_name="procedure", name="session"),
    ]
