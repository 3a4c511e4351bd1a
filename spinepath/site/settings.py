"""Django settings for the spinepath clinic application.

Everything a clinic sets is an environment variable (read with django-environ; listed in
docs/operations.md). SQLite under var/ is the embedded default; set DATABASE_URL
(postgres://user:pass@host/name) for PostgreSQL, the production engine. More app servers
scale out on one PostgreSQL.

Two modes: production (the default) requires every staff member to sign in with a password and
a TOTP code; demo mode (SPINEPATH_DEMO=1, what `make run` uses) also has the demo accounts,
which sign in with their published password alone, and says so on every page.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import environ
from csp.constants import NONE, SELF

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(env.str("SPINEPATH_VAR", default=str(PROJECT_DIR / "var")))
# var/ holds the database, its WAL, the secret key and mail: readable by this user only.
os.umask(0o077)
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
VAR_DIR.chmod(0o700)


def _secret_key() -> str:
    key = env.str("SPINEPATH_SECRET_KEY", default="")
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
DEBUG = env.bool("SPINEPATH_DEBUG", default=False)
SPINEPATH_DEMO = env.bool("SPINEPATH_DEMO", default=False)
SPINEPATH_HTTPS = env.bool("SPINEPATH_HTTPS", default=False)
# The address patients' links point at (reminders are sent from cron, outside a request), and
# behind HTTPS the one origin forms are posted from.
SPINEPATH_BASE_URL = env.str("SPINEPATH_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
SPINEPATH_TRUSTED_PROXY = env.str("SPINEPATH_TRUSTED_PROXY", default="") or None
# The hosts answered: the base address's, and those SPINEPATH_ALLOWED_HOSTS adds (another name
# of the clinic's site, a health check's); nothing else in production. Demo mode adds the local
# names it is opened by; the test runner adds its own ("testserver"). Links in emails are built
# on SPINEPATH_BASE_URL, never on the host a request names.
_base_host = urlsplit(SPINEPATH_BASE_URL).hostname or "127.0.0.1"
ALLOWED_HOSTS = sorted(
    {_base_host, *env.list("SPINEPATH_ALLOWED_HOSTS", default=[])}
    | ({"127.0.0.1", "localhost"} if SPINEPATH_DEMO else set())
)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    # The OAuth 2.0 authorization server of SMART App Launch and Backend Services
    # (spinepath/fhir_api/smart): its clients, grants and tokens.
    "oauth2_provider",
    "spinepath.accounts",
    "spinepath.audit",
    "spinepath.patients",
    "spinepath.consultations",
    "spinepath.plans",
    "spinepath.safety",
    "spinepath.followup",
    "spinepath.public",
    "spinepath.portal",
    "spinepath.policies",
    "spinepath.versions",
    "spinepath.fhir_api",
    "spinepath.outcomes",
    "spinepath.records",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # GET, HEAD and POST only: any other method is a 405 with no body (spinepath/web/methods.py).
    "spinepath.web.methods.MethodGate",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The public indication pages for visitors without cookies, whole from the cache.
    "spinepath.public.page_cache.PublicPageCache",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "spinepath.accounts.middleware.SessionActivityMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "spinepath.accounts.middleware.SecondFactorMiddleware",
    # Text the database cannot store (a NUL, an unpaired surrogate) in the address, the query or
    # a form field: a 400 naming the field (spinepath/web/text.py).
    "spinepath.web.text.UnstorableInputMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "spinepath.web.refusals.RefusalMiddleware",
    "spinepath.audit.middleware.AuditMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "spinepath.web.headers.PrivateByDefaultMiddleware",
    # Last: django-axes refuses a locked-out sign-in on every path that authenticates.
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "spinepath.accounts.backends.StaffBackend",
]

ROOT_URLCONF = "spinepath.site.urls"
WSGI_APPLICATION = "spinepath.site.wsgi.application"

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
                "spinepath.accounts.context.mode",
                "spinepath.followup.context.open_items",
                "spinepath.web.sections.section",
                "spinepath.fhir_api.smart.context.launchable_apps",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'spinepath.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Each transaction first takes the audit chain's lock (spinepath/audit/backends).
    DATABASES["default"]["ENGINE"] = "spinepath.audit.backends.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers queue on a lock file rather than SQLite's sleeping retries (spinepath/audit/
    # backends/sqlite3).
    DATABASES["default"]["ENGINE"] = "spinepath.audit.backends.sqlite3"
if DATABASES["default"]["ENGINE"] == "spinepath.audit.backends.sqlite3":
    # WAL lets readers and a writer work at once; the timeout waits out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        # recursive_triggers: a row that INSERT OR REPLACE removes fires its delete triggers
        # (the refusals of the audit log and the signed decisions, the versions of the facts).
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA recursive_triggers=ON;"
        ),
    }
    # Each server thread keeps its connection (opening one, with its PRAGMAs, cost a tenth of
    # a page's time); a connection that went bad is noticed and replaced.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Tests use a file, so that a test can run two processes against the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The audit log sits below the apps whose records it hears about; the site tells it which model
# is the patient, which apps hold clinical records, and how a page's address leads to its
# patient (like AUTH_USER_MODEL: the audit app names none of the apps above it).
SPINEPATH_PATIENT_MODEL = "patients.Patient"
SPINEPATH_AUDITED_APPS = ("patients", "consultations", "plans", "safety", "followup", "public")
SPINEPATH_AUDIT_PATIENT_OF_ADDRESS = {
    "patient_id": ("patients.Patient", "pk"),
    "encounter_id": ("consultations.Encounter", "patient_id"),
    "study_id": ("consultations.ImagingStudy", "patient_id"),
    "decision_id": ("consultations.CandidacyDecision", "patient_id"),
    "plan_id": ("plans.CarePlan", "patient_id"),
    "procedure_id": ("plans.Procedure", "patient_id"),
    "visit_id": ("followup.ReassessmentVisit", "patient_id"),
    "event_id": ("safety.AdverseEvent", "patient_id"),
    "report_id": ("safety.SafetyReport", "patient_id"),
    "appointment_id": ("public.Appointment", "patient_id"),
    "request_id": ("public.ChangeRequest", "appointment__patient_id"),
}

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
LOGIN_REDIRECT_URL = "public:day"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sessions end after 30 minutes without activity. Activity renews the clock at most once a
# minute (spinepath.accounts.middleware.SessionActivityMiddleware), not with a database write
# on every request.
SESSION_COOKIE_AGE = env.int("SPINEPATH_SESSION_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = False
# Django's database sessions, read in SQL of their own (spinepath/accounts/sessions.py).
SESSION_ENGINE = "spinepath.accounts.sessions"
SPINEPATH_SESSION_RENEW_SECONDS = 60

# The cache (public pages, the outcome dashboard's aggregates) must be shared by every worker
# process and every app server: by default files under var/cache (one machine); with several
# machines, SPINEPATH_CACHE_URL=dbcache://spinepath_cache (the database; `spinepath serve`
# creates the table) or redis://host:6379/0.
CACHES = {
    "default": env.cache_url("SPINEPATH_CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")
}
CACHES["default"].setdefault("TIMEOUT", 24 * 3600)
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache":
    # Culled every half minute rather than on every write (spinepath/web/filecache.py).
    CACHES["default"]["BACKEND"] = "spinepath.web.filecache.FileCache"
# Room for every worklist page and dashboard filter in use (Django's default is 300 entries).
CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 20000)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if SPINEPATH_HTTPS:
    # Behind a TLS reverse proxy: cookies only over HTTPS, plain HTTP redirected, browsers told
    # to use HTTPS for a year, and forms accepted from the clinic's own address.
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env.int("SPINEPATH_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = [SPINEPATH_BASE_URL]
    if SPINEPATH_TRUSTED_PROXY:
        # The proxy's X-Forwarded-Proto is believed only because the server removes that
        # header from anyone but the trusted proxy (`spinepath serve --trusted-proxy`).
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy: scripts only from this site (no inline scripts, no eval), nothing
# embedded from elsewhere, no framing. Inline style attributes are allowed (layout only).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Sign-in throttling (django-axes): five failures for one username from one address lock
# that pair for 15 minutes. Another address, or another user from the same address, is not
# affected, so a guesser can neither lock out the clinic nor a user who is elsewhere.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "spinepath.web.clients.client_address"
AXES_LOCKOUT_CALLABLE = "spinepath.accounts.views.locked_out"
AXES_DISABLE_ACCESS_LOG = True  # sign-ins are in the audit log
AXES_VERBOSE = False

# Second factor (django-otp): TOTP codes from an authenticator app, plus one-time recovery
# codes. A failed code makes the next try wait (1, 2, 4, ... seconds).
OTP_TOTP_ISSUER = env.str("SPINEPATH_CLINIC_NAME", default="Spine Regenerative Clinic")
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

# SMART App Launch 2.0 and Backend Services on django-oauth-toolkit (docs/interoperability.md,
# "SMART on FHIR"): the clinic admin registers each app; staff authorize it for a patient with
# their second factor; a backend service signs a JWT with its registered key. Its models are
# named here so that the migrations referring to them read the same on every installation.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER = {
    # Three grants only (authorization code with PKCE, refresh token, client credentials), the
    # SMART scopes and launch context, and private_key_jwt client authentication.
    "OAUTH2_SERVER_CLASS": "spinepath.fhir_api.smart.server.SmartServer",
    "OAUTH2_VALIDATOR_CLASS": "spinepath.fhir_api.smart.validator.SmartValidator",
    # An access token lasts an hour (a backend service's five minutes); a code a minute; a
    # refresh token (offline_access or online_access) 30 days past its access token's end,
    # replaced at each use, and a replayed one revokes its whole family.
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    "PKCE_REQUIRED": True,  # for public apps; a confidential one may send it (the validator)
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "ALLOW_URI_WILDCARDS": False,
    # The `iss` of an authorization response (RFC 9207): the FHIR base, SMART's `iss`.
    "OIDC_ISS_ENDPOINT": f"{SPINEPATH_BASE_URL}/fhir",
    # RFC 9700 (OAuth 2.0 Security Best Current Practice), every gate on: no implicit or
    # password grant, S256 only, no token in a query string, the `iss` of the answer, tokens
    # kept as their SHA-256 only.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("SPINEPATH_TIME_ZONE", default="America/New_York")
USE_I18N = False  # English only: no per-call language lookup in templates
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# Request bodies over 2 MiB are refused, by Django and before they are read by the WSGI gate in
# front of it (spinepath.site.server.Gate).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
# The clinic's PACS over DICOMweb (QIDO-RS and WADO-RS), e.g. http://pacs:8042/dicom-web.
SPINEPATH_DICOMWEB_URL = env.str("SPINEPATH_DICOMWEB_URL", default="")
SPINEPATH_DICOMWEB_USER = env.str("SPINEPATH_DICOMWEB_USER", default="")
SPINEPATH_DICOMWEB_PASSWORD = env.str("SPINEPATH_DICOMWEB_PASSWORD", default="")
# CDS Hooks (docs/interoperability.md): the EHR FHIR servers whose Patient the services may read
# when a hook names its fhirServer (comma-separated base addresses; this server's own API is
# always read locally), and the identifier system the clinic keeps its EHR's patient ids under
# on charts, for hooks that carry no fhirServer.
SPINEPATH_CDS_FHIR_SERVERS = env.list("SPINEPATH_CDS_FHIR_SERVERS", default=[])
SPINEPATH_EHR_PATIENT_ID_SYSTEM = env.str("SPINEPATH_EHR_PATIENT_ID_SYSTEM", default="")
# Except an MRI's DICOM files on the imaging step (written to temporary files as they arrive).
SPINEPATH_MAX_DICOM_UPLOAD = env.int("SPINEPATH_MAX_DICOM_UPLOAD", default=2 * 1024**3)
DATA_UPLOAD_MAX_NUMBER_FILES = 5000  # the files of one study's folder
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

SPINEPATH_POLICY_FILE = env.str("SPINEPATH_POLICY", default="") or None
# Consultations are booked inside working hours, on working days (ISO: Monday = 1).
SPINEPATH_WORKING_HOURS = ("08:00", "18:00")
SPINEPATH_WORKING_DAYS = (1, 2, 3, 4, 5)
SPINEPATH_CURRENCY = env.str("SPINEPATH_CURRENCY", default="USD")
SPINEPATH_CLINIC_NAME = OTP_TOTP_ISSUER
# Where patients come: in the appointment emails, calendar files and the patient's pages.
SPINEPATH_CLINIC_ADDRESS = env.str("SPINEPATH_CLINIC_ADDRESS", default="")
# The clinic's telephone: what a patient with a worrying safety answer is told to call.
# The demo clinic's number is made up (555-01xx numbers are reserved for fiction), so that its
# patients' pages show where a number goes.
SPINEPATH_CLINIC_PHONE = env.str(
    "SPINEPATH_CLINIC_PHONE", default="(555) 010-0100" if SPINEPATH_DEMO else ""
)
# Phone numbers typed without a leading + are read in this country (ISO 3166 code); the
# clinic's ZIP code gives each patient's distance band in the follow-up completion.
SPINEPATH_PHONE_REGION = env.str("SPINEPATH_PHONE_REGION", default="US")
SPINEPATH_CLINIC_POSTCODE = env.str(
    "SPINEPATH_CLINIC_POSTCODE", default="10016" if SPINEPATH_DEMO else ""
)
# Text messages (the reminder ladder's text step): "twilio" sends through Twilio's REST API
# with its Python library; "file" writes each text under var/sms and sends nothing (the demo);
# "" (the default outside the demo) sends none and the ladder skips the step, saying so.
# SPINEPATH_SMS_API_BASE points the library at another address (a test double).
SPINEPATH_SMS_PROVIDER = env.str("SPINEPATH_SMS_PROVIDER", default="file" if SPINEPATH_DEMO else "")
SPINEPATH_SMS_ACCOUNT = env.str("SPINEPATH_SMS_ACCOUNT", default="")
SPINEPATH_SMS_TOKEN = env.str("SPINEPATH_SMS_TOKEN", default="")
SPINEPATH_SMS_FROM = env.str("SPINEPATH_SMS_FROM", default="")
SPINEPATH_SMS_API_BASE = env.str("SPINEPATH_SMS_API_BASE", default="")
SPINEPATH_SMS_TIMEOUT = env.float("SPINEPATH_SMS_TIMEOUT", default=10.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A questionnaire link's token is a password: it is cut out of every log line. A request
    # refused with a 4xx is one line, never a traceback (those are for the server's own errors).
    "filters": {
        "tokens": {"()": "spinepath.web.clients.RedactTokens"},
        "refusals": {"()": "spinepath.web.clients.NoTracebackForRefusals"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["refusals", "tokens"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    # A refused or bad request (4xx) is in the audit log; the server log keeps errors only.
    "loggers": {"django.request": {"level": "ERROR"}, "django.security": {"level": "ERROR"}},
}

# Email: over SMTP when SPINEPATH_SMTP_HOST is set. Otherwise each message is written to a file
# under var/mail and nothing is sent: fine for a demo; in production the staff pages say
# that patients are not being emailed.
SPINEPATH_SMTP_HOST = env.str("SPINEPATH_SMTP_HOST", default="")
if SPINEPATH_SMTP_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = SPINEPATH_SMTP_HOST
    EMAIL_PORT = env.int("SPINEPATH_SMTP_PORT", default=587)
    EMAIL_HOST_USER = env.str("SPINEPATH_SMTP_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("SPINEPATH_SMTP_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("SPINEPATH_SMTP_TLS", default=True)  # STARTTLS
    EMAIL_TIMEOUT = 20
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("SPINEPATH_FROM_EMAIL", default="clinic@spinepath.local")
SPINEPATH_JOBS_INLINE = env.bool(
    "SPINEPATH_JOBS_INLINE", default=False
)  # what-if runs in the request (tests)
