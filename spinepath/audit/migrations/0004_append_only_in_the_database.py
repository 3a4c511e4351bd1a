# The database refuses to change or delete an audit event, on SQLite and PostgreSQL alike.

from django.db import migrations

from spinepath.web.immutable import refuse_changes

forward, backward = refuse_changes(
    "audit_auditevent", "audit events are never changed or deleted"
)


class Migration(migrations.Migration):

    dependencies = [("audit", "0003_chained_log")]

    operations = [migrations.RunPython(forward, backward)]
