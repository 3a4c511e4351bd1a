"""Django settings for the spinepath clinic application.

SQLite under var/ is the embedded default; set DATABASE_URL (postgres://user:pass@host/name)
for PostgreSQL, the production engine. More app servers scale out on one PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("SPINEPATH_VAR", PROJECT_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = os.environ.get("SPINEPATH_SECRET_KEY")
    if key:
        return key
    # A per-installation key kept under var/, so sessions survive restarts without a
    # key in the repository.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("SPINEPATH_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("SPINEPATH_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(
    ","
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "spinepath.accounts",
    "spinepath.audit",
    "spinepath.patients",
    "spinepath.consultations",
    "spinepath.plans",
    "spinepath.followup",
    "spinepath.public",
    "spinepath.outcomes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "spinepath.accounts.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "spinepath.web.refusals.RefusalMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "spinepath.web.urls"
WSGI_APPLICATION = "spinepath.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "spinepath.accounts.context.roles",
                "spinepath.followup.context.open_items",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'spinepath.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and a writer work at once; the timeout waits out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests use a file, so that a test can run two processes against the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "patients:list"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sessions end after 30 minutes without activity (every request renews the clock).
SESSION_COOKIE_AGE = int(os.environ.get("SPINEPATH_SESSION_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if os.environ.get("SPINEPATH_HTTPS") == "1":
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Login throttling: this many failures for one username or one address within the window
# locks further attempts until the window has passed.
LOGIN_MAX_FAILURES = 5
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("SPINEPATH_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

SPINEPATH_POLICY_FILE = os.environ.get("SPINEPATH_POLICY") or None
# Consultations are booked inside working hours, on working days (ISO: Monday = 1).
SPINEPATH_WORKING_HOURS = ("08:00", "18:00")
SPINEPATH_WORKING_DAYS = (1, 2, 3, 4, 5)
SPINEPATH_CURRENCY = os.environ.get("SPINEPATH_CURRENCY", "USD")
SPINEPATH_CLINIC_NAME = os.environ.get("SPINEPATH_CLINIC_NAME", "Spine Regenerative Clinic")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# Email: files under var/mail by default (a demo can open them); SMTP when configured.
if os.environ.get("SPINEPATH_SMTP_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["SPINEPATH_SMTP_HOST"]
    EMAIL_PORT = int(os.environ.get("SPINEPATH_SMTP_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("SPINEPATH_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("SPINEPATH_SMTP_PASSWORD", "")
    EMAIL_USE_TLS = os.environ.get("SPINEPATH_SMTP_TLS", "1") == "1"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = os.environ.get("SPINEPATH_FROM_EMAIL", "clinic@spinepath.local")
# The address patients' links point at (reminders are sent from cron, outside a request).
SPINEPATH_BASE_URL = os.environ.get("SPINEPATH_BASE_URL", "http://127.0.0.1:8000")
