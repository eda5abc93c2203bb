"""Heat's own limits, Heat's 400s for bad values, and a fake cloud that stays
up and responsive whatever one client sends."""

import json
import threading
import time

import pytest
import requests
from hastexo_cloudsim import heat as engine
from hastexo_cloudsim.testing import heat_for
from heatclient import exc as heat_exc

MINIMAL = """
heat_template_version: 2016-10-14
parameters:
  run: {type: string, default: r}
resources:
  pw: {type: OS::Heat::RandomString, properties: {length: 8}}
outputs:
  password: {value: {get_attr: [pw, value]}}
"""

# A YAML "billion laughs": 574 bytes that expand to 9**9 strings.
BOMB = "heat_template_version: 2016-10-14\nparameters:\n" + "".join(
    f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9 if i else ['lol'] * 9)}]\n" for i in range(9)
) + "resources: {}\n"


def post(cloud, heat, body, path="/stacks"):
    token = heat.http_client.session.get_token()
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(f"{cloud.heat_url}{path}", data=data, timeout=10,
                         headers={"X-Auth-Token": token, "Content-Type": "application/json"})


def get(cloud, heat, path):
    token = heat.http_client.session.get_token()
    return requests.get(f"{cloud.heat_url}{path}", headers={"X-Auth-Token": token}, timeout=10)


def error(resp, status=400):
    assert resp.status_code == status, resp.text
    return resp.json()["error"]


def test_template_size(cloud, heat):
    big = MINIMAL + "description: " + "x" * engine.MAX_TEMPLATE_SIZE + "\n"
    err = error(post(cloud, heat, {"stack_name": "big", "template": big}))
    assert err["type"] == "RequestLimitExceeded"
    assert err["message"] == (f"Request limit exceeded: Template size ({len(big)} bytes) exceeds maximum allowed "
                              f"size ({engine.MAX_TEMPLATE_SIZE} bytes).")
    with pytest.raises(heat_exc.HTTPBadRequest):
        heat.stacks.validate(template=big)


def test_json_body_size(cloud, heat):
    body = {"stack_name": "big", "template": MINIMAL, "files": {"f": "x" * engine.MAX_JSON_BODY_SIZE}}
    err = error(post(cloud, heat, body))
    assert err["type"] == "RequestLimitExceeded"
    assert "JSON body size" in err["message"] and "(1048576 bytes)" in err["message"]


def test_resources_per_stack(cloud, heat):
    resources = {f"r{i}": {"type": "OS::Heat::None"} for i in range(engine.MAX_RESOURCES_PER_STACK + 1)}
    template = {"heat_template_version": "2016-10-14", "resources": resources}
    err = error(post(cloud, heat, {"stack_name": "many", "template": template}))
    assert err["message"] == "Request limit exceeded: Maximum resources per stack exceeded."
    del resources["r0"]
    assert post(cloud, heat, {"stack_name": "many", "template": template}).status_code == 201


def test_nested_stack_depth(cloud, heat):
    files = {f"level{i}.yaml": "heat_template_version: 2016-10-14\nresources:\n"
             f"  next: {{type: level{i + 1}.yaml}}\n" for i in range(1, 7)}
    files["level7.yaml"] = "heat_template_version: 2016-10-14\n"
    template = "heat_template_version: 2016-10-14\nresources:\n  first: {type: level1.yaml}\n"
    err = error(post(cloud, heat, {"stack_name": "deep", "template": template, "files": files}))
    assert err["message"] == "Request limit exceeded: Recursion depth exceeds 5."
    # A template that uses itself is as deep as can be.
    files = {"self.yaml": "heat_template_version: 2016-10-14\nresources:\n  again: {type: self.yaml}\n"}
    template = "heat_template_version: 2016-10-14\nresources:\n  first: {type: self.yaml}\n"
    assert "Recursion depth exceeds 5." in error(post(cloud, heat, {"stack_name": "deep", "template": template,
                                                                     "files": files}))["message"]


def test_stacks_per_tenant(cloud, heat):
    cloud.heat.max_stacks_per_tenant = 3
    for i in range(3):
        heat.stacks.create(stack_name=f"s{i}", template=MINIMAL)
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        heat.stacks.create(stack_name="s3", template=MINIMAL)
    assert ("Request limit exceeded: You have reached the maximum stacks per tenant, 3. "
            "Please delete some stacks.") in str(err.value)
    assert engine.MAX_STACKS_PER_TENANT == 512


@pytest.mark.parametrize("name", ["lab\n", "lab\r\nX-Evil: 1", "lab/x"])
def test_stack_names_that_would_break_headers(cloud, heat, name):
    err = error(post(cloud, heat, {"stack_name": name, "template": MINIMAL}))
    assert "Invalid stack name" in err["message"]
    assert cloud.heat.stack_count() == 0


@pytest.mark.parametrize("path, message", [
    ("/stacks/lab1/events?limit=abc", "Only integer is acceptable by 'limit'."),
    ("/stacks/lab1/events?limit=-1", "which only accepts non-negative integer"),
    ("/stacks/lab1/events?sort_dir=sideways", "Unknown sort direction"),
    ("/stacks?limit=abc", "Only integer is acceptable by 'limit'."),
    ("/stacks?show_deleted=maybe", 'Unrecognized value "maybe" for "show_deleted"'),
    ("/stacks/lab1?resolve_outputs=perhaps", 'Unrecognized value "perhaps" for "resolve_outputs"'),
    ("/stacks/lab1/resources?nested_depth=x", "Only integer is acceptable by 'nested_depth'."),
    ("/resource_types?with_description=sure", 'Unrecognized value "sure" for "with_description"'),
])
def test_bad_query_values(cloud, heat, path, message):
    heat.stacks.create(stack_name="lab1", template=MINIMAL)
    resp = get(cloud, heat, path)
    assert message in error(resp)["message"]


@pytest.mark.parametrize("timeout", [10 ** 400, 2 ** 31, -5, "soon", 1.5, True])
def test_bad_timeouts_leave_no_stack_behind(cloud, heat, timeout):
    body = json.dumps({"stack_name": "lab1", "template": MINIMAL, "timeout_mins": timeout})
    err = error(post(cloud, heat, body))
    assert "Invalid timeout" in err["message"]
    assert list(heat.stacks.list()) == []
    heat.stacks.create(stack_name="lab1", template=MINIMAL, timeout_mins=60)


@pytest.mark.parametrize("raw", [
    b'{"stack_name": "lab1", "template": {"heat_template_version": "2016-10-14"}, "timeout_mins": NaN}',
    b'{"stack_name": "lab1", "template": {"heat_template_version": "2016-10-14"}, "parameters": {"a": Infinity}}',
    b'{"stack_name": "lab1", "template": {"heat_template_version": "2016-10-14"}, "timeout_mins": 1e999}',
    b'[' * 100000 + b']' * 100000,
])
def test_bad_json(cloud, heat, raw):
    assert "not valid JSON" in error(post(cloud, heat, raw))["message"]


def test_parameters_that_are_not_a_mapping(cloud, heat):
    err = error(post(cloud, heat, {"stack_name": "lab1", "template": MINIMAL, "parameters": "run=r1"}))
    assert "dictionary update sequence" in err["message"]
    heat.stacks.create(stack_name="lab1", template=MINIMAL)
    token = heat.http_client.session.get_token()
    stack = heat.stacks.get("lab1")
    resp = requests.patch(f"{cloud.heat_url}/stacks/lab1/{stack.id}", json={"parameters": "run=x"},
                          headers={"X-Auth-Token": token})
    assert resp.status_code == 400


def test_billion_laughs_is_refused_fast(cloud, heat):
    assert len(BOMB) < 700
    started = time.monotonic()
    err = error(post(cloud, heat, {"stack_name": "lol", "template": BOMB}))
    assert time.monotonic() - started < 1.0
    assert "expands to more than" in err["message"]
    with pytest.raises(heat_exc.HTTPBadRequest):
        heat.stacks.validate(template=BOMB)
    deep = "heat_template_version: 2016-10-14\ndescription: " + "[" * 500 + "]" * 500 + "\n"
    assert "Error parsing template" in error(post(cloud, heat, {"stack_name": "deep", "template": deep}))["message"]


def test_a_failing_handler_answers_500_json_and_the_cloud_stays_up(cloud, heat, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cloud.heat, "list", broken)
    resp = get(cloud, heat, "/stacks")
    assert resp.status_code == 500
    assert resp.json()["error"]["type"] == "InternalError"
    monkeypatch.undo()
    assert get(cloud, heat, "/stacks").json() == {"stacks": []}


def test_a_failure_while_starting_leaves_no_stack_in_progress(cloud, heat, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cloud.faults, "for_operation", broken)
    resp = post(cloud, heat, {"stack_name": "lab1", "template": MINIMAL})
    assert resp.status_code == 500
    monkeypatch.undo()
    assert list(heat.stacks.list()) == []
    heat.stacks.create(stack_name="lab1", template=MINIMAL)


def test_a_hostile_or_slow_template_does_not_stall_other_clients(cloud):
    """One client keeps sending a bomb and a large (slow to build) template;
    another's simple requests still answer within half a second."""
    sender, other = heat_for(cloud), heat_for(cloud)
    other.stacks.list()  # logged in before the clock starts
    large = {"heat_template_version": "2016-10-14",
             "resources": {f"r{i}": {"type": "OS::Heat::RandomString", "properties": {"length": 64}}
                           for i in range(engine.MAX_RESOURCES_PER_STACK)}}
    stop = threading.Event()
    sent = []

    def hostile():
        token = sender.http_client.session.get_token()
        i = 0
        while not stop.is_set():
            body = {"stack_name": f"x{i}", "template": BOMB if i % 2 else large}
            sent.append(requests.post(f"{cloud.heat_url}/stacks", json=body, timeout=30,
                                      headers={"X-Auth-Token": token}).status_code)
            i += 1

    thread = threading.Thread(target=hostile)
    thread.start()
    worst = 0.0
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            started = time.monotonic()
            other.stacks.list()
            worst = max(worst, time.monotonic() - started)
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join()
    assert 400 in sent and 201 in sent
    assert worst < 0.5, f"a simple request took {worst:.2f} s"
