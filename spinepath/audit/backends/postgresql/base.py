"""PostgreSQL, with every transaction first taking the audit log's lock.

The audit log is one hash chain: a new row needs the hash of the row before it, so audit rows
are chained one transaction at a time. Every transaction takes that lock as its very first
statement (as SQLite's BEGIN IMMEDIATE takes its write lock), so no transaction ever holds a row
lock while waiting for the chain, and the chain can never deadlock with row locks. Reads
outside a transaction do not take it.

Every write takes it exclusively, as before: writes run one at a time, and each chains its own
events and any left unsealed. The one exception is the transaction that only records a page
view (spinepath/audit/services.py: ``audit_now`` outside a transaction). It takes the lock
shared and writes its event unsealed, so page views are recorded side by side. An exclusive
holder (a write, the sealer) therefore starts only once every such transaction before it has
ended, so every unsealed event is committed, and it chains them in id order
(spinepath/audit/sealer.py).
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

    # How the open transaction holds the chain's lock: "exclusive", "shared" or "" (none).
    audit_lock = ""
    # Set for the one transaction that only writes a page view's event (audit_now outside any
    # transaction): it takes the lock shared, beside the others doing the same.
    audit_lock_shared_once = False

    def _set_autocommit(self, autocommit: bool) -> Any:
        super()._set_autocommit(autocommit)
        self.audit_lock = ""
        if not autocommit and self.takes_audit_lock:
            shared = self.audit_lock_shared_once
            function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
            try:
                with self.wrap_database_errors, self.connection.cursor() as cursor:
                    cursor.execute(f"SELECT {function}(%s)", [AUDIT_CHAIN_LOCK])
            except Exception:
                # No transaction begun after all (a lock_timeout, a lost connection): the
                # connection is left as it was, in autocommit, and the error is Django's.
                self.connection.rollback()
                super()._set_autocommit(True)
                raise
            self.audit_lock = "shared" if shared else "exclusive"
