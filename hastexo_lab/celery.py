"""A Celery app for operators who run lab workers outside the LMS.

    DJANGO_SETTINGS_MODULE=lms.envs.production celery -A hastexo_lab.celery:app worker -Q hastexo_lab

Celery settings come from the Django settings (``CELERY_*``); the beat
schedule of the sweeps is added from ``XBLOCK_SETTINGS["hastexo_lab"]``. Inside the LMS,
the tasks register with the LMS's own Celery app instead; this module is not
needed there.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", os.environ.get("HASTEXO_LAB_DJANGO_SETTINGS", "lms.envs.production"))

app = Celery("hastexo_lab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["hastexo_lab"])


@app.on_after_finalize.connect
def _schedule_sweeps(sender, **kwargs):
    """Celery beat runs the suspender, reaper and reconciler at the configured
    intervals (``celery -A hastexo_lab.celery:app beat``)."""
    from .tasks import beat_schedule
    for name, entry in beat_schedule().items():
        sender.conf.beat_schedule.setdefault(name, entry)
