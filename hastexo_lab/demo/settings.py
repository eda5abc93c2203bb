"""Django settings of the demo (see hastexo_lab.demo.server)."""

import json
import os

from workbench.settings import *  # noqa: F403 (the workbench's apps, middleware, templates)
from workbench.settings import INSTALLED_APPS as WORKBENCH_APPS

DATA_DIR = os.environ.get("HASTEXO_LAB_DEMO_DIR", os.path.abspath("var/demo"))


def _secret_key(data_dir):
    """This demo's own secret key (it also keys the encryption of the labs'
    secrets at rest): made on first start, kept in the data folder."""
    import secrets

    path = os.path.join(data_dir, "secret_key")
    try:
        with open(path, encoding="ascii") as handle:
            key = handle.read().strip()
        if len(key) >= 50:
            return key
    except FileNotFoundError:
        pass
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    key = secrets.token_urlsafe(64)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


SECRET_KEY = _secret_key(DATA_DIR)
DEBUG = False
# What the demo serves (hastexo_lab.demo.server.demo_hosts), never any name:
# a page of another site could point its own name at 127.0.0.1 (DNS rebinding).
ALLOWED_HOSTS = json.loads(os.environ.get("HASTEXO_LAB_DEMO_HOSTS", '["127.0.0.1", "localhost", "[::1]"]'))
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
    # Not propagated: the worker gives the root logger a handler of its own.
    "loggers": {"hastexo_lab": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# One process: the broker can live in memory.
CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

XBLOCK_SETTINGS = {"hastexo_lab": json.loads(os.environ.get("HASTEXO_LAB_DEMO_SETTINGS", "{}"))}
