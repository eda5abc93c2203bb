"""A Celery app for the lab tasks outside Open edX (the demo, a Django site
of one's own):

    DJANGO_SETTINGS_MODULE=mysite.settings celery -A hastexo_lab.celery:app worker -Q hastexo_lab

Celery settings come from the Django settings, new-style (``CELERY_BROKER_URL``
...); the beat schedule of the sweeps is added from
``XBLOCK_SETTINGS["hastexo_lab"]``. Inside Open edX the worker and beat are
the LMS's own app (``celery --app=lms.celery``), which reads the LMS's
old-style settings and broker: this module is not used there.

The processes that send tasks need this app too: a Django site's
``manage.py hastexo_lab suspend ...`` sends through it only when the site
imports it (as Celery's Django guide has the project's ``__init__`` do);
otherwise the command finds Celery's default broker, and says it cannot reach
it. The demo's ``python -m hastexo_lab.demo.manage`` does import it.
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
