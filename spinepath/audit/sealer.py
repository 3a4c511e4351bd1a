"""The sealer: chains the events written before they were chained, within a second.

On PostgreSQL a page view's event is written in a transaction of its own that takes the chain's
lock shared, so that page views are recorded side by side rather than one at a time
(spinepath/audit/backends/postgresql). Its row is durable when the page is answered, but has no
``seq`` or hashes yet. Whatever takes the lock exclusively next chains it, in id order:

- every write, at its first event (spinepath/audit/services.py: ``_sealed_head``);
- ``spinepath audit verify``, ``spinepath audit seal`` and a backup, before they read the log;
- the sealer thread of each server process (``spinepath serve``), which looks twice a second
  and chains what it finds. With several servers on one database each runs one; they take
  turns on the lock, and all but the first find nothing to do.

Nothing is lost or reordered on a crash: an event is committed with its page's transaction or
not at all, and a sealing is one transaction, so a crash during it leaves the events unsealed
for the next one, which chains them in the same id order. On SQLite every transaction holds
the database's write lock, so every event is chained as it is written and the sealer never
finds anything.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import close_old_connections, connection, transaction

from spinepath.audit.models import AuditEvent
from spinepath.audit.services import seal_pending

log = logging.getLogger("spinepath.audit")

INTERVAL = 0.5  # seconds between looks
LOG_EVERY = 60.0  # seconds between two reports of the same failing sealing


def unsealed() -> int:
    """How many events are not chained yet (a look through a partial index: no lock)."""
    return AuditEvent.objects.filter(seq__isnull=True).count()


BATCH = 500  # events chained in one transaction, at most, where they can wait


def seal_now() -> int:
    """Chain every event not chained yet, under the chain's exclusive lock; how many. A long
    backlog (a sealer stopped a while) is chained a batch per transaction, so that nobody waits
    long on the lock; inside a transaction already begun, all at once."""
    if connection.in_atomic_block:
        return seal_pending()
    total = 0
    while AuditEvent.objects.filter(seq__isnull=True).exists():
        with transaction.atomic():
            done = seal_pending(limit=BATCH)
        total += done
        if not done:
            break
    return total


@contextmanager
def chain_held() -> Iterator[None]:
    """On PostgreSQL, the chain's lock held exclusively by this process's connection across
    transactions (at session level), with every event chained first: nothing is written to the
    log until the block ends. A backup exports its snapshot inside it, so the snapshot holds
    every event chained and none half written."""
    if connection.vendor != "postgresql":
        yield
        return
    from spinepath.audit.backends.postgresql.base import AUDIT_CHAIN_LOCK

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [AUDIT_CHAIN_LOCK])
    try:
        try:
            seal_now()  # each batch's transaction is granted the lock this session holds
        except Exception:  # an event the application cannot read: the backup is made anyway
            log.exception("events could not be chained before the backup; it holds them unsealed")
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [AUDIT_CHAIN_LOCK])


def chained(event: AuditEvent) -> AuditEvent:
    """``event`` with its number and hash: chained now if it was written unsealed (behind a
    backlog), for what prints the head it makes."""
    if event.seq is not None:
        return event
    seal_now()
    return AuditEvent.objects.get(pk=event.pk)


def seal_at_exit() -> None:
    """A server process's last sealing, as it stops: best effort (the next holder of the lock
    chains whatever is left)."""
    if _started is None:
        return
    _started.stop()
    try:
        close_old_connections()
        seal_now()
    except Exception:
        log.exception("the audit sealer could not chain the events left at exit")
    finally:
        connection.close()


class Sealer(threading.Thread):
    """A server process's sealer: looks every ``INTERVAL`` seconds (a little jitter, so that
    several processes do not look in step) and chains what it finds."""

    def __init__(self, interval: float = INTERVAL) -> None:
        super().__init__(name="spinepath-audit-sealer", daemon=True)
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        said_at = -LOG_EVERY
        while not self.stopping.wait(self.interval * random.uniform(0.8, 1.2)):
            try:
                close_old_connections()
                seal_now()
            except Exception:  # the next look tries again; the events wait, committed
                if (
                    time.monotonic() - said_at >= LOG_EVERY
                ):  # said once a minute, not twice a second
                    said_at = time.monotonic()
                    log.exception("the audit sealer could not chain the events written; retrying")
                connection.close()
        connection.close()

    def stop(self) -> None:
        self.stopping.set()


_started: Sealer | None = None


def start_in_this_process() -> Sealer | None:
    """Start this process's sealer, where events can be left unsealed (PostgreSQL); once."""
    global _started
    if connection.vendor != "postgresql" or _started is not None:
        return _started
    _started = Sealer()
    _started.start()
    return _started
