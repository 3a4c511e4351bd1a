"""The shared cache across workers: a write in one process is seen at once by a page another
process serves, never a figure cached before it (issue 29: caches are safe or absent).

Each read runs in a process of its own on the same database and the same shared cache, as
two workers of `spinepath serve` do: the first fills the cache, this process writes, a second
process reads straight after the commit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

from django.utils import timezone
from treatment_helpers import treated
from web_helpers import acting, database_url

from spinepath.followup.models import ReassessmentVisit
from spinepath.followup.services import Answers, paper_form_enter

READ = """
import django, re, sys
django.setup()
from django.contrib.auth.models import User
from web_helpers import signed_in
client = signed_in(User.objects.get(pk=int(sys.argv[1])))
page = client.get(sys.argv[2], HTTP_HOST="127.0.0.1").content.decode()
row = re.search(r'<th scope="row">6 weeks</th><td>(\\d+)</td><td>(\\d+)</td>', page)
print(row.group(1), row.group(2))
"""


def _read_in_another_process(user_id: int, path: str) -> tuple[int, int]:
    env = {**os.environ, "DATABASE_URL": database_url()}
    result = subprocess.run(
        [sys.executable, "-c", READ, str(user_id), path],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    due, measured = result.stdout.split()
    return int(due), int(measured)


def test_an_answer_recorded_here_is_on_the_dashboard_another_worker_serves_at_once(
    clinician: Any, transactional_db: Any
) -> None:
    patient = treated(clinician, 100)
    # A first worker opens the dashboard: its figures and their HTML are now in the cache.
    assert _read_in_another_process(clinician.pk, "/outcomes/") == (1, 0)
    # This process records the six-week answers (committed as the service returns).
    paper_form_enter(
        actor=acting(clinician),
        visit=ReassessmentVisit.objects.get(patient=patient, key="6w"),
        measured_on=timezone.localdate() - timedelta(days=58),
        answers=Answers(40, "vas", [2] * 10),
    )
    # Another worker, straight after: the new figures, not the cached ones.
    assert _read_in_another_process(clinician.pk, "/outcomes/") == (1, 1)
    assert _read_in_another_process(clinician.pk, "/outcomes/?material=msc") == (1, 1)
