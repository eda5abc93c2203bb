from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HastexoLabConfig(AppConfig):
    name = "hastexo_lab"
    label = "hastexo_lab"
    verbose_name = _("hastexo labs")
    default_auto_field = "django.db.models.BigAutoField"

    # Open edX plugin registration: installed into the LMS and Studio without
    # hand edits to their settings.
    plugin_app = {
        "url_config": {
            "lms.djangoapp": {"namespace": "hastexo_lab", "regex": r"^hastexo-lab/", "relative_path": "urls"},
        },
        # The sweeps in the LMS's CELERYBEAT_SCHEDULE, which its beat runs.
        "settings_config": {
            "lms.djangoapp": {"common": {"relative_path": "schedule"}, "production": {"relative_path": "schedule"}},
        },
    }

    def ready(self):
        from . import conf, signals

        # Bad settings fail at start-up, naming the key, not at a learner's first click.
        conf.get_settings()
        signals.connect()
