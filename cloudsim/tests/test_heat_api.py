"""The fake Heat API driven by the unmodified python-heatclient."""

import pytest
import requests
from hastexo_cloudsim.testing import heat_for, wait_for_gone, wait_for_status
from heatclient import exc as heat_exc

MINIMAL = """
heat_template_version: 2016-10-14
parameters:
  run: {type: string}
resources:
  pw: {type: OS::Heat::RandomString, properties: {length: 8}}
outputs:
  password: {value: {get_attr: [pw, value]}}
"""


def create(heat, name="lab1", template=MINIMAL, **fields):
    fields.setdefault("parameters", {"run": "r1"})
    return heat.stacks.create(stack_name=name, template=template, **fields)["stack"]["id"]


def test_full_lifecycle_of_the_sample_template(heat, template):
    stack_id = create(heat, "learner-1", template)
    stack = heat.stacks.get("learner-1")
    assert stack.id == stack_id
    assert stack.stack_status == "CREATE_IN_PROGRESS"
    stack = wait_for_status(heat, "learner-1", "CREATE_COMPLETE")
    outputs = {o["output_key"]: o["output_value"] for o in stack.outputs}
    assert outputs["public_ip"].startswith("127.")
    assert outputs["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert len(outputs["password"]) == 16
    assert stack.parameters["run"] == "r1"
    assert stack.parameters["OS::stack_name"] == "learner-1"

    heat.actions.suspend(stack.identifier)
    assert heat.stacks.get(stack.identifier).stack_status == "SUSPEND_IN_PROGRESS"
    wait_for_status(heat, stack.identifier, "SUSPEND_COMPLETE")
    heat.actions.resume(stack.identifier)
    wait_for_status(heat, stack.identifier, "RESUME_COMPLETE")
    # Suspend and resume keep the stack, and so its outputs.
    again = {o["output_key"]: o["output_value"] for o in heat.stacks.get(stack.identifier).outputs}
    assert again == outputs

    # As Heat's API has them: the action joined into the status; the stack's
    # own (named as the stack) among its resources'.
    listed = heat.events.list(stack_id)
    assert {e.resource_name for e in listed} > {"learner-1"}
    events = [e.resource_status for e in listed if e.resource_name == "learner-1"]
    assert events == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE", "SUSPEND_IN_PROGRESS", "SUSPEND_COMPLETE",
                      "RESUME_IN_PROGRESS", "RESUME_COMPLETE"]
    assert not hasattr(heat.events.list(stack_id)[0], "resource_action")
    heat.stacks.delete(stack.identifier)
    wait_for_gone(heat, stack.identifier)


def test_lookup_by_name_redirects_to_name_and_id(cloud, heat):
    stack_id = create(heat)
    token = heat.http_client.session.get_token()
    resp = requests.get(f"{cloud.heat_url}/stacks/lab1", headers={"X-Auth-Token": token},
                        allow_redirects=False)
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"{cloud.heat_url}/stacks/lab1/{stack_id}"
    sub = requests.get(f"{cloud.heat_url}/stacks/lab1/outputs", headers={"X-Auth-Token": token},
                       allow_redirects=False)
    assert sub.headers["Location"] == f"{cloud.heat_url}/stacks/lab1/{stack_id}/outputs"
    assert heat.stacks.get(stack_id).stack_name == "lab1"


def test_outputs_resolve_only_after_create_completes(heat):
    create(heat)
    assert heat.stacks.get("lab1").outputs[0]["output_value"] is None
    wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    assert heat.stacks.output_list("lab1") == {
        "outputs": [{"output_key": "password", "description": "No description given"}]}
    shown = heat.stacks.output_show("lab1", "password")["output"]
    assert len(shown["output_value"]) == 8
    with pytest.raises(heat_exc.HTTPNotFound):
        heat.stacks.output_show("lab1", "nope")
    lean = heat.stacks.get("lab1", resolve_outputs=False)
    assert not hasattr(lean, "outputs")


def test_list_filters_sorting_and_paging(heat):
    for i in range(5):
        create(heat, f"lab-{i}")
    wait_for_status(heat, "lab-4", "CREATE_COMPLETE")
    heat.actions.suspend("lab-2")
    names = [s.stack_name for s in heat.stacks.list()]
    assert names == ["lab-4", "lab-3", "lab-2", "lab-1", "lab-0"]
    assert [s.stack_name for s in heat.stacks.list(filters={"name": "lab-3"})] == ["lab-3"]
    assert [s.stack_name for s in heat.stacks.list(filters={"action": "SUSPEND"})] == ["lab-2"]
    assert len(list(heat.stacks.list(filters={"status": "COMPLETE"}))) == 4
    ascending = [s.stack_name for s in heat.stacks.list(sort_keys="stack_name", sort_dir="asc")]
    assert ascending == sorted(ascending)
    assert len(list(heat.stacks.list(limit=2))) == 2
    first_two = list(heat.stacks.list(limit=2))
    rest = [s.stack_name for s in heat.stacks.list(marker=first_two[-1].id)]
    assert rest == ["lab-2", "lab-1", "lab-0"]


def test_duplicate_name_is_a_conflict(heat):
    create(heat)
    with pytest.raises(heat_exc.HTTPConflict) as err:
        create(heat)
    assert "already exists" in str(err.value)


def test_an_action_already_in_progress_is_a_conflict(heat):
    """Suspend or resume while one of them runs: 409 ActionInProgress. (Where
    real Heat accepts an action and it fails instead: test_stack_actions.)"""
    create(heat)
    wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    heat.actions.suspend("lab1")
    with pytest.raises(heat_exc.HTTPConflict) as err:
        heat.actions.resume("lab1")
    assert "in progress" in str(err.value)


def test_unknown_stacks_and_actions(cloud, heat):
    with pytest.raises(heat_exc.HTTPNotFound) as err:
        heat.stacks.get("nope")
    assert "The Stack (nope) could not be found." in str(err.value)
    with pytest.raises(heat_exc.HTTPNotFound):
        heat.actions.suspend("nope")
    with pytest.raises(heat_exc.HTTPNotFound):
        heat.stacks.delete("nope/00000000-0000-0000-0000-000000000000")
    stack_id = create(heat)
    with pytest.raises(heat_exc.HTTPNotFound):
        heat.stacks.get(f"other-name/{stack_id}")
    token = heat.http_client.session.get_token()
    bad = requests.post(f"{cloud.heat_url}/stacks/lab1/{stack_id}/actions",
                        json={"reboot": None}, headers={"X-Auth-Token": token})
    assert bad.status_code == 400


def test_deleted_stacks_are_gone_and_names_reusable(heat):
    stack_id = create(heat)
    heat.stacks.delete(stack_id)
    heat.stacks.delete(stack_id)  # a second delete while deleting is harmless
    wait_for_gone(heat, stack_id)
    assert list(heat.stacks.list()) == []
    assert [s.id for s in heat.stacks.list(show_deleted=True)] == [stack_id]
    assert create(heat) != stack_id


def test_delete_during_create(heat):
    stack_id = create(heat)
    heat.stacks.delete(stack_id)
    assert heat.stacks.get(stack_id).stack_status == "DELETE_IN_PROGRESS"
    wait_for_gone(heat, stack_id)


def test_create_timeout(clocked_cloud, clock):
    heat = heat_for(clocked_cloud)
    clocked_cloud.config.durations["create"] = 600
    create(heat, timeout_mins=1)
    clock.advance(59)
    assert heat.stacks.get("lab1").stack_status == "CREATE_IN_PROGRESS"
    clock.advance(2)
    stack = heat.stacks.get("lab1")
    assert stack.stack_status == "CREATE_FAILED"
    assert stack.stack_status_reason == "Create timed out"


@pytest.mark.parametrize("name", ["1abc", "has space", "x" * 256, "", "ünïcode"])
def test_invalid_stack_names(heat, name):
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        create(heat, name)
    assert "Invalid stack name" in str(err.value)


def test_template_environment_and_resources(heat, template):
    create(heat, "lab1", template, environment={"parameters": {"lab_user": "student"}})
    wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    assert heat.stacks.template("lab1")["heat_template_version"] == "2016-10-14"
    assert heat.stacks.environment("lab1")["parameters"] == {"lab_user": "student"}
    resources = {r.resource_name: r for r in heat.resources.list("lab1")}
    assert resources["server"].resource_type == "OS::Nova::Server"
    assert resources["server"].resource_status == "CREATE_COMPLETE"


def test_events_filters(heat):
    create(heat)
    wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    events = heat.events.list("lab1", filters={"resource_status": "COMPLETE"})
    assert {e.resource_status for e in events} == {"CREATE_COMPLETE"}
    assert [e.resource_name for e in events][-1] == "lab1"  # the stack's own, after its resources'
    assert all(e.resource_name == "lab1" for e in heat.events.list("lab1", filters={"resource_name": "lab1"}))
    assert len(heat.events.list("lab1", sort_dir="desc", limit=1)) == 1


def test_many_concurrent_clients(cloud):
    from concurrent.futures import ThreadPoolExecutor

    def one(i):
        client = heat_for(cloud)
        create(client, f"lab-{i}")
        return wait_for_status(client, f"lab-{i}", "CREATE_COMPLETE").stack_status

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert list(pool.map(one, range(40))) == ["CREATE_COMPLETE"] * 40
    assert cloud.heat.stack_count() == 40


def test_bad_request_bodies(cloud, heat):
    token = heat.http_client.session.get_token()
    url = f"{cloud.heat_url}/stacks"
    resp = requests.post(url, data=b"{oops", headers={"X-Auth-Token": token})
    assert resp.status_code == 400
    assert "not valid JSON" in resp.json()["error"]["message"]
    resp = requests.post(url, json={"stack_name": "x"}, headers={"X-Auth-Token": token})
    assert resp.json()["error"]["message"] == "No template specified"
    resp = requests.post(url, json={"stack_name": "x", "template": MINIMAL, "parameters": {"run": "r"},
                                    "timeout_mins": "soon"}, headers={"X-Auth-Token": token})
    assert "Invalid timeout" in resp.json()["error"]["message"]
    resp = requests.put(url, json={}, headers={"X-Auth-Token": token})
    assert resp.status_code == 405


def test_deleted_stacks_are_forgotten_after_a_while(clocked_cloud, clock):
    """Memory does not grow with every create and delete."""
    from hastexo_cloudsim.heat import DELETED_RETENTION
    from hastexo_cloudsim.testing import heat_for
    heat = heat_for(clocked_cloud)
    for i in range(20):
        heat.stacks.create(stack_name=f"s{i}", template=MINIMAL, parameters={"run": "r"})
        clock.advance(5)
        heat.stacks.delete(f"s{i}")
        clock.advance(5)
    clock.advance(DELETED_RETENTION + 1)
    heat.stacks.create(stack_name="last", template=MINIMAL, parameters={"run": "r"})
    assert clocked_cloud.heat.known() == 1
