"""The platform's task router: a task named in EXPLICIT_QUEUES goes to its
queue, one in ALTERNATE_ENV_TASKS to the other service's queue; the rest go
where the sender says, else to the default queue."""

from django.conf import settings


def route_task(name, args, kwargs, options, task=None, **kw):
    if name in settings.EXPLICIT_QUEUES:
        return settings.EXPLICIT_QUEUES[name]
    other = settings.ALTERNATE_ENV_TASKS.get(name)
    if other:
        return next(({"queue": queue} for queue in settings.CELERY_QUEUES if f".{other}." in queue), None)
    return None
