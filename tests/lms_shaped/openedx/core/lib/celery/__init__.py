"""One Celery app for the LMS and Studio, read from the Django settings with
no namespace (so the settings use Celery's old-style names)."""

from celery import Celery

APP = Celery("proj")
# Protocol 1 messages, as the platform sent them for years (and may still).
APP.conf.task_protocol = 1
APP.config_from_object("django.conf:settings")
APP.autodiscover_tasks()
