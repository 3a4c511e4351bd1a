# A signed candidacy decision is never edited: the database refuses an UPDATE as well.

from django.db import migrations

from spinepath.web.immutable import refuse_updates

forward, backward = refuse_updates(
    "consultations_candidacydecision", "a signed decision is never edited"
)


class Migration(migrations.Migration):

    dependencies = [("consultations", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
