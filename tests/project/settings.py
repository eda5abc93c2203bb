"""Django settings for the test suite.

HASTEXO_LAB_TEST_DB=postgresql runs the suite on the local PostgreSQL server
(database ``test_hastexo_lab``, created and dropped by the tests); the default
is SQLite. HASTEXO_LAB_TEST_BROKER picks the Celery broker (default: memory).
"""

import json
import os
import tempfile

SECRET_KEY = "hastexo-lab-tests-only-not-a-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.sessions",
    "hastexo_lab",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.project.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("HASTEXO_LAB_TEST_DB") == "postgresql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
            # A worker process started by a test is pointed at the test database.
            "NAME": os.environ.get("HASTEXO_LAB_TEST_DB_NAME", "hastexo_lab"),
            "TEST": {"NAME": "test_hastexo_lab"},
        }
    }
else:
    # A file, not :memory:, so that worker threads share it; IMMEDIATE
    # transactions queue writers instead of failing them with "locked".
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(tempfile.gettempdir(), f"hastexo_lab_{os.getpid()}.sqlite3"),
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
            "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"test_hastexo_lab_{os.getpid()}.sqlite3")},
        }
    }

CELERY_BROKER_URL = os.environ.get("HASTEXO_LAB_TEST_BROKER", "memory://")
# A message whose worker died is delivered again after visibility_timeout;
# short here, and checked for every second, so the crash test is quick.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 5, "polling_interval": 0.01,
                                   "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

XBLOCK_SETTINGS = {"hastexo_lab": json.loads(os.environ.get("HASTEXO_LAB_TEST_SETTINGS", "{}"))}
