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
        # A retired learner's labs are deleted and their rows anonymised
        # (retirement.py). The platform's signal by its path: the app never
        # imports the platform. The stack log's post_save renames a retired
        # learner's stack once its delete is done, in the LMS's workers too.
        "signals_config": {
            "lms.djangoapp": {
                "relative_path": "retirement",
                "receivers": [
                    {"receiver_func_name": "retire_learner",
                     "signal_path": "openedx.core.djangoapps.user_api.accounts.signals.USER_RETIRE_LMS_MISC",
                     "dispatch_uid": "hastexo_lab.retirement.retire_learner"},
                    {"receiver_func_name": "forget_deleted_stack",
                     "signal_path": "django.db.models.signals.post_save",
                     "sender_path": "hastexo_lab.models.StackLog",
                     "dispatch_uid": "hastexo_lab.retirement.forget_deleted_stack"},
                ],
            },
        },
    }

    def ready(self):
        from . import conf, signals

        # Bad settings fail at start-up, naming the key, not at a learner's first click.
        conf.get_settings()
        signals.connect()
