# The audit log becomes a hash chain: every row gets a sequence number and a SHA-256 hash over
# the previous row's hash and its own content; existing rows are chained in the order they
# were written. Also: before/after values (detail), more actions (sign-in, sign-out, MFA,
# refusals, deletions). The refuse-UPDATE trigger is lifted while the columns are added and
# filled, and put back (with refuse-DELETE) by migration 0004.

from django.db import migrations, models

from spinepath.audit.chain import GENESIS, canonical_address, row_hash
from spinepath.web.immutable import refuse_updates

_, lift_update_trigger = refuse_updates("audit_auditevent", "audit events are never changed")


def chain_existing_rows(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    prev = GENESIS
    for seq, event in enumerate(AuditEvent.objects.order_by("at", "id").iterator(), start=1):
        row = {
            "seq": seq, "at": event.at, "user_id": event.user_id, "username": event.username,
            "patient_id": event.patient_id, "action": event.action, "what": event.what,
            "path": event.path, "address": canonical_address(event.address), "detail": {},
        }
        digest = row_hash(prev, row)
        AuditEvent.objects.filter(pk=event.pk).update(
            seq=seq, address=row["address"], prev_hash=prev, hash=digest
        )
        prev = digest


class Migration(migrations.Migration):

    dependencies = [("audit", "0002_audit_events_never_updated")]

    operations = [
        migrations.RunPython(lift_update_trigger, migrations.RunPython.noop),
        migrations.AlterModelOptions(name="auditevent", options={"ordering": ["-seq"]}),
        migrations.RemoveIndex(model_name="auditevent", name="audit_audit_patient_141f76_idx"),
        migrations.RemoveIndex(model_name="auditevent", name="audit_audit_user_id_8af46e_idx"),
        migrations.AddField(
            model_name="auditevent", name="detail", field=models.JSONField(blank=True, default=dict)
        ),
        migrations.AddField(
            model_name="auditevent", name="hash", field=models.CharField(default="", max_length=64)
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", max_length=64),
        ),
        migrations.AddField(
            model_name="auditevent", name="seq", field=models.BigIntegerField(null=True)
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("view", "Viewed"), ("create", "Created"), ("update", "Changed"),
                    ("delete", "Deleted"), ("sign", "Signed"), ("import", "Imported"),
                    ("export", "Exported"), ("sign_in", "Signed in"), ("sign_out", "Signed out"),
                    ("sign_in_failed", "Sign-in failed"), ("locked_out", "Locked out"),
                    ("mfa", "Second factor"), ("refused", "Refused"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="auditevent", name="at", field=models.DateTimeField(db_index=True)
        ),
        migrations.RunPython(chain_existing_rows, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent", name="seq", field=models.BigIntegerField(unique=True)
        ),
        migrations.AlterField(
            model_name="auditevent", name="hash", field=models.CharField(max_length=64)
        ),
        migrations.AlterField(
            model_name="auditevent", name="prev_hash", field=models.CharField(max_length=64)
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["patient", "-seq"], name="audit_audit_patient_36c015_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["user", "-seq"], name="audit_audit_user_id_bcde44_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["action", "-seq"], name="audit_audit_action_7d5c0f_idx"),
        ),
    ]
