"""The LMS's production settings, as far as a Celery worker and beat see
them: old-style Celery names, the broker URL built from its parts, the
platform's queues and router, the plugin apps' settings; on the test suite's
project (the workbench's apps and hastexo_lab) and its database."""

import json
import os

from edx_django_utils.plugins import add_plugins

from tests.project.settings import *  # noqa: F403

# The test project's own Celery settings are new-style names: none here.
for _name in [name for name in globals() if name.startswith("CELERY")]:
    del globals()[_name]

INSTALLED_APPS = [*INSTALLED_APPS, "django_celery_results"]  # noqa: F405
SERVICE_VARIANT = "lms"
# From the LMS's YAML configuration, as Tutor writes it (lms.env.yml).
CELERY_BROKER_TRANSPORT = "redis"
CELERY_BROKER_HOSTNAME = os.environ.get("LMS_REDIS_ADDRESS", "127.0.0.1:6379")
CELERY_BROKER_VHOST = os.environ.get("LMS_REDIS_DB", "0")
CELERY_BROKER_USER = ""
CELERY_BROKER_PASSWORD = ""
XBLOCK_SETTINGS = {"hastexo_lab": json.loads(os.environ.get("LMS_HASTEXO_LAB_SETTINGS", "{}"))}

BROKER_URL = (f"{CELERY_BROKER_TRANSPORT}://{CELERY_BROKER_USER}:{CELERY_BROKER_PASSWORD}"
              f"@{CELERY_BROKER_HOSTNAME}/{CELERY_BROKER_VHOST}")
BROKER_USE_SSL = False
BROKER_POOL_LIMIT = 0
BROKER_CONNECTION_TIMEOUT = 1
BROKER_TRANSPORT_OPTIONS = {"fanout_patterns": True, "fanout_prefix": True}
CELERYD_PREFETCH_MULTIPLIER = 1
CELERYD_HIJACK_ROOT_LOGGER = False
CELERY_RESULT_BACKEND = "django-cache"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_MESSAGE_COMPRESSION = "gzip"
CELERY_CREATE_MISSING_QUEUES = True

HIGH_PRIORITY_QUEUE = f"edx.{SERVICE_VARIANT}.core.high"
DEFAULT_PRIORITY_QUEUE = f"edx.{SERVICE_VARIANT}.core.default"
HIGH_MEM_QUEUE = f"edx.{SERVICE_VARIANT}.core.high_mem"
CELERY_QUEUES = {HIGH_PRIORITY_QUEUE: {}, DEFAULT_PRIORITY_QUEUE: {}, HIGH_MEM_QUEUE: {},
                 "edx.cms.core.default": {}}
CELERY_DEFAULT_EXCHANGE = f"edx.{SERVICE_VARIANT}.core"
CELERY_DEFAULT_EXCHANGE_TYPE = "direct"
CELERY_DEFAULT_QUEUE = CELERY_DEFAULT_ROUTING_KEY = DEFAULT_PRIORITY_QUEUE
CELERY_ROUTES = "openedx.core.lib.celery.routers.route_task"
CELERY_IMPORTS = []
CELERYBEAT_SCHEDULE = {}

add_plugins(__name__, "lms.djangoapp", "production")

# Reset after the plugins, as the platform does: a plugin cannot route here.
ALTERNATE_ENV_TASKS = {}
EXPLICIT_QUEUES = {}
