"""A template check says what a launch would meet: the cloud judges the
template with the parameters a launch passes, so a template whose every
launch fails is refused, naming the problem, and a good one passes. The
fake cloud answers over HTTP, through the unmodified heatclient."""

import re
import subprocess
import sys

import pytest

from hastexo_lab.providers import PermanentProviderError

from .helpers import ROOT, SAMPLE_TEMPLATE

# What a launch of a lab in this course run passes to its template.
LAUNCH = {"run": "course-v1:Org+Lab+2026"}

# Heat's template-validate takes this template; every create of it fails.
UNDEFINED_PARAM = """heat_template_version: 2016-10-14
parameters:
  run: {type: string}
resources:
  tag: {type: OS::Heat::Value, properties: {value: {get_param: nosuch}}}
"""

# A parameter no launch gives a value.
NO_VALUE = """heat_template_version: 2016-10-14
parameters:
  run: {type: string}
  key_name: {type: string}
resources:
  tag: {type: OS::Heat::Value, properties: {value: {get_param: key_name}}}
"""

# No `run`, which every launch passes.
NO_RUN = """heat_template_version: 2016-10-14
resources:
  tag: {type: OS::Heat::Value, properties: {value: lab}}
"""


@pytest.mark.parametrize("template, problem", [
    (UNDEFINED_PARAM, "The Parameter (nosuch)"),
    (NO_VALUE, "The Parameter (key_name) was not provided."),
    (NO_RUN, "The Parameter (run) was not defined in template."),
])
def test_a_template_every_launch_fails_is_refused_naming_the_problem(provider, template, problem):
    provider.validate_template(template)  # Heat's validate alone takes each of them
    with pytest.raises(PermanentProviderError) as checked:
        provider.validate_template(template, parameters=LAUNCH)
    message = checked.value.message
    assert problem in message
    assert "with the parameters a launch passes (run) would fail" in message
    assert "Provider 'test'" in message
    # ... and the launch's create meets the same refusal.
    with pytest.raises(PermanentProviderError) as created:
        provider.create_stack("lab", template, parameters=LAUNCH)
    assert problem in created.value.message


def test_a_good_template_passes_and_nothing_is_created(provider, template):
    for _ in range(2):
        parameters = provider.validate_template(template, parameters=LAUNCH)
        assert {"run", "lab_user"} <= set(parameters)
    assert provider.list_stacks() == []


def test_the_environment_a_launch_passes_counts(provider):
    environment = {"parameter_defaults": {"key_name": "lab-key"}}
    assert "key_name" in provider.validate_template(NO_VALUE, environment, parameters=LAUNCH)


def readme_check_command():
    """The README's ``hastexo-lab cloudsim --check`` example, its optional
    [parts] left out, as arguments after ``hastexo-lab``."""
    with open(f"{ROOT}/README.md", encoding="utf-8") as handle:
        line = next(line for line in handle if line.startswith("hastexo-lab cloudsim --check"))
    return re.sub(r"\[[^\]]*\]", "", line).split()[1:]


def run_check(args, template):
    args = [template if arg == "lab.yaml" else arg for arg in args]
    done = subprocess.run([sys.executable, "-m", "hastexo_lab", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_the_readmes_command_line_check_passes_a_good_template_and_fails_a_broken_one(tmp_path):
    args = readme_check_command()
    status, output = run_check(args, SAMPLE_TEMPLATE)
    assert status == 0, output
    assert "builds" in output
    for text, problem in ((UNDEFINED_PARAM, "The Parameter (nosuch)"), (NO_VALUE, "key_name"),
                          (NO_RUN, "The Parameter (run) was not defined in template.")):
        path = tmp_path / "lab.yaml"
        path.write_text(text)
        status, output = run_check(args, str(path))
        assert status == 1, output
        assert problem in output and "Traceback" not in output
