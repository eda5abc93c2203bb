"""Every command docs/tutor.md gives an operator is run, as written, with
Tutor 21 and 22 in a scratch root; those that need Docker say so."""

import os
import re
import shlex
import subprocess

import pytest

from .helpers import ROOT
from .test_tutor import VERSIONS, tutor_bin

NEEDS_DOCKER = ("tutor images ", "tutor local ", "tutor k8s ", "tutor dev ")


def doc_commands():
    with open(os.path.join(ROOT, "docs", "tutor.md"), encoding="utf-8") as handle:
        text = handle.read()
    commands = []
    for block in re.findall(r"```\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith(("tutor ", "pip ")):
                commands.append(line)
    return commands


def test_the_doc_gives_the_install_commands():
    commands = doc_commands()
    assert "tutor plugins enable hastexo_lab" in commands
    assert any(c.startswith("tutor mounts add") for c in commands)
    for command in commands:
        if command.startswith(NEEDS_DOCKER):
            assert "needs Docker" in command, f"say that it needs Docker: {command}"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_command_that_needs_no_docker_runs_as_written(tmp_path, version):
    binary = tutor_bin(version)
    if not os.path.exists(binary):
        pytest.fail(f"Tutor {version} is not installed: make tutor-envs")
    folder = os.path.dirname(binary)
    checkout = tmp_path / "src" / "hastexo-lab"
    checkout.mkdir(parents=True)
    env = dict(os.environ, TUTOR_ROOT=str(tmp_path / "tutor"), TUTOR_IGNORE_DICT_PLUGINS="1",
               PATH=os.pathsep.join([folder, os.environ["PATH"]]))
    ran = []
    for command in doc_commands():
        if command.startswith(NEEDS_DOCKER):
            continue
        words = shlex.split(command.split("  #")[0].replace("/path/to/hastexo-lab", str(checkout)))
        done = subprocess.run(words, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        ran.append((command, done.stdout))
    assert len(ran) >= 6
    printed = [out for command, out in ran if "printvalue HASTEXO_LAB_PIP_REQUIREMENT" in command]
    assert printed == ["hastexo-lab @ git+https://github.com/you/hastexo-lab@v0.2.0\n"]
    dockerfile = (tmp_path / "tutor" / "env" / "build" / "openedx" / "Dockerfile").read_text()
    assert 'install -e "/mnt/hastexo-lab"' in dockerfile and "hastexo-lab-constraints" not in dockerfile
