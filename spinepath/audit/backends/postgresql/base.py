"""PostgreSQL, with every transaction first taking the audit log's lock.

The audit log is one hash chain: a new row needs the hash of the row before it, so audit rows
are written one transaction at a time. Taking that lock as the very first statement of every
transaction (as SQLite's BEGIN IMMEDIATE takes its write lock) means no transaction ever holds
a row lock while waiting for the chain, so the chain can never deadlock with row locks. Reads
outside a transaction (most page views) do not take it.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base

from spinepath.web.text import refuse_unstorable_parameters

AUDIT_CHAIN_LOCK = 0x5350_4155_4449_54  # "SPAUDIT"


class DatabaseWrapper(base.DatabaseWrapper):  # type: ignore[misc]
    # A read-only connection that never writes the audit log (the backup's snapshot, held for
    # the whole of pg_dump) sets this to False, so that it does not hold up every writer.
    takes_audit_lock = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # No query parameter carries text the database cannot store (spinepath/web/text.py).
        self.execute_wrappers.append(refuse_unstorable_parameters)

    def _set_autocommit(self, autocommit: bool) -> Any:
        super()._set_autocommit(autocommit)
        if not autocommit and self.takes_audit_lock:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
