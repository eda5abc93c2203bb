"""The Tutor plugin (tutor/), rendered by the current Tutor major release and
the one before it, each from PyPI in a virtualenv of its own (`make
tutor-envs`): no Docker needed. What it renders is read back and checked:
the block's settings go through the block's own settings reader."""

import json
import os
import re
import subprocess

import pytest
import yaml

from hastexo_lab import conf

from .helpers import ROOT

VERSIONS = ("21", "22")
PROVIDER = {"os_auth_url": "https://keystone.example.com:5000/v3", "os_username": "labs",
            "os_password": "secret", "os_project_name": "labs", "os_user_domain_name": "Default",
            "os_project_domain_name": "Default"}


def tutor_bin(version):
    return os.path.join(ROOT, ".venv", f"tutor-{version}", "bin", "tutor")


@pytest.fixture(params=VERSIONS, ids=[f"tutor{v}" for v in VERSIONS])
def tutor(request, tmp_path):
    """Run this Tutor's CLI on a scratch project root; returns (run, root)."""
    binary = tutor_bin(request.param)
    if not os.path.exists(binary):
        message = f"Tutor {request.param} is not installed: make tutor-envs"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    root, plugins = tmp_path / "tutor", tmp_path / "plugins"
    plugins.mkdir()
    env = dict(os.environ, TUTOR_ROOT=str(root), TUTOR_PLUGINS_ROOT=str(plugins), TUTOR_IGNORE_DICT_PLUGINS="1")

    def run(*args, check=True):
        done = subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"tutor {' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done
    run.version = request.param
    return run, root


def rendered_settings(root, service="lms"):
    """The block's settings as the LMS (or Studio) would have them."""
    text = (root / "env" / "apps" / "openedx" / "settings" / service / "production.py").read_text()
    start = text.index("# hastexo_lab: the block's settings")
    end = text.index("########", start)
    namespace = {"XBLOCK_SETTINGS": {"other_block": {"kept": True}}}
    exec(text[start:end], namespace)  # the patch alone, as Python
    assert namespace["XBLOCK_SETTINGS"]["other_block"] == {"kept": True}
    return namespace["XBLOCK_SETTINGS"]["hastexo_lab"]


def config(root):
    return yaml.safe_load((root / "config.yml").read_text())


def test_enable_renders_settings_the_block_accepts_and_secrets_made_once(tutor):
    run, root = tutor
    run("plugins", "enable", "hastexo_lab")
    run("config", "save", "--set", "HASTEXO_LAB_PROVIDERS=" + json.dumps({"cloud": PROVIDER}),
        "--set", 'HASTEXO_LAB_SETTINGS={"suspend_timeout": 300, "lab_usage_limit": 36000}')
    saved = config(root)
    key = saved["HASTEXO_LAB_GUACAMOLE_SECRET_KEY"]
    assert re.fullmatch(r"[0-9a-f]{32}", key), key  # Guacamole's json-secret-key: hex, not random_string
    assert len(saved["HASTEXO_LAB_ENCRYPTION_KEY"]) == 32 and len(saved["HASTEXO_LAB_METRICS_TOKEN"]) == 32
    assert "HASTEXO_LAB_TERMINAL" not in saved  # defaults stay out of config.yml
    for service in ("lms", "cms"):
        block = rendered_settings(root, service)
        settings = conf.parse(block)  # the block's own reader: every value accepted
        assert settings.providers["cloud"]["os_auth_url"] == PROVIDER["os_auth_url"]
        assert settings.suspend_timeout == 300 and settings.lab_usage_limit == 36_000
        assert settings.terminal == "builtin" and settings.terminal_url == "/hastexo-lab-terminal/"
        assert settings.terminal_frame_ancestors == ("http://local.openedx.io", "http://studio.local.openedx.io")
        assert settings.task_queue == "hastexo_lab" and settings.check_queue == "hastexo_lab_checks"
    settings = conf.parse(rendered_settings(root, "lms"))
    assert settings.encryption_keys == (saved["HASTEXO_LAB_ENCRYPTION_KEY"],)
    assert settings.metrics_port == 9464 and settings.metrics_token == saved["HASTEXO_LAB_METRICS_TOKEN"]
    run("config", "save")
    assert config(root)["HASTEXO_LAB_GUACAMOLE_SECRET_KEY"] == key  # stable
    # Another framing origin, and a rotation: the old key still decrypts.
    run("config", "save", "--set", 'HASTEXO_LAB_FRAME_ANCESTORS=["https://apps.example.com"]',
        "--set", 'HASTEXO_LAB_OLD_ENCRYPTION_KEYS=["an-older-key-of-some-length"]')
    settings = conf.parse(rendered_settings(root))
    assert settings.terminal_frame_ancestors[-1] == "https://apps.example.com"
    assert settings.encryption_keys == (saved["HASTEXO_LAB_ENCRYPTION_KEY"], "an-older-key-of-some-length")


def test_the_image_installs_the_block_without_touching_the_operators_pip_list(tutor):
    run, root = tutor
    run("config", "save", "--append", "OPENEDX_EXTRA_PIP_REQUIREMENTS=my-other-xblock==1.0")
    run("plugins", "enable", "hastexo_lab")
    dockerfile = (root / "env" / "build" / "openedx" / "Dockerfile").read_text()
    # By default this release, from the project's repository (pip and uv both take it).
    assert ("install --constraint /tmp/hastexo-lab-constraints.txt "
            "'hastexo-lab @ git+https://github.com/hastexo/hastexo-lab@v0.1.0'") in dockerfile
    assert "install 'my-other-xblock==1.0'" in dockerfile
    run("plugins", "disable", "hastexo_lab")
    assert config(root)["OPENEDX_EXTRA_PIP_REQUIREMENTS"] == ["my-other-xblock==1.0"]
    assert "hastexo-lab" not in (root / "env" / "build" / "openedx" / "Dockerfile").read_text()


def test_an_operator_points_the_image_at_an_index_a_wheel_or_a_checkout(tutor):
    run, root = tutor
    run("plugins", "enable", "hastexo_lab")
    dockerfile = root / "env" / "build" / "openedx" / "Dockerfile"
    run("config", "save", "--set", "HASTEXO_LAB_PIP_REQUIREMENT=hastexo-lab==0.1.0")
    assert "install --constraint /tmp/hastexo-lab-constraints.txt 'hastexo-lab==0.1.0'" in dockerfile.read_text()
    wheel = "https://files.example.com/hastexo_lab-0.1.0-py3-none-any.whl"
    run("config", "save", "--set", f"HASTEXO_LAB_PIP_REQUIREMENT={wheel}")
    assert f"'{wheel}'" in dockerfile.read_text()
    # A checkout instead: `tutor mounts add` installs it, and no requirement is needed.
    checkout = root.parent / "src" / "hastexo-lab"
    checkout.mkdir(parents=True)
    run("config", "save", "--set", "HASTEXO_LAB_PIP_REQUIREMENT=")
    run("mounts", "add", str(checkout))
    text = dockerfile.read_text()
    assert "hastexo-lab-constraints" not in text
    assert 'install -e "/mnt/hastexo-lab"' in text


def services(root):
    return yaml.safe_load((root / "env" / "local" / "docker-compose.yml").read_text())["services"]


def k8s(root, name):
    return [doc for doc in yaml.safe_load_all((root / "env" / "k8s" / name).read_text()) if doc]


def test_worker_beat_and_gateway_in_compose_and_kubernetes_and_behind_the_proxy(tutor):
    run, root = tutor
    run("plugins", "enable", "hastexo_lab")
    found = services(root)
    worker = found["hastexo-lab-worker"]["command"]
    # The LMS's own Celery app, broker and settings, on the lab queue only.
    assert "celery --app=lms.celery worker --queues=hastexo_lab " in worker
    # The progress checks on theirs, in a worker of their own.
    check_worker = found["hastexo-lab-check-worker"]["command"]
    assert check_worker.startswith("celery --app=lms.celery worker --queues=hastexo_lab_checks ")
    assert "--concurrency=4 --prefetch-multiplier=1" in check_worker
    assert found["hastexo-lab-beat"]["command"].startswith("celery --app=lms.celery beat")
    assert "--prefetch-multiplier=1" in worker
    assert "beat" in found["hastexo-lab-beat"]["command"]
    assert found["hastexo-lab-terminal"]["command"] == "hastexo-lab terminal --host 0.0.0.0 --port 8090"
    for name in ("hastexo-lab-worker", "hastexo-lab-check-worker", "hastexo-lab-beat", "hastexo-lab-terminal"):
        assert found[name]["environment"]["DJANGO_SETTINGS_MODULE"] == "lms.envs.tutor.production"
        assert "../apps/openedx/settings/lms:/openedx/edx-platform/lms/envs/tutor:roz" in found[name]["volumes"]
    assert "guacamole" not in found and "guacd" not in found
    deployments = {d["metadata"]["name"]: d for d in k8s(root, "deployments.yml")}
    for name in ("hastexo-lab-worker", "hastexo-lab-check-worker", "hastexo-lab-beat", "hastexo-lab-terminal"):
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == deployments["lms"]["spec"]["template"]["spec"]["containers"][0]["image"]
    command = deployments["hastexo-lab-check-worker"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:4] == ["celery", "--app=lms.celery", "worker", "--queues=hastexo_lab_checks"]
    assert deployments["hastexo-lab-beat"]["spec"]["replicas"] == 1
    assert {"hastexo-lab-terminal", "hastexo-lab-worker"} <= {s["metadata"]["name"] for s in k8s(root, "services.yml")}
    caddy = (root / "env" / "apps" / "caddy" / "Caddyfile").read_text()
    # Inside the LMS's site, by path, not stripped (handle, not handle_path): the gateway's own paths stay whole.
    lms_site = caddy[caddy.index("{{ LMS_HOST }}") if "{{ LMS_HOST }}" in caddy else caddy.index("local.openedx.io"):]
    assert re.search(r"handle /hastexo-lab-terminal/\* \{\s+reverse_proxy hastexo-lab-terminal:8090", lms_site)
    assert "handle_path /hastexo-lab-terminal" not in caddy


def test_guacamole_on_request_with_its_key_wired_to_the_block(tutor):
    run, root = tutor
    run("plugins", "enable", "hastexo_lab")
    run("config", "save", "--set", "HASTEXO_LAB_RUN_GUACAMOLE=true", "--set", "HASTEXO_LAB_TERMINAL=guacamole")
    key = config(root)["HASTEXO_LAB_GUACAMOLE_SECRET_KEY"]
    found = services(root)
    assert found["guacamole"]["environment"]["JSON_SECRET_KEY"] == key
    assert found["guacamole"]["environment"]["GUACD_HOSTNAME"] == "guacd"
    assert found["guacamole"]["environment"]["WEBAPP_CONTEXT"] == "guacamole"
    assert "guacd" in found
    settings = conf.parse(rendered_settings(root))
    assert settings.terminal == "guacamole" and settings.guacamole_secret_key == key
    assert settings.guacamole_url == "/guacamole/"
    assert settings.guacamole_api_url == "http://guacamole:8080/guacamole/"
    caddy = (root / "env" / "apps" / "caddy" / "Caddyfile").read_text()
    assert re.search(r"handle /guacamole/\* \{\s+reverse_proxy guacamole:8080 \{\s+flush_interval -1", caddy)
    deployments = {d["metadata"]["name"] for d in k8s(root, "deployments.yml")}
    assert {"guacd", "guacamole"} <= deployments


def test_each_service_gets_only_its_secrets_and_other_users_none(tutor):
    run, root = tutor
    run("plugins", "enable", "hastexo_lab")
    run("config", "save", "--set", "HASTEXO_LAB_RUN_GUACAMOLE=true", "--set", "HASTEXO_LAB_TERMINAL=guacamole",
        "--set", "HASTEXO_LAB_PROVIDERS=" + json.dumps({"cloud": PROVIDER}))
    private = [root / "config.yml", root / "env"]
    open_after_save = [path.name for path in private if path.stat().st_mode & 0o007]
    run("config", "printroot")
    saved = config(root)
    secrets = {key: saved[f"HASTEXO_LAB_{key}"] for key in ("ENCRYPTION_KEY", "METRICS_TOKEN", "GUACAMOLE_SECRET_KEY")}
    settings = root / "env" / "apps" / "openedx" / "settings"
    # Studio checks lab templates with the providers' credentials, and uses no other secret.
    for name in ("production.py", "development.py"):
        studio = (settings / "cms" / name).read_text()
        assert [key for key, value in secrets.items() if value in studio] == [], name
        lms = (settings / "lms" / name).read_text()
        assert all(value in lms for value in secrets.values()), name
    studio = conf.parse(rendered_settings(root, "cms"))  # Studio's settings are whole without them
    assert studio.providers["cloud"]["os_password"] == PROVIDER["os_password"]
    # Guacamole's key: its container's only secret; on Kubernetes from a Secret, not the Deployment.
    found = services(root)
    holders = [name for name, service in found.items() if secrets["GUACAMOLE_SECRET_KEY"] in json.dumps(service)]
    assert holders == ["guacamole"]
    documents = k8s(root, "deployments.yml")
    secret = [d for d in documents if d["kind"] == "Secret" and d["metadata"]["name"] == "hastexo-lab-guacamole"]
    assert secret[0]["stringData"] == {"json-secret-key": secrets["GUACAMOLE_SECRET_KEY"]}
    assert [d["metadata"]["name"] for d in documents
            if d["kind"] != "Secret" and secrets["GUACAMOLE_SECRET_KEY"] in json.dumps(d)] == []
    # Other users of the machine read neither config.yml nor anything rendered. Tutor 22 says when
    # it has rendered: closed at once; Tutor 21 does not: closed as the next command starts.
    if run.version != "21":
        assert open_after_save == []
    assert [path.name for path in private if path.stat().st_mode & 0o007] == [], "others can read secrets"


@pytest.mark.parametrize("setting, message", [
    ("HASTEXO_LAB_TERMINAL=ssh", "HASTEXO_LAB_TERMINAL must be builtin or guacamole, not 'ssh'"),
    ("HASTEXO_LAB_TERMINAL_PATH=terminal", "HASTEXO_LAB_TERMINAL_PATH must be a path such as /some-path/"),
    ("HASTEXO_LAB_GUACAMOLE_PATH=/a/b/", "HASTEXO_LAB_GUACAMOLE_PATH must be one path segment"),
    ("HASTEXO_LAB_WORKER_CONCURRENCY=0", "HASTEXO_LAB_WORKER_CONCURRENCY must be a whole number from 1 to 256"),
    ("HASTEXO_LAB_CHECK_WORKER_CONCURRENCY=0", "HASTEXO_LAB_CHECK_WORKER_CONCURRENCY must be a whole number"),
    ("HASTEXO_LAB_CHECK_QUEUE=hastexo_lab", "HASTEXO_LAB_CHECK_QUEUE must differ from HASTEXO_LAB_TASK_QUEUE"),
    ("HASTEXO_LAB_CHECK_QUEUE=two words", "HASTEXO_LAB_CHECK_QUEUE must be a queue name"),
    ("HASTEXO_LAB_GUACAMOLE_SECRET_KEY=not-hex", "HASTEXO_LAB_GUACAMOLE_SECRET_KEY must be 32 hex digits"),
    ("HASTEXO_LAB_PROVIDERS=[1]", "HASTEXO_LAB_PROVIDERS must be a mapping, not list"),
    ('HASTEXO_LAB_FRAME_ANCESTORS=["apps.example.com"]', "HASTEXO_LAB_FRAME_ANCESTORS must be a list of origins"),
    ('HASTEXO_LAB_OLD_ENCRYPTION_KEYS=["short"]', "HASTEXO_LAB_OLD_ENCRYPTION_KEYS must be a list"),
    ('HASTEXO_LAB_SETTINGS={"terminal": "guacamole"}', "HASTEXO_LAB_SETTINGS must not set terminal"),
    ("HASTEXO_LAB_TERMINAL=guacamole", "set HASTEXO_LAB_RUN_GUACAMOLE=true"),
])
def test_bad_values_are_refused_by_name(tutor, setting, message):
    run, root = tutor
    run("plugins", "enable", "hastexo_lab")
    done = run("config", "save", "--set", setting, check=False)
    assert done.returncode != 0
    assert message in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


INIT_TASKS = """
import sys
from tutor import config, hooks
from tutor.commands import jobs  # noqa: F401 (registers the init tasks' filters)
hooks.Actions.CORE_READY.do()
hooks.Actions.PROJECT_ROOT_READY.do(sys.argv[1])
for service, script in hooks.Filters.CLI_DO_INIT_TASKS.iterate_from_context(hooks.Contexts.app("hastexo_lab").name):
    print(service, script.strip().splitlines()[-1])
"""


def test_do_init_runs_the_migrations_in_the_lms_job(tutor):
    run, root = tutor
    run("plugins", "enable", "hastexo_lab")
    python = os.path.join(os.path.dirname(tutor_bin(run.version)), "python")
    done = subprocess.run([python, "-c", INIT_TASKS, str(root)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, TUTOR_ROOT=str(root), TUTOR_IGNORE_DICT_PLUGINS="1"))
    assert done.returncode == 0, done.stderr
    assert "lms ./manage.py lms migrate hastexo_lab" in done.stdout
