"""Django settings of the demo (see hastexo_lab.demo.server)."""

import json
import os

from workbench.settings import *  # noqa: F403 (the workbench's apps, middleware, templates)
from workbench.settings import INSTALLED_APPS as WORKBENCH_APPS

DATA_DIR = os.environ.get("HASTEXO_LAB_DEMO_DIR", os.path.abspath("var/demo"))

SECRET_KEY = os.environ.get("HASTEXO_LAB_DEMO_SECRET", "hastexo-lab-demo-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [*WORKBENCH_APPS, "hastexo_lab"]
ROOT_URLCONF = "hastexo_lab.demo.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(DATA_DIR, "demo.sqlite3"),
        "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
    }
}
DJFS = {"type": "osfs", "directory_root": os.path.join(DATA_DIR, "djpyfs"), "url_root": "/static/djpyfs"}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"hastexo_lab": {"handlers": ["console"], "level": "INFO"}},
}

# One process: the broker can live in memory.
CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

XBLOCK_SETTINGS = {"hastexo_lab": json.loads(os.environ.get("HASTEXO_LAB_DEMO_SETTINGS", "{}"))}
