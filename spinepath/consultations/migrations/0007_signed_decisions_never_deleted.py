# A signed candidacy decision is never deleted either: the database refuses a DELETE too.

from django.db import migrations

from spinepath.web.immutable import SIGNED_DECISIONS_KEPT, refuse_deletes

forward, backward = refuse_deletes(*SIGNED_DECISIONS_KEPT)


class Migration(migrations.Migration):

    dependencies = [("consultations", "0006_encounter_stated_by")]

    operations = [migrations.RunPython(forward, backward)]
