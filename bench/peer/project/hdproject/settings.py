"""Minimal production-like Django project hosting django-helpdesk (SQLite).

Everything machine-specific comes from environment variables; paths default to
locations relative to this file (project dir = $PEER_DIR/project).
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent  # $PEER_DIR/project
PEER_DIR = Path(os.environ.get("PEER_DIR", BASE_DIR.parent))

SECRET_KEY = os.environ.get("HD_SECRET_KEY", "peer-benchmark-only-not-secret-0123456789abcdef")
DEBUG = os.environ.get("HD_DEBUG", "0") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",  # helpdesk.lib.build_base_url uses Site
    "django.contrib.humanize",  # used by helpdesk templates
    "rest_framework",  # helpdesk/urls.py registers a DRF router
    "helpdesk",
]
SITE_ID = 1

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hdproject.urls"
WSGI_APPLICATION = "hdproject.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,  # with DEBUG=False Django wraps these in the cached loader
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite, with the settings Django's docs recommend for SQLite in production
# (WAL, synchronous=NORMAL, BEGIN IMMEDIATE, generous busy timeout).
# HD_SQLITE_PLAIN=1 gives Django's bare defaults instead (rollback journal, 5 s timeout).
_DB_PATH = os.environ.get("HD_DB_PATH", str(PEER_DIR / "data" / "db.sqlite3"))
if os.environ.get("HD_SQLITE_PLAIN", "0") == "1":
    _DB_OPTIONS = {}
else:
    _DB_OPTIONS = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _DB_PATH,
        "OPTIONS": _DB_OPTIONS,
    }
}

AUTH_PASSWORD_VALIDATORS = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = str(PEER_DIR / "static")
MEDIA_ROOT = str(PEER_DIR / "media")
MEDIA_URL = "media/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:home"

# No SMTP on this machine: mail is rendered from helpdesk's DB templates as
# usual, then dropped by the dummy backend (send_messages just returns a count).
EMAIL_BACKEND = os.environ.get("HD_EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
DEFAULT_FROM_EMAIL = "helpdesk@example.invalid"

# --- django-helpdesk (names from helpdesk/settings.py) ---
# Teams mode defaults to True and then needs the pinax-teams package; turn it
# off so the KB's team FK points at AUTH_USER_MODEL (helpdesk/settings.py).
HELPDESK_TEAMS_MODE_ENABLED = False
HELPDESK_KB_ENABLED = True
HELPDESK_API_ENABLED = True  # this version's switch (default True) for helpdesk/api/
HELPDESK_UI_ENABLED = True
HELPDESK_SUBMIT_A_TICKET_PUBLIC = True
HELPDESK_VIEW_A_TICKET_PUBLIC = True

# REST_FRAMEWORK is left at DRF's defaults (Session + Basic auth, JSON +
# browsable renderers). Basic auth runs the password hasher on every request, so
# the load scripts log in once and use the session cookie + X-CSRFToken instead.

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
