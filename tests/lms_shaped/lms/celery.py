"""``celery --app=lms.celery``: the LMS's Celery app."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.envs.production")

from openedx.core.lib.celery import APP  # noqa: E402, F401
