"""Django settings of bench/terminal.py: the test suite's, on a SQLite file
the benchmark and its gateway process share."""

import os

from tests.project.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["HASTEXO_LAB_BENCH_DB"],
        "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
    }
}
