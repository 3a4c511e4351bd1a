from django.db import migrations


def create(apps, schema_editor):
    Room = apps.get_model("public", "Room")
    for name in ("Consultation room 1", "Consultation room 2"):
        Room.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("public", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
