"""Outputs of the wrong shape are refused where they enter: the launch fails
with a message naming the output, on every database, and nothing is left at
the cloud. Real worker, real heatclient, the fake cloud."""

import pytest

from hastexo_lab import api
from hastexo_lab import lifecycle as lc
from hastexo_lab.operations import output_problem

from .helpers import wait_until
from .test_tasks import providers, wait_status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(lab_settings):
    """The two fake clouds as cloud-a and cloud-b, fast polling."""


def template_with(outputs):
    lines = ["heat_template_version: 2016-10-14", "parameters: {run: {type: string}}", "outputs:"]
    for name, value in outputs.items():
        lines += [f"  {name}:", f"    value: {value}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("outputs, named", [
    ({"public_ip": "1" * 300}, "public_ip"),
    ({"public_ip": "[127.0.0.1, 127.0.0.2]"}, "public_ip"),
    ({"public_ip": "{address: 127.0.0.1}"}, "public_ip"),
    ({"public_ip": "127.0.0.9", "password": "[a, b]"}, "password"),
    ({"public_ip": "127.0.0.9", "private_key": "{key: x}"}, "private_key"),
])
def test_an_output_of_the_wrong_shape_fails_the_launch_naming_it(worker, cloud, outputs, named):
    stack = api.launch("c", "learner1", providers("cloud-a", template=template_with(outputs)))
    wait_status(stack, lc.LAUNCH_ERROR, lc.CREATE_COMPLETE)
    assert stack.status == lc.LAUNCH_ERROR
    assert f"the {named} output must be" in stack.status_reason
    assert "misconfigured" in api.status_for(stack)["message"]
    wait_until(lambda: cloud.heat.stack_count() == 0, what="the stack to be cleaned up")


@pytest.mark.parametrize("address", ["127.0.0.1", "lab-1.example.org", "::1", "fe80::1%eth0"])
def test_good_addresses_pass(address):
    assert output_problem({"public_ip": address, "private_key": "k", "password": "p"}) is None
