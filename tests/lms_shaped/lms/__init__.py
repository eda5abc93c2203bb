"""The LMS package: importing it binds shared tasks to the LMS's Celery app, as the platform's does."""

from .celery import APP as CELERY_APP  # noqa: F401
