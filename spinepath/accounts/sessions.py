"""Django's database sessions, read in SQL of their own: every signed-in request reads its
session, and the ORM's query costs several times the read itself (issue 29). Writing, expiry
and deletion are Django's, unchanged."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import SuspiciousOperation
from django.db import connections, router
from django.utils import timezone


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Any:
        key = self.session_key
        if not key:
            self._session_key = None
            return None
        model = self.model
        using = router.db_for_read(model)
        connection = connections[using]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT session_data FROM {model._meta.db_table} "
                    "WHERE session_key = %s AND expire_date > %s",
                    [key, now],
                )
                row = cursor.fetchone()
        except SuspiciousOperation as problem:  # e.g. a NUL in the cookie (as Django does)
            logging.getLogger(f"django.security.{type(problem).__name__}").warning(str(problem))
            row = None
        if row is None:
            self._session_key = None
            return None
        return model(session_key=key, session_data=row[0])
