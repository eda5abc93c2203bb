"""The block installs as an operator installs it into the openedx image: with
uv (as Tutor's Dockerfile does), within the platform's pins, from an sdist or
a git URL, with no npm anywhere, and the installed block serves xterm.js."""

import json
import os
import re
import subprocess
import sys

import pytest

from .helpers import ROOT

UV = os.path.join(os.path.dirname(sys.executable), "uv")
PINS = os.path.join(ROOT, "requirements", "openedx-constraints.txt")
VENDOR = os.path.join(ROOT, "hastexo_lab", "static", "vendor", "xterm")

pytestmark = pytest.mark.timeout(600)


def platform_pins():
    pins = {}
    with open(PINS, encoding="utf-8") as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line:
                name, version = line.split("==")
                pins[_normal(name)] = version
    return pins


def _normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def uv(*args, cwd, env=None):
    result = subprocess.run([UV, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, f"uv {' '.join(args)}:\n{result.stderr[-4000:]}"
    return result


@pytest.mark.parametrize("python", ["3.11", "3.12"])
def test_the_block_resolves_within_the_platforms_pins_moving_none(tmp_path, python):
    (tmp_path / "block.in").write_text(f"hastexo-lab @ file://{ROOT}\n")
    uv("pip", "compile", "block.in", "--constraint", PINS, "--python-version", python, "--quiet",
       "--output-file", "resolved.txt", cwd=tmp_path)
    resolved = dict(_pin(line) for line in (tmp_path / "resolved.txt").read_text().splitlines() if "==" in line)
    pins = platform_pins()
    moved = {name: (pins[name], version) for name, version in resolved.items()
             if name in pins and pins[name] != version}
    assert not moved, f"the block would move the platform's pins (pinned, resolved): {moved}"
    for name in ("celery", "kombu", "django", "cryptography", "pyyaml", "requests", "edx-opaque-keys"):
        assert resolved.get(name) == pins[name], name


def _pin(line):
    name, version = line.split("==")
    return _normal(name.strip()), version.split()[0]


NODE = {"node", "nodejs", "npm", "npx", "corepack", "yarn", "pnpm"}


def without_npm(tmp_path):
    """An environment whose PATH has this machine's commands but none of Node.js."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(folder) or folder.startswith(os.path.dirname(sys.executable)):
            continue
        for name in os.listdir(folder):
            if name not in NODE and not (tools / name).exists() and os.access(os.path.join(folder, name), os.X_OK):
                os.symlink(os.path.join(folder, name), tools / name)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = str(tools)
    return env


SERVE_XTERM = """
import asyncio, django, json, sys
from django.conf import settings
settings.configure(INSTALLED_APPS=["hastexo_lab"], DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                   "NAME": ":memory:"}}, XBLOCK_SETTINGS={"hastexo_lab": {}}, USE_TZ=True)
django.setup()
from hastexo_lab.terminal.gateway import Gateway
sent = []
async def receive():
    return {"type": "http.request", "body": b"", "more_body": False}
async def send(message):
    sent.append(message)
scope = {"type": "http", "method": "GET", "path": "/hastexo-lab-terminal/static/xterm.js", "headers": []}
asyncio.run(Gateway()(scope, receive, send))
body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
import hastexo_lab
print(json.dumps({"status": sent[0]["status"], "size": len(body), "body": body.decode("utf-8"),
                  "package": hastexo_lab.__file__}))
"""


@pytest.mark.parametrize("source", ["sdist", "git"])
def test_installs_from_an_sdist_or_a_git_url_without_npm_and_serves_xterm(tmp_path, source):
    env = without_npm(tmp_path)
    if source == "sdist":
        subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(tmp_path), ROOT],
                       cwd=ROOT, check=True, capture_output=True, timeout=300)
        (sdist,) = tmp_path.glob("hastexo_lab-*.tar.gz")
        requirement = f"hastexo-lab @ file://{sdist}"
    else:
        # What the main branch holds (a commit), as pip or uv fetch a git URL.
        requirement = f"hastexo-lab @ git+file://{ROOT}"
    uv("venv", "--quiet", "--python", sys.executable, "venv", cwd=tmp_path, env=env)
    python = str(tmp_path / "venv" / "bin" / "python")
    uv("pip", "install", "--quiet", "--python", python, "--constraint", PINS, requirement, cwd=tmp_path, env=env)
    served = subprocess.run([python, "-c", SERVE_XTERM], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert served.returncode == 0, served.stderr[-4000:]
    reply = json.loads(served.stdout)
    assert reply["package"].startswith(str(tmp_path / "venv")), "the installed block, not the checkout"
    assert reply["status"] == 200
    with open(os.path.join(VENDOR, "xterm.js"), encoding="utf-8") as handle:
        assert reply["body"] == handle.read()


def test_the_committed_xterm_files_are_the_pinned_npm_packages_own():
    """The built files are in git (so that no install needs npm); they must be
    exactly what package-lock.json pins (`make static` refreshes them)."""
    with open(os.path.join(ROOT, "package-lock.json"), encoding="utf-8") as handle:
        lock = json.load(handle)["packages"]
    sources = {"xterm.js": ("@xterm/xterm", "lib/xterm.js"), "xterm.css": ("@xterm/xterm", "css/xterm.css"),
               "addon-fit.js": ("@xterm/addon-fit", "lib/addon-fit.js"), "LICENSE.xterm": ("@xterm/xterm", "LICENSE")}
    modules = os.path.join(ROOT, "node_modules")
    assert os.path.isdir(modules), "node_modules is missing: `make test` installs it (npm ci)"
    for name, (package, path) in sources.items():
        with open(os.path.join(modules, package, "package.json"), encoding="utf-8") as handle:
            installed = json.load(handle)["version"]
        assert installed == lock[f"node_modules/{package}"]["version"], f"{package}: run `npm ci`"
        with open(os.path.join(modules, package, path), "rb") as pinned, open(os.path.join(VENDOR, name), "rb") as ours:
            assert ours.read() == pinned.read(), f"{name} differs from {package}'s: run `make static` and commit"


def test_the_images_install_step_as_tutor_renders_it_moves_none_of_the_platforms_packages(tmp_path):
    """The Dockerfile step the Tutor plugin renders, run in a virtualenv that
    holds part of the platform at its pins (as the image does by then), with
    `uv pip` as the image's $PIP_COMMAND: the block arrives, nothing moves."""
    from .test_tutor import tutor_bin
    binary = tutor_bin("22")
    if not os.path.exists(binary):
        pytest.fail("Tutor 22 is not installed: make tutor-envs")
    root = tmp_path / "tutor"
    tutor_env = dict(os.environ, TUTOR_ROOT=str(root), TUTOR_IGNORE_DICT_PLUGINS="1")
    for args in (["plugins", "enable", "hastexo_lab"],
                 ["config", "save", "--set", f"HASTEXO_LAB_PIP_REQUIREMENT=hastexo-lab @ git+file://{ROOT}"]):
        done = subprocess.run([binary, *args], env=tutor_env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    dockerfile = (root / "env" / "build" / "openedx" / "Dockerfile").read_text()
    start = dockerfile.index("# hastexo_lab: the lab block")
    step = dockerfile[start:dockerfile.index("\n\n", start)]
    run = step[step.index("RUN "):].replace("\\\n", " ")
    command = run[len("RUN "):].split(" ", 1)[1]  # without the build cache's --mount
    assert command.lstrip().startswith("$PIP_COMMAND freeze")

    env = without_npm(tmp_path)
    uv("venv", "--quiet", "--python", sys.executable, "venv", cwd=tmp_path, env=env)
    venv = tmp_path / "venv"
    platform = ["celery", "kombu", "redis", "django", "cryptography", "pyyaml", "requests", "stevedore",
                "edx-opaque-keys", "web-fragments", "pytz", "lxml", "markupsafe"]
    uv("pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "--constraint", PINS, *platform,
       cwd=tmp_path, env=env)
    before = _frozen(venv, env, tmp_path)
    image_env = dict(env, VIRTUAL_ENV=str(venv), PIP_COMMAND=f"{UV} pip",
                     PATH=os.pathsep.join([str(venv / "bin"), env["PATH"]]))
    done = subprocess.run(["sh", "-c", command], cwd=tmp_path, env=image_env, capture_output=True, text=True,
                          timeout=540)
    assert done.returncode == 0, done.stderr[-4000:]
    after = _frozen(venv, env, tmp_path)
    assert "hastexo-lab" in after
    moved = {name: (version, after.get(name)) for name, version in before.items() if after.get(name) != version}
    assert not moved, f"the block's install moved the platform's packages: {moved}"


def _frozen(venv, env, cwd):
    listed = uv("pip", "freeze", "--python", str(venv / "bin" / "python"), cwd=cwd, env=env).stdout
    return {_normal(line.split("==")[0].split(" @ ")[0]): line.split("==")[-1].split(" @ ")[-1]
            for line in listed.splitlines() if line and not line.startswith("#")}
