# The audit log is append-only: the database refuses an UPDATE as well.

from django.db import migrations

from spinepath.web.immutable import refuse_updates

forward, backward = refuse_updates("audit_auditevent", "audit events are never changed")


class Migration(migrations.Migration):

    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
