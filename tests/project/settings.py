"""Django settings for the test suite: the xblock-sdk workbench plus hastexo_lab.

HASTEXO_LAB_TEST_DB=postgresql runs the suite on the local PostgreSQL server,
HASTEXO_LAB_TEST_DB=mysql on the local MySQL (or MariaDB) server, as Open edX
runs it (database ``test_hastexo_lab``, created and dropped by the tests); the
default is SQLite. HASTEXO_LAB_TEST_BROKER picks the Celery broker (default: memory).
"""

import json
import os
import tempfile

from workbench.settings import *  # noqa: F403 (the workbench's apps, middleware, templates)
from workbench.settings import INSTALLED_APPS as WORKBENCH_APPS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TMP = tempfile.gettempdir()

SECRET_KEY = "hastexo-lab-tests-only-not-a-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
# The platform's completion app (and the switch it reads), for the tests of
# how a lab's completion meets the platform's.
INSTALLED_APPS = [*WORKBENCH_APPS, "hastexo_lab", "waffle", "completion"]
ROOT_URLCONF = "tests.project.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The workbench logs to a file relative to the working directory; not here.
LOGGING = {"version": 1, "disable_existing_loggers": False}
DJFS = {"type": "osfs", "directory_root": os.path.join(TMP, "hastexo_lab_djpyfs"), "url_root": "/static/djpyfs"}

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
elif os.environ.get("HASTEXO_LAB_TEST_DB") == "mysql":
    # As Open edX configures it: utf8mb4, strict mode; Django's default
    # isolation level there (read committed).
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "HOST": os.environ.get("MYSQL_HOST", "127.0.0.1"),
            "PORT": os.environ.get("MYSQL_PORT", "3306"),
            "USER": os.environ.get("MYSQL_USER", "root"),
            "PASSWORD": os.environ.get("MYSQL_PASSWORD", ""),
            "NAME": os.environ.get("HASTEXO_LAB_TEST_DB_NAME", "hastexo_lab"),
            "OPTIONS": {"charset": "utf8mb4", "init_command": "SET sql_mode='STRICT_TRANS_TABLES'"},
            "TEST": {"NAME": "test_hastexo_lab", "CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    }
else:
    # A file, not :memory:, so that worker threads share it; IMMEDIATE
    # transactions queue writers instead of failing them with "locked".
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(TMP, f"hastexo_lab_{os.getpid()}.sqlite3"),
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
            "TEST": {"NAME": os.path.join(TMP, f"test_hastexo_lab_{os.getpid()}.sqlite3")},
        }
    }

CELERY_BROKER_URL = os.environ.get("HASTEXO_LAB_TEST_BROKER", "memory://")
# A message whose worker died is delivered again after visibility_timeout;
# short here, and checked for every second, so the crash test is quick.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("HASTEXO_LAB_TEST_VISIBILITY", "5")),
                                   "polling_interval": 0.01,
                                   "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

XBLOCK_SETTINGS = {"hastexo_lab": json.loads(os.environ.get("HASTEXO_LAB_TEST_SETTINGS", "{}"))}
