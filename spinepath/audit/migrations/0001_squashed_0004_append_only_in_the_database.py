# Squashed: on a new database this migration stands for audit 0001-0004.
# Each model is created whole, as the old migrations leave it (the same fields in
# the same order, so the same columns); the data and triggers they add come after.
# An installation that applied some of the old ones goes on with those (replaces); they
# stay until every installation has passed them (docs/operations.md).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from spinepath.web.immutable import refuse_changes

# 0002-0004: the database refuses to change or delete an audit event (the triggers as
# 0004 leaves them). Left out: 0003's chaining of existing rows (the table is made here).
append_only, lift_append_only = refuse_changes(
    "audit_auditevent", "audit events are never changed or deleted"
)


class Migration(migrations.Migration):
    replaces = [
        ("audit", "0001_initial"),
        ("audit", "0002_audit_events_never_updated"),
        ("audit", "0003_chained_log"),
        ("audit", "0004_append_only_in_the_database"),
    ]

    dependencies = [
        ("patients", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(db_index=True)),
                ("username", models.CharField(max_length=150)),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("view", "Viewed"),
                            ("create", "Created"),
                            ("update", "Changed"),
                            ("delete", "Deleted"),
                            ("sign", "Signed"),
                            ("import", "Imported"),
                            ("export", "Exported"),
                            ("sign_in", "Signed in"),
                            ("sign_out", "Signed out"),
                            ("sign_in_failed", "Sign-in failed"),
                            ("locked_out", "Locked out"),
                            ("mfa", "Second factor"),
                            ("refused", "Refused"),
                        ],
                        max_length=20,
                    ),
                ),
                ("what", models.CharField(max_length=200)),
                ("path", models.CharField(max_length=300)),
                ("address", models.GenericIPAddressField(null=True)),
                (
                    "patient",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="audit_events",
                        to="patients.patient",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("detail", models.JSONField(blank=True, default=dict)),
                ("hash", models.CharField(default="", max_length=64)),
                ("prev_hash", models.CharField(default="", max_length=64)),
                ("seq", models.BigIntegerField(null=True)),
            ],
            options={
                "ordering": ["-seq"],
                "indexes": [
                    models.Index(fields=["patient", "-seq"], name="audit_audit_patient_36c015_idx"),
                    models.Index(fields=["user", "-seq"], name="audit_audit_user_id_bcde44_idx"),
                    models.Index(fields=["action", "-seq"], name="audit_audit_action_7d5c0f_idx"),
                ],
            },
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(unique=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(max_length=64),
        ),
        migrations.RunPython(
            code=append_only,
            reverse_code=lift_append_only,
        ),
    ]
