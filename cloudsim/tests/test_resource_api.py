"""Heat's resource-level API, template validation, resource types, template
versions and stack updates, driven by the unmodified heatclient and by the
``openstack`` CLI (python-openstackclient with heatclient's plugin)."""

import json
import os
import subprocess
import sys

import pytest
import requests
from hastexo_cloudsim.testing import wait_for_gone, wait_for_status
from heatclient import exc as heat_exc

TEMPLATE = """
heat_template_version: 2016-10-14
description: Two values
parameters:
  run:
    type: string
    label: Run
    description: The run
    constraints:
      - length: {min: 1, max: 8}
        description: Short
  size: {type: number, default: 3}
parameter_groups:
  - label: all
    parameters: [run]
resources:
  pw:
    type: OS::Heat::RandomString
    properties: {length: {get_param: size}}
  val:
    type: OS::Heat::Value
    metadata: {role: {get_param: run}}
    properties: {value: {get_attr: [pw, value]}}
    depends_on: pw
outputs:
  password: {value: {get_attr: [pw, value]}}
  run: {value: {get_param: run}}
"""


def created(heat, name="lab1", **fields):
    fields.setdefault("parameters", {"run": "r1"})
    heat.stacks.create(stack_name=name, template=TEMPLATE, **fields)
    return wait_for_status(heat, name, "CREATE_COMPLETE")


def outputs(stack):
    return {o["output_key"]: o["output_value"] for o in stack.outputs}


def test_resource_list_show_and_metadata(heat):
    stack = created(heat)
    listed = {r.resource_name: r for r in heat.resources.list("lab1", nested_depth=2)}
    assert set(listed) == {"pw", "val"}
    assert listed["pw"].required_by == ["val"]
    assert listed["pw"].resource_status == "CREATE_COMPLETE"
    assert [r.resource_name for r in heat.resources.list("lab1", filters={"type": "OS::Heat::Value"})] == ["val"]
    shown = heat.resources.get("lab1", "pw")
    assert shown.resource_type == "OS::Heat::RandomString"
    assert shown.attributes["value"] == outputs(stack)["password"]
    assert shown.physical_resource_id == shown.attributes["value"]
    assert shown.stack_name == "lab1"
    assert {link["rel"] for link in shown.links} == {"self", "stack"}
    assert heat.resources.metadata("lab1", "val") == {"role": "r1"}
    assert heat.resources.metadata(stack.identifier, "pw") == {}
    with pytest.raises(heat_exc.HTTPNotFound) as err:
        heat.resources.get("lab1", "nope")
    assert "The Resource (nope) could not be found." in str(err.value)
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        heat.resources.list("lab1", filters={"colour": "red"})
    assert "Invalid filter parameters" in str(err.value)
    with pytest.raises(heat_exc.HTTPBadRequest):
        heat.resources.list("lab1", nested_depth="deep")


def test_events_of_one_resource_and_event_show(heat):
    created(heat)
    events = heat.events.list("lab1", resource_name="pw")
    assert [e.resource_status for e in events] == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    one = heat.events.get("lab1", "pw", events[-1].id)
    assert one.resource_type == "OS::Heat::RandomString"
    assert one.resource_properties == {"length": 3}
    assert {link["rel"] for link in one.links} == {"self", "resource", "stack"}
    # The stack's event list: the stack's own and its resources', as Heat's.
    assert {e.resource_name for e in heat.events.list("lab1")} >= {"lab1", "pw"}
    with pytest.raises(heat_exc.HTTPNotFound) as err:
        heat.events.list("lab1", resource_name="nope")
    assert "No events found for resource nope" in str(err.value)
    with pytest.raises(heat_exc.HTTPNotFound):
        heat.events.get("lab1", "pw", "00000000-0000-0000-0000-000000000000")


def test_validate_as_heat_does(heat):
    result = heat.stacks.validate(template=TEMPLATE)
    assert result["Description"] == "Two values"
    assert result["Parameters"]["run"] == {
        "Type": "String", "Description": "The run", "NoEcho": "false", "Label": "Run",
        "MinLength": 1, "MaxLength": 8, "ConstraintDescription": "Short"}
    assert result["Parameters"]["size"]["Default"] == 3
    assert result["ParameterGroups"] == [{"label": "all", "parameters": ["run"]}]
    given = heat.stacks.validate(template=TEMPLATE, parameters={"run": "x"})
    assert given["Parameters"]["run"]["Value"] == "x"
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        heat.stacks.validate(template=TEMPLATE.replace("OS::Heat::Value", "OS::Nope"))
    assert "OS::Nope" in str(err.value)
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        heat.stacks.validate(template=TEMPLATE, parameters={"other": 1})
    assert "The Parameter (other) was not defined in template." in str(err.value)
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        heat.stacks.validate(template=TEMPLATE.replace("[pw, value]", "[nope, value]"))
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        heat.stacks.validate()
    assert "No template specified" in str(err.value)


def test_validate_judges_no_value_given_and_a_create_preview_does(heat):
    # Heat validates with strict validation off: a value given is shown, not
    # judged, and neither is a reference to a parameter the template lacks.
    # The preview of a create judges both, as the create does.
    template = TEMPLATE.replace("resources:\n", "resources:\n  other: {type: OS::Heat::Value, "
                                                 "properties: {value: {get_param: nosuch}}}\n")
    result = heat.stacks.validate(template=template, parameters={"run": "far too long", "size": "abc"})
    assert result["Parameters"]["size"]["Value"] == "abc"
    assert result["Parameters"]["run"]["Value"] == "far too long"
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        heat.stacks.preview(stack_name="check", template=template, parameters={"run": "x", "size": "abc"})
    assert "Parameter 'size' is invalid" in str(err.value)
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        heat.stacks.preview(stack_name="check", template=template, parameters={"run": "x"})
    assert "The Parameter (nosuch)" in str(err.value)
    assert list(heat.stacks.list()) == []

def test_resource_types_and_template_versions(heat):
    names = [t.resource_type for t in heat.resource_types.list()]
    assert "OS::Heat::RandomString" in names and "OS::Nova::Server" in names
    heat_only = [t.resource_type for t in heat.resource_types.list(filters={"name": "OS::Heat::Random"})]
    assert heat_only == ["OS::Heat::RandomString"]
    described = heat.resource_types.list(filters={"name": "OS::Heat::Value"}, with_description=True)
    assert described[0].resource_type == "OS::Heat::Value"
    assert [t for t in heat.resource_types.list(filters={"support_status": "DEPRECATED",
                                                         "name": "OS::Heat::Value"})] == []
    with pytest.raises(heat_exc.HTTPBadRequest):
        heat.resource_types.list(filters={"support_status": "SHINY"})
    schema = heat.resource_types.get("OS::Heat::RandomString")
    assert schema["resource_type"] == "OS::Heat::RandomString"
    assert {"properties", "attributes", "support_status"} <= set(schema)
    with pytest.raises(heat_exc.HTTPNotFound) as err:
        heat.resource_types.get("OS::Nope")
    assert "The Resource Type (OS::Nope) could not be found." in str(err.value)
    hot = heat.resource_types.generate_template("OS::Heat::Value", template_type="hot")
    assert hot["heat_template_version"] == "2016-10-14"
    assert hot["resources"]["Value"]["type"] == "OS::Heat::Value"
    cfn = heat.resource_types.generate_template("OS::Heat::Value")
    assert cfn["HeatTemplateFormatVersion"] == "2012-12-12"
    with pytest.raises(heat_exc.HTTPBadRequest):
        heat.resource_types.generate_template("OS::Heat::Value", template_type="xml")

    versions = {v.version: v for v in heat.template_versions.list()}
    assert versions["heat_template_version.2016-10-14"].type == "hot"
    assert "heat_template_version.newton" in versions["heat_template_version.2016-10-14"].aliases
    functions = heat.template_versions.get("heat_template_version.2016-10-14")
    assert isinstance(functions, list)
    with pytest.raises(heat_exc.HTTPNotFound):
        heat.template_versions.get("heat_template_version.1999-01-01")


def test_update_put_replaces_and_patch_keeps(heat):
    stack = created(heat, tags="a,b")
    before = outputs(stack)
    password = before["password"]
    # PATCH: the template and the other parameters are kept.
    heat.stacks.update("lab1", existing=True, parameters={"size": 5})
    assert heat.stacks.get("lab1").stack_status == "UPDATE_IN_PROGRESS"
    # Outputs are the old ones until the update completes.
    assert outputs(heat.stacks.get("lab1"))["password"] == password
    stack = wait_for_status(heat, "lab1", "UPDATE_COMPLETE")
    after = outputs(stack)
    assert after["run"] == "r1" and len(after["password"]) == 5
    assert stack.parameters["size"] == "5"
    assert stack.tags == ["a", "b"]
    events = [e.resource_status for e in heat.events.list("lab1") if e.resource_name == "lab1"]
    assert events[-2:] == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]
    updated = heat.events.list("lab1", resource_name="pw")
    assert [e.resource_status for e in updated][-2:] == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]
    assert heat.resources.get("lab1", "pw").resource_status == "UPDATE_COMPLETE"

    # PATCH with clear_parameters: size goes back to its default; unchanged resources stay.
    heat.stacks.update("lab1", existing=True, clear_parameters=["size"], parameters={"run": "r2"})
    stack = wait_for_status(heat, "lab1", "UPDATE_COMPLETE")
    assert outputs(stack)["run"] == "r2" and len(outputs(stack)["password"]) == 3
    assert heat.resources.metadata("lab1", "val") == {"role": "r2"}
    keep = outputs(stack)["password"]
    heat.stacks.update("lab1", existing=True, parameters={"run": "r3"})
    stack = wait_for_status(heat, "lab1", "UPDATE_COMPLETE")
    assert outputs(stack)["password"] == keep  # pw did not change, so it kept its value

    # PUT: a full replace; what is not given is gone (run is required again).
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        heat.stacks.update("lab1", template=TEMPLATE)
    assert "The Parameter (run) was not provided." in str(err.value)
    smaller = TEMPLATE.replace("    depends_on: pw\n", "").replace("{value: {get_attr: [pw, value]}}",
                                                                  "{value: fixed}")
    heat.stacks.update(stack.identifier, template=smaller, parameters={"run": "r4"})
    stack = wait_for_status(heat, "lab1", "UPDATE_COMPLETE")
    assert outputs(stack)["run"] == "r4"
    assert heat.resources.get("lab1", "val").attributes["value"] == "fixed"
    assert stack.tags is None


def test_update_refused_in_the_wrong_state(heat):
    heat.stacks.create(stack_name="lab1", template=TEMPLATE, parameters={"run": "r"})
    with pytest.raises(heat_exc.HTTPConflict) as err:
        heat.stacks.update("lab1", existing=True, parameters={"run": "x"})
    assert "already has an action (CREATE) in progress" in str(err.value)
    wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    heat.actions.suspend("lab1")
    wait_for_status(heat, "lab1", "SUSPEND_COMPLETE")
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        heat.stacks.update("lab1", existing=True, parameters={"run": "x"})
    assert "suspended is not supported" in str(err.value)
    heat.actions.resume("lab1")
    wait_for_status(heat, "lab1", "RESUME_COMPLETE")
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        heat.stacks.update("lab1", existing=True, parameters={"run": "much too long"})
    assert "Parameter 'run' is invalid" in str(err.value)
    assert heat.stacks.get("lab1").stack_status == "RESUME_COMPLETE"


def test_update_answers_202_and_redirects_by_name(cloud, heat):
    stack = created(heat)
    token = heat.http_client.session.get_token()
    url = f"{cloud.heat_url}/stacks/lab1"
    resp = requests.patch(url, json={"parameters": {"run": "x"}}, headers={"X-Auth-Token": token},
                          allow_redirects=False)
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"{cloud.heat_url}/stacks/lab1/{stack.id}"
    resp = requests.patch(resp.headers["Location"], json={"parameters": {"run": "x"}},
                          headers={"X-Auth-Token": token})
    assert resp.status_code == 202


# -- the openstack CLI -----------------------------------------------------------

def _openstack_cli():
    pytest.importorskip("openstackclient")
    path = os.path.join(os.path.dirname(sys.executable), "openstack")
    if not os.path.exists(path):
        pytest.skip("the openstack CLI is not installed")
    return path


def run_cli(cloud, *args, expect_ok=True):
    cfg = cloud.config
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_AUTH_URL=cloud.auth_url, OS_USERNAME=cfg.username, OS_PASSWORD=cfg.password,
               OS_PROJECT_NAME=cfg.project_name, OS_USER_DOMAIN_NAME=cfg.domain_name,
               OS_PROJECT_DOMAIN_NAME=cfg.domain_name, OS_REGION_NAME=cfg.region, OS_IDENTITY_API_VERSION="3",
               OS_AUTH_TYPE="password", OS_CLOUD="", HOME=env.get("HOME", "/nonexistent"))
    proc = subprocess.run([_openstack_cli(), *args], env=env, capture_output=True, text=True, timeout=120)
    if expect_ok:
        assert proc.returncode == 0, f"openstack {' '.join(args)}: {proc.stderr}"
    return proc


def cli_json(cloud, *args):
    """The JSON the CLI prints (after the events ``--wait`` prints first)."""
    lines = run_cli(cloud, *args, "-f", "json").stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line[:1] in ("{", "["))
    return json.loads("\n".join(lines[start:]))


@pytest.mark.timeout(300)
def test_the_openstack_cli(cloud, tmp_path):
    _openstack_cli()
    template = tmp_path / "lab.yaml"
    template.write_text(TEMPLATE)
    validated = cli_json(cloud, "orchestration", "template", "validate", "-t", str(template))
    assert validated["Description"] == "Two values"
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEMPLATE.replace("OS::Heat::Value", "OS::Nope"))
    proc = run_cli(cloud, "orchestration", "template", "validate", "-t", str(bad), expect_ok=False)
    assert proc.returncode != 0 and "OS::Nope" in proc.stderr

    created_stack = cli_json(cloud, "stack", "create", "-t", str(template), "--parameter", "run=r1", "--wait",
                             "lab1")
    assert created_stack["stack_status"] == "CREATE_COMPLETE"
    assert [s["Stack Name"] for s in cli_json(cloud, "stack", "list")] == ["lab1"]
    shown = cli_json(cloud, "stack", "show", "lab1")
    assert shown["stack_status"] == "CREATE_COMPLETE"

    resources = {r["resource_name"]: r for r in cli_json(cloud, "stack", "resource", "list", "lab1")}
    assert resources["pw"]["resource_type"] == "OS::Heat::RandomString"
    assert cli_json(cloud, "stack", "resource", "show", "lab1", "val")["resource_status"] == "CREATE_COMPLETE"
    assert cli_json(cloud, "stack", "resource", "metadata", "lab1", "val") == {"role": "r1"}
    events = cli_json(cloud, "stack", "event", "list", "lab1", "--resource", "pw")
    assert len(events) == 2
    event = cli_json(cloud, "stack", "event", "show", "lab1", "pw", events[0]["id"])
    assert event["resource_name"] == "pw"
    assert cli_json(cloud, "stack", "event", "list", "lab1")

    keys = {o["output_key"] for o in cli_json(cloud, "stack", "output", "list", "lab1")}
    assert keys == {"password", "run"}
    assert cli_json(cloud, "stack", "output", "show", "lab1", "run")["output_value"] == "r1"
    assert cli_json(cloud, "stack", "template", "show", "lab1")["description"] == "Two values"

    updated = cli_json(cloud, "stack", "update", "--existing", "--parameter", "run=r2", "--wait", "lab1")
    assert updated["stack_status"] == "UPDATE_COMPLETE"
    assert cli_json(cloud, "stack", "output", "show", "lab1", "run")["output_value"] == "r2"

    types = [t["Resource Type"] for t in cli_json(cloud, "orchestration", "resource", "type", "list")]
    assert "OS::Heat::RandomString" in types
    schema = cli_json(cloud, "orchestration", "resource", "type", "show", "OS::Heat::RandomString")
    assert schema["resource_type"] == "OS::Heat::RandomString"
    versions = [v["Version"] for v in cli_json(cloud, "orchestration", "template", "version", "list")]
    assert "heat_template_version.2016-10-14" in versions

    run_cli(cloud, "stack", "delete", "--yes", "--wait", "lab1")
    from hastexo_cloudsim.testing import heat_for
    wait_for_gone(heat_for(cloud), "lab1")
