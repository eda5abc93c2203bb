"""The sweeps' beat schedule, where the platform keeps periodic tasks.

Open edX's Celery app reads the LMS's Django settings without a namespace,
in Celery's old-style names: its beat runs what ``CELERYBEAT_SCHEDULE``
holds. The suspender, the reaper and the reconciler go there:

- by the platform's plugin settings (``plugin_settings``, named in
  ``apps.py``), which the LMS calls while its settings load, for any
  installation of the app;
- again by the Tutor plugin's settings patch, after the block's settings are
  final (Tutor writes them after the platform's own settings and plugins).

Nothing here imports Django models or Celery: settings modules import it.
"""

from . import conf

SWEEPS = {"hastexo_lab.suspender": "suspend_interval", "hastexo_lab.reaper": "delete_interval",
          "hastexo_lab.reconciler": "reconcile_interval"}


def entries(settings):
    """The beat entries of the sweeps for checked settings (``conf.Settings``):
    each on the lab queue, at its interval, expiring after one interval so that
    a stalled beat never piles up runs."""
    schedule = {}
    for task, key in SWEEPS.items():
        interval = getattr(settings, key)
        schedule[task] = {"task": task, "schedule": float(interval),
                          "options": {"queue": settings.task_queue, "expires": interval}}
    return schedule


def sweep_schedule(block_settings):
    """The beat entries for ``XBLOCK_SETTINGS["hastexo_lab"]`` as written
    (checked here: a mistake raises ImproperlyConfigured naming the key)."""
    return entries(conf.parse(block_settings))


def with_sweeps(schedule, block_settings):
    """``schedule`` (a CELERYBEAT_SCHEDULE) with the sweeps added; other
    entries are kept."""
    return {**(schedule or {}), **sweep_schedule(block_settings)}


def plugin_settings(settings):
    """The platform's plugin settings hook (edx-django-utils): add the
    sweeps to the LMS's CELERYBEAT_SCHEDULE."""
    block_settings = (getattr(settings, "XBLOCK_SETTINGS", None) or {}).get(conf.SETTINGS_NAME)
    settings.CELERYBEAT_SCHEDULE = with_sweeps(getattr(settings, "CELERYBEAT_SCHEDULE", None), block_settings)
