"""The hastexo_lab Tutor plugin: the block in the openedx image, its settings
in the LMS and Studio (each with only the secrets it uses), its Celery
workers (lab tasks, progress checks) and beat, the terminal gateway behind
the LMS's proxy, optionally Apache Guacamole, and the migrations at ``tutor
... do init``. Written against Tutor's v1 hooks API (Tutor 21, 22).
"""

import os
import re
import secrets
import stat
from importlib import resources

from tutor import fmt, hooks
from tutor.exceptions import TutorError

from . import __version__

NAME = "hastexo_lab"
HERE = os.path.dirname(os.path.abspath(__file__))

# Values with defaults; an operator sets any of them with
# `tutor config save --set HASTEXO_LAB_...=...`.
DEFAULTS = {
    "VERSION": __version__,
    # The project's repository: a release is its tag v<version>.
    "REPOSITORY": "https://github.com/hastexo/hastexo-lab",
    # What the openedx image installs (docs/tutor.md): by default this
    # release from the repository; also a version on a package index, a
    # wheel's URL, or "" when a checkout is installed with `tutor mounts add`.
    "PIP_REQUIREMENT": "hastexo-lab @ git+{{ HASTEXO_LAB_REPOSITORY }}@v{{ HASTEXO_LAB_VERSION }}",
    # name -> provider settings (the block's `providers`); order is preference.
    "PROVIDERS": {},
    # Any other of the block's settings (docs/settings.md), merged last.
    "SETTINGS": {},
    # "builtin" (the SSH terminal gateway) or "guacamole".
    "TERMINAL": "builtin",
    "TERMINAL_PATH": "/hastexo-lab-terminal/",
    "TERMINAL_PORT": 8090,
    # Origins besides the LMS's, Studio's and the learning MFE's whose pages
    # frame the terminal.
    "FRAME_ANCESTORS": [],
    # Keys that encrypted lab secrets before (a rotation): still read, never written.
    "OLD_ENCRYPTION_KEYS": [],
    "TASK_QUEUE": "hastexo_lab",
    "WORKER_CONCURRENCY": 4,
    # Progress checks: their own queue and worker, so that scripts that hang
    # on learners' labs never hold up a launch.
    "CHECK_QUEUE": "hastexo_lab_checks",
    "CHECK_WORKER_CONCURRENCY": 4,
    "METRICS_PORT": 9464,
    "RUN_GUACAMOLE": False,
    "GUACAMOLE_PATH": "/guacamole/",
    "GUACD_IMAGE": "guacamole/guacd:1.6.0",
    "GUACAMOLE_IMAGE": "guacamole/guacamole:1.6.0",
}
# Secrets made once by Tutor and kept in config.yml.
UNIQUE = {
    "ENCRYPTION_KEY": "{{ 32|random_string }}",
    "METRICS_TOKEN": "{{ 32|random_string }}",
    # Guacamole's json-secret-key must be 32 hex digits; random_string gives
    # letters and digits, so a filter of our own makes it.
    "GUACAMOLE_SECRET_KEY": "{{ 16|hastexo_lab_hex }}",
}


def _hex(length):
    """``length`` random bytes as hex digits."""
    return secrets.token_hex(int(length))


hooks.Filters.CONFIG_DEFAULTS.add_items([(f"HASTEXO_LAB_{key}", value) for key, value in DEFAULTS.items()])
hooks.Filters.CONFIG_UNIQUE.add_items([(f"HASTEXO_LAB_{key}", value) for key, value in UNIQUE.items()])
hooks.Filters.ENV_TEMPLATE_FILTERS.add_item(("hastexo_lab_hex", _hex))
# A checkout of the block (a folder called hastexo-lab) given to `tutor mounts
# add` is installed into the openedx image, and mounted into its containers.
hooks.Filters.MOUNTED_DIRECTORIES.add_item(("openedx", "hastexo-lab"))


@hooks.Actions.CONFIG_LOADED.add()
def _check(config):
    """Refuse a configuration the block or its services could not run with,
    naming the value (``tutor config save`` and every command that renders)."""
    problems = list(problems_in(config))
    if problems:
        raise TutorError("hastexo_lab: " + "; ".join(problems))


def problems_in(config):
    def value(key):
        return config.get(f"HASTEXO_LAB_{key}", DEFAULTS.get(key))
    if value("TERMINAL") not in ("builtin", "guacamole"):
        yield f"HASTEXO_LAB_TERMINAL must be builtin or guacamole, not {value('TERMINAL')!r}"
    path = value("TERMINAL_PATH")
    if not isinstance(path, str) or not re.fullmatch(r"/[A-Za-z0-9._~/-]*/", path) or path == "/":
        yield f"HASTEXO_LAB_TERMINAL_PATH must be a path such as /some-path/ (a slash first and last), not {path!r}"
    path = value("GUACAMOLE_PATH")
    if not isinstance(path, str) or not re.fullmatch(r"/[A-Za-z0-9._~-]+/", path):
        yield ("HASTEXO_LAB_GUACAMOLE_PATH must be one path segment such as /guacamole/ (its web application's "
               f"context), not {path!r}")
    requirement = value("PIP_REQUIREMENT")
    if not isinstance(requirement, str) or "'" in requirement or "\n" in requirement:
        yield ("HASTEXO_LAB_PIP_REQUIREMENT must be one requirement as pip or uv take it (no quotes), "
               f"not {requirement!r}")
    for key in ("TERMINAL_PORT", "METRICS_PORT"):
        port = value(key)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65_536:
            yield f"HASTEXO_LAB_{key} must be a TCP port (1-65535), not {port!r}"
    for key in ("WORKER_CONCURRENCY", "CHECK_WORKER_CONCURRENCY"):
        concurrency = value(key)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 256:
            yield f"HASTEXO_LAB_{key} must be a whole number from 1 to 256, not {concurrency!r}"
    for key in ("TASK_QUEUE", "CHECK_QUEUE"):
        if not isinstance(value(key), str) or not re.fullmatch(r"[A-Za-z0-9._:-]+", value(key)):
            yield f"HASTEXO_LAB_{key} must be a queue name (letters, digits, . _ : -), not {value(key)!r}"
    if value("CHECK_QUEUE") == value("TASK_QUEUE"):
        yield ("HASTEXO_LAB_CHECK_QUEUE must differ from HASTEXO_LAB_TASK_QUEUE: on one queue, slow progress "
               "checks hold up launches")
    for key in ("PROVIDERS", "SETTINGS"):
        if not isinstance(value(key), dict):
            yield f"HASTEXO_LAB_{key} must be a mapping, not {type(value(key)).__name__}"
    origins = value("FRAME_ANCESTORS")
    if not isinstance(origins, list) or not all(
            isinstance(o, str) and re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+", o) for o in origins):
        yield ("HASTEXO_LAB_FRAME_ANCESTORS must be a list of origins such as https://apps.example.com, "
               f"not {origins!r}")
    keys = value("OLD_ENCRYPTION_KEYS")
    if not isinstance(keys, list) or not all(isinstance(k, str) and len(k) >= 16 for k in keys):
        yield "HASTEXO_LAB_OLD_ENCRYPTION_KEYS must be a list of the keys used before (16 characters or more)"
    if isinstance(value("SETTINGS"), dict):
        managed = sorted(set(value("SETTINGS")) & MANAGED)
        if managed:
            yield (f"HASTEXO_LAB_SETTINGS must not set {', '.join(managed)}: the plugin sets them from its own "
                   "HASTEXO_LAB_* values")
    key = config.get("HASTEXO_LAB_GUACAMOLE_SECRET_KEY")
    if key is not None and not re.fullmatch(r"[0-9A-Fa-f]{32}", str(key)):
        yield "HASTEXO_LAB_GUACAMOLE_SECRET_KEY must be 32 hex digits (openssl rand -hex 16)"
    if value("TERMINAL") == "guacamole" and not value("RUN_GUACAMOLE") and not (
            isinstance(value("SETTINGS"), dict) and value("SETTINGS").get("guacamole_url")):
        yield ("HASTEXO_LAB_TERMINAL is guacamole: set HASTEXO_LAB_RUN_GUACAMOLE=true, or point the block at "
               "your own Guacamole with guacamole_url (and guacamole_api_url) in HASTEXO_LAB_SETTINGS")


# The block's settings the plugin writes itself (see templates/hastexo_lab/openedx-settings).
MANAGED = {"providers", "terminal", "terminal_url", "terminal_frame_ancestors", "task_queue", "check_queue",
           "encryption_keys", "metrics_token", "metrics_port", "metrics_address", "guacamole_secret_key"}

# Patches: one file per patch in patches/, named by the patch.
for name in sorted(os.listdir(os.path.join(HERE, "patches"))):
    with open(os.path.join(HERE, "patches", name), encoding="utf-8") as handle:
        hooks.Filters.ENV_PATCHES.add_item((name, handle.read()))


def _template(*path):
    return resources.files("tutor_hastexo_lab").joinpath("templates", NAME, *path).read_text(encoding="utf-8")


# The block's settings, one template for both: the LMS's with the secrets it
# uses, Studio's with none but the providers' credentials (it checks lab
# templates with them, and starts nothing).
SETTINGS_TEMPLATE = _template("openedx-settings")
for service in ("lms", "cms"):
    hooks.Filters.ENV_PATCHES.add_item(
        (f"openedx-{service}-common-settings", f'{{% set hastexo_lab_service = "{service}" %}}' + SETTINGS_TEMPLATE))


def restrict(root):
    """Take every permission away from other users on what holds the secrets:
    config.yml, and the rendered environment (its folder: the containers read
    their settings through bind mounts, which the folder's mode does not
    affect, so the files themselves keep theirs)."""
    for path in (os.path.join(root, "config.yml"), os.path.join(root, "env")):
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
            if mode & stat.S_IRWXO:
                os.chmod(path, mode & ~stat.S_IRWXO)
        except FileNotFoundError:
            continue
        except OSError as exc:
            fmt.echo_alert(f"hastexo_lab: could not make {path} private to its owner: {exc}")


# Tutor 22 says when it has rendered the environment; Tutor 21 does not, so
# there it is done as every command starts (after the first render, the next
# command closes it).
if hasattr(hooks.Actions, "ENV_SAVED"):
    hooks.Actions.ENV_SAVED.add()(lambda root_env, config: restrict(os.path.dirname(root_env)))
hooks.Actions.PROJECT_ROOT_READY.add()(restrict)

# `tutor local|dev|k8s do init`: the block's migrations, in the LMS's job container.
hooks.Filters.CLI_DO_INIT_TASKS.add_item(("lms", _template("tasks", "lms", "init.sh")))
