"""Django settings of the demo (see hastexo_lab.demo.server)."""

import json
import os
import secrets

from workbench.settings import *  # noqa: F403 (the workbench's apps, middleware, templates)
from workbench.settings import INSTALLED_APPS as WORKBENCH_APPS

DATA_DIR = os.environ.get("HASTEXO_LAB_DEMO_DIR", os.path.abspath("var/demo"))
SETTINGS_FILE = "settings.json"


def kept_secret(data_dir, name):
    """A secret of this demo's, made on first start and kept in the data
    folder (for this user only): its secret key (which also keys the
    encryption of the labs' secrets at rest), the metrics token."""
    path = os.path.join(data_dir, name)
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


def _block_settings(data_dir):
    """The block's settings of the demo last started on this folder (its fake
    clouds' addresses and accounts), which it writes there at start: a
    command in another process acts on the same clouds."""
    try:
        with open(os.path.join(data_dir, SETTINGS_FILE), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}
SECRET_KEY = kept_secret(DATA_DIR, "secret_key")
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

# The broker: folders in the data folder, which a command in another process
# (python -m hastexo_lab.demo.manage hastexo_lab suspend ...) shares with the
# demo's worker; no server to run. Messages taken are moved within the folder
# (kombu would move them through the system's temporary folder, where the
# labs' users could read them) and the demo deletes them there.
BROKER_DIR = os.path.join(DATA_DIR, "broker")
os.makedirs(BROKER_DIR, mode=0o700, exist_ok=True)
BROKER_FOLDERS = {name: os.path.join(BROKER_DIR, name) for name in ("queue", "control", "taken")}
for _folder in BROKER_FOLDERS.values():
    os.makedirs(_folder, mode=0o700, exist_ok=True)
CELERY_BROKER_URL = "filesystem://localhost/"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": BROKER_FOLDERS["queue"], "data_folder_out": BROKER_FOLDERS["queue"],
    "control_folder": BROKER_FOLDERS["control"],
    "store_processed": True, "processed_folder": BROKER_FOLDERS["taken"],
    "polling_interval": 0.2,
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Nothing controls the demo's worker remotely: no control queue to poll.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False

XBLOCK_SETTINGS = {"hastexo_lab": {"metrics_token": kept_secret(DATA_DIR, "metrics_token"),
                                   **_block_settings(DATA_DIR)}}
