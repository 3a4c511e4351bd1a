"""Indexes on how long before its due date a visit's window opens and how long after it closes:
the worklist reads the widest of each (an index's last entry) on every computation, rather than
once a day from a count of every visit (issue 29: a window widened during the day was missed)."""

from typing import Any

from django.db import migrations

SQLITE = (
    "CREATE INDEX IF NOT EXISTS visit_open_span ON followup_reassessmentvisit "
    "((julianday(due) - julianday(opens)))",
    "CREATE INDEX IF NOT EXISTS visit_close_span ON followup_reassessmentvisit "
    "((julianday(closes) - julianday(due)))",
)
POSTGRESQL = (
    "CREATE INDEX IF NOT EXISTS visit_open_span ON followup_reassessmentvisit ((due - opens))",
    "CREATE INDEX IF NOT EXISTS visit_close_span ON followup_reassessmentvisit ((closes - due))",
)


def forward(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for statement in SQLITE if vendor == "sqlite" else POSTGRESQL if vendor == "postgresql" else ():
        schema_editor.execute(statement)


def backward(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute("DROP INDEX IF EXISTS visit_open_span")
    schema_editor.execute("DROP INDEX IF EXISTS visit_close_span")


class Migration(migrations.Migration):
    dependencies = [("followup", "0008_course_features_for_odds")]

    operations = [migrations.RunPython(forward, backward)]
