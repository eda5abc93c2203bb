"""What an author asks of a stack without changing it: create and update
previews (``--dry-run``) and the tag filters of the stack list; export and
abandon (off in Heat by default), and build info."""

import pytest
from hastexo_cloudsim.testing import wait_for_status
from heatclient import exc as heat_exc
from test_resource_api import cli_json, run_cli

TEMPLATE = """heat_template_version: 2018-08-31
parameters:
  n: {type: string, default: a}
resources:
  v: {type: OS::Heat::Value, properties: {value: {get_param: n}}}
  pw: {type: OS::Heat::RandomString}
  gone: {type: OS::Heat::None}
outputs:
  out: {value: {get_attr: [v, value]}}
"""
# v changes in place (value may be updated), pw is replaced (length may not),
# gone is deleted, extra is added.
CHANGED = (TEMPLATE.replace("pw: {type: OS::Heat::RandomString}",
                            "pw: {type: OS::Heat::RandomString, properties: {length: 20}}")
           .replace("  gone: {type: OS::Heat::None}\n", "  extra: {type: OS::Heat::None}\n"))


def created(heat, name="s1", **fields):
    heat.stacks.create(stack_name=name, template=TEMPLATE, **fields)
    return wait_for_status(heat, name, "CREATE_COMPLETE")


def names(changes):
    return {kind: sorted(r["resource_name"] for r in found) for kind, found in changes["resource_changes"].items()}


def test_a_create_preview_shows_the_resources_and_creates_nothing(heat):
    preview = heat.stacks.preview(stack_name="s1", template=TEMPLATE, parameters={"n": "b"}).to_dict()
    assert preview["stack_name"] == "s1" and preview["parameters"]["n"] == "b"
    assert "stack_status" not in preview  # a preview has no state
    resources = {r["resource_name"]: r for r in preview["resources"]}
    assert set(resources) == {"v", "pw", "gone"}
    assert resources["v"]["properties"] == {"value": "b"} and resources["v"]["resource_action"] == "INIT"
    assert list(heat.stacks.list()) == []
    with pytest.raises(heat_exc.HTTPBadRequest) as error:
        heat.stacks.preview(stack_name="s1", template=TEMPLATE.replace("OS::Heat::Value", "OS::Nope"))
    assert "The Resource Type (OS::Nope) could not be found." in str(error.value)


def test_an_update_preview_sorts_what_changes_as_heat_does(heat):
    stack = created(heat)
    sid = f"{stack.stack_name}/{stack.id}"
    changes = heat.stacks.preview_update(sid, template=CHANGED, parameters={"n": "b"})
    assert names(changes) == {"added": ["extra"], "deleted": ["gone"], "replaced": ["pw"], "updated": ["v"],
                              "unchanged": []}
    kept = heat.stacks.preview_update(sid, existing=True)
    assert names(kept) == {"added": [], "deleted": [], "replaced": [], "updated": [],
                           "unchanged": ["gone", "pw", "v"]}
    heat.resources.mark_unhealthy(sid, "v", True, "broken")
    assert names(heat.stacks.preview_update(sid, existing=True))["replaced"] == ["v"]
    # Nothing was changed.
    assert heat.stacks.get("s1").stack_status == "CREATE_COMPLETE"
    assert heat.stacks.output_show("s1", "out")["output"]["output_value"] == "a"


def test_export_and_abandon_are_off_as_in_a_default_heat(heat):
    """Heat's enable_stack_abandon is off by default, and export is abandon's
    data without the abandoning: both are refused, and the stack stays."""
    stack = created(heat, tags="web,lab")
    sid = f"{stack.stack_name}/{stack.id}"
    for call in (heat.stacks.export, heat.stacks.abandon):
        with pytest.raises(heat_exc.HTTPBadRequest) as error:
            call(sid)
        assert "Stack Abandon is not supported." in str(error.value)
    assert heat.stacks.get("s1").stack_status == "CREATE_COMPLETE"


def test_the_stack_list_filters_by_tags(heat):
    created(heat, "web", tags="web,lab")
    created(heat, "db", tags="db,lab")
    created(heat, "bare")

    def listed(**filters):
        return sorted(s.stack_name for s in heat.stacks.list(filters=filters))
    assert listed(tags="lab") == ["db", "web"]
    assert listed(tags="web,lab") == ["web"]
    assert listed(tags_any="web,db") == ["db", "web"]
    assert listed(not_tags="web,lab") == ["bare", "db"]
    assert listed(not_tags_any="web,db") == ["bare"]


def test_build_info(heat):
    info = heat.build_info.build_info()
    assert info["api"]["revision"] and info["engine"]["revision"]


@pytest.mark.timeout(300)
def test_the_openstack_cli_dry_runs(cloud, heat, tmp_path):
    template, changed = tmp_path / "lab.yaml", tmp_path / "changed.yaml"
    template.write_text(TEMPLATE)
    changed.write_text(CHANGED)
    preview = cli_json(cloud, "stack", "create", "--dry-run", "-t", str(template), "s1")
    assert preview["stack_name"] == "s1" and len(preview["resources"]) == 3
    cli_json(cloud, "stack", "create", "-t", str(template), "--wait", "s1")
    changes = cli_json(cloud, "stack", "update", "--dry-run", "-t", str(changed), "s1")
    assert [r["resource_name"] for r in changes["replaced"]] == ["pw"]
    for command in ("export", "abandon"):
        proc = run_cli(cloud, "stack", command, "s1", expect_ok=False)
        assert proc.returncode != 0 and "Stack Abandon is not supported." in proc.stderr
