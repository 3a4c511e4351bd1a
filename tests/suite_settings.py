"""The settings the test suite runs with: the clinic's own, with a fast password hasher.

Every test that makes a staff member hashes a password; argon2 (the clinic's hasher) takes a
tenth of a second or more each time, by design. The suite hashes with MD5 instead; the clinic's
hashers stay listed after it, so their hashes still verify. A test about password hashing asks
for the clinic's own hashers with ``@pytest.mark.clinic_password_hashers`` (tests/conftest.py).

pytest-django points DJANGO_SETTINGS_MODULE here (pyproject.toml) and tests/conftest.py puts
this folder on PYTHONPATH, so the processes a test starts (a server, the command line, the
what-if run) use the same settings. Keep this a thin layer over the clinic's settings module:
only the import below names where those live.
"""

from spinepath.site.settings import *  # noqa: F403
from spinepath.site.settings import PASSWORD_HASHERS

CLINIC_PASSWORD_HASHERS = list(PASSWORD_HASHERS)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *CLINIC_PASSWORD_HASHERS]

# On PostgreSQL the suite's commits do not wait for the write-ahead log to reach the disk
# (synchronous_commit=off, for the suite's own connections only): a test's database is thrown
# away when the run ends, so a crash could lose nothing that matters, and the many commits of
# the tests that commit (a live server, parallel posts, the state machine's steps) stop
# waiting on fsync. What the suite checks - the SQL, its locks, its transactions - is the same.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    _options = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
    _options["options"] = (_options.get("options", "") + " -c synchronous_commit=off").strip()
