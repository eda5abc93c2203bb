"""`hastexo-cloudsim --check`: a template judged as the fake cloud would, from the command line."""

import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLE_TEMPLATE


def check(*args):
    done = subprocess.run([sys.executable, "-m", "hastexo_cloudsim", "--check", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_the_sample_lab_template_passes():
    status, output = check(SAMPLE_TEMPLATE, "-P", "run=course-v1:Org+Lab+2026")
    assert status == 0, output
    assert "is a valid template and builds" in output and "lab_user" in output


BROKEN = """heat_template_version: 2016-10-14
parameters:
  run: {type: string}
  flavor: {type: string}
  image: {type: string, default: debian-12}
resources:
  tag: {type: OS::Heat::Value, properties: {value: {get_param: nosuch}}}
"""


def test_a_parameter_without_a_value_fails_as_the_create_does(tmp_path):
    # Heat's validate takes this template; every create of it fails.
    path = tmp_path / "lab.yaml"
    path.write_text(BROKEN)
    status, output = check(str(path))
    assert status == 1, output
    assert "The Parameter (run) was not provided." in output
    assert "A create needs a value for flavor, run: give each with -P name=value" in output
    # With the values a create gets, the next problem is named.
    status, output = check(str(path), "-P", "run=course-v1:Org+Lab+2026", "-P", "flavor=m1.small")
    assert status == 1, output
    assert "The Parameter (nosuch) was not defined in template." in output
    assert "Traceback" not in output
    # A value from an environment counts, as it does for a create.
    (tmp_path / "env.yaml").write_text("parameter_defaults:\n  flavor: m1.small\n")
    path.write_text(BROKEN.replace("nosuch", "flavor"))
    status, output = check(str(path), "-e", str(tmp_path / "env.yaml"), "-P", "run=x")
    assert status == 0 and "builds" in output, output


GROUP = """heat_template_version: 2016-10-14
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: 2
      resource_def:
        type: OS::Nova::Server
        properties: {name: node-%index%, image: ubuntu, PROPERTY: m1.small, user_data: {get_file: init.sh}}
"""


@pytest.mark.parametrize("text, message", [
    (GROUP.replace("PROPERTY", "flavour"), "Property error: resources.group.0.properties: Unknown Property flavour"),
    ("heat_template_version: 2016-10-14\nresources:\n  s: {type: OS::Nova::Server, properties: {image: x}}\n",
     "Property error: resources.s.properties: Property flavor not assigned"),
    ("heat_template_version: 2016-10-14\nresorces: {}\n", "resorces"),
    ("heat_template_version: 2016-10-14\nresources:\n  t: {type: OS::Trove::Instance}\n",
     "The Resource Type (OS::Trove::Instance) could not be found."),
])
def test_what_heat_refuses_fails_with_its_message(tmp_path, text, message):
    (tmp_path / "init.sh").write_text("#!/bin/sh\n")
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    status, output = check(str(path))
    assert status == 1
    assert message in output
    assert "Traceback" not in output


def test_files_and_environments_are_collected_like_the_client_does(tmp_path):
    (tmp_path / "init.sh").write_text("#!/bin/sh\necho hi\n")
    (tmp_path / "lab.yaml").write_text(GROUP.replace("PROPERTY", "flavor") + "parameters:\n  size: {type: number}\n"
                                       + "outputs:\n  init: {value: {get_file: init.sh}}\n")
    (tmp_path / "env.yaml").write_text("parameter_defaults:\n  size: 3\n")
    assert check(str(tmp_path / "lab.yaml"), "-e", str(tmp_path / "env.yaml"))[0] == 0
    status, output = check(str(tmp_path / "lab.yaml"), "-P", "size=abc")
    assert status == 1 and "size" in output
    status, output = check(str(tmp_path / "lab.yaml"), "-P", "size")
    assert status == 2 and "--parameter takes name=value" in output
    assert check(str(tmp_path / "missing.yaml"))[0] == 2
