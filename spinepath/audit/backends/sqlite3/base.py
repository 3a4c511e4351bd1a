"""SQLite, with writers queueing on a lock file instead of polling the database.

Every transaction starts with BEGIN IMMEDIATE, so it holds SQLite's write lock until it ends
(and audit rows are chained one at a time). A second writer that finds the lock taken does not
wait for it: SQLite's busy handler sleeps and retries, in steps that grow to 100 ms, so under
load most of a request's time is spent asleep while the lock is free. Here each transaction
first takes an exclusive lock on one file beside the database (``fcntl.flock``, released at
commit or rollback): waiting writers queue in the kernel and the next one starts the moment the
last one ends. The order of locks is always the file, then the database, so they cannot
deadlock; a write outside a transaction still waits in SQLite's own way.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Any

from django.db.backends.sqlite3 import base

from spinepath.web.text import refuse_unstorable_parameters


class DatabaseWrapper(base.DatabaseWrapper):  # type: ignore[misc]
    _write_lock: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # No query parameter carries text the database cannot store (spinepath/web/text.py).
        self.execute_wrappers.append(refuse_unstorable_parameters)

    def _lock_path(self) -> Path:
        name = str(self.settings_dict["NAME"])
        return Path(name + "-writers.lock")

    def _start_transaction_under_autocommit(self) -> None:
        if self._write_lock is None and not self.is_in_memory_db():
            handle = open(self._lock_path(), "a")  # noqa: SIM115 (held until the transaction ends)
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._write_lock = handle
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        handle, self._write_lock = self._write_lock, None
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_write_lock()
