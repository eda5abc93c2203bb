"""What a type stands for: the environment's resource_registry (wildcards,
per-resource mappings, chains) and Heat's global environment; the types Heat
has retired but keeps as placeholders."""

import pytest
from hastexo_cloudsim import schemas
from hastexo_cloudsim.registry import Registry
from hastexo_cloudsim.testing import stack_outputs as outputs
from hastexo_cloudsim.testing import wait_for_status
from heatclient import exc as heat_exc


def test_a_registry_maps_exactly_by_wildcard_per_resource_and_in_chains():
    registry = Registry({
        "My::Server": "My::Machine",
        "My::Machine": "OS::Nova::Server",
        "Acme::*": "OS::Neutron::*",
        "Acme::Special::*": "OS::Heat::None",
        "Loop::A": "Loop::B", "Loop::B": "Loop::A",
        "resources": {"db": {"OS::Nova::Server": "db.yaml"}, "web_*": {"OS::Nova::Server": "web.yaml"}},
    })
    assert registry.target("My::Server") == "OS::Nova::Server"
    assert registry.target("Acme::Net") == "OS::Neutron::Net"
    assert registry.target("Acme::Special::Thing") == "OS::Heat::None"  # the longest wildcard wins
    assert registry.target("OS::Nova::Server", "db") == "db.yaml"
    assert registry.target("OS::Nova::Server", "web_2") == "OS::Nova::Server"  # no patterns here, as in Heat
    assert registry.target("OS::Nova::Server", "app") == "OS::Nova::Server"
    assert registry.target("My::Server", "db") == "db.yaml"  # the chain ends at the resource's own mapping
    assert registry.target("Loop::A") in ("Loop::A", "Loop::B")  # a loop ends, unresolved
    # Heat's global environment: the old names of types.
    assert Registry().target("OS::Quantum::Net") == "OS::Neutron::Net"
    assert Registry().target("OS::Ceilometer::Alarm") == "OS::Aodh::Alarm"


def test_old_names_a_wildcard_and_a_per_resource_template_build(heat):
    node = ("heat_template_version: 2016-10-14\nparameters:\n  name: {type: string, default: x}\n"
            "outputs:\n  kind: {value: template}\n")
    template = """heat_template_version: 2016-10-14
resources:
  net: {type: OS::Quantum::Net}
  other: {type: Acme::Net}
  db: {type: OS::Heat::Value, properties: {name: db}}
outputs:
  net: {value: {get_resource: net}}
  db: {value: {get_attr: [db, kind]}}
"""
    heat.stacks.create(stack_name="registry", template=template, files={"db.yaml": node},
                       environment={"resource_registry": {
                           "Acme::*": "OS::Neutron::*",
                           "resources": {"db": {"OS::Heat::Value": "db.yaml"}}}})
    wait_for_status(heat, "registry", "CREATE_COMPLETE")
    found = outputs(heat, "registry")
    assert found["net"] and found["db"] == "template"
    kinds = {r.resource_name: r.resource_type for r in heat.resources.list("registry")}
    assert kinds["net"] == "OS::Quantum::Net" and kinds["other"] == "Acme::Net"


def test_a_ceilometer_alarm_is_an_aodh_alarm_which_a_lab_cloud_lacks(heat):
    template = ("heat_template_version: 2016-10-14\nresources:\n  alarm:\n    type: OS::Ceilometer::Alarm\n"
                "    properties: {meter_name: cpu_util, threshold: 50}\n")
    with pytest.raises(heat_exc.HTTPBadRequest) as error:
        heat.stacks.create(stack_name="alarm", template=template)
    assert "The Resource Type (OS::Ceilometer::Alarm) could not be found." in str(error.value)


@pytest.mark.parametrize("rtype", ["OS::Designate::Domain", "OS::Monasca::Notification", "OS::Sahara::Cluster",
                                   "OS::Neutron::LBaaS::LoadBalancer", "OS::Heat::HARestarter"])
def test_a_retired_type_is_a_placeholder_that_takes_anything(heat, rtype):
    template = f"""heat_template_version: 2016-10-14
resources:
  old:
    type: {rtype}
    properties: {{name: example.org., anything: [1, 2], at_all: {{x: y}}}}
  uses:
    type: OS::Heat::Value
    properties: {{value: {{get_attr: [old, whatever]}}}}
outputs:
  id: {{value: {{get_resource: old}}}}
  attribute: {{value: {{get_attr: [old, anything_at_all]}}}}
"""
    heat.stacks.create(stack_name="retired", template=template)
    wait_for_status(heat, "retired", "CREATE_COMPLETE")
    found = outputs(heat, "retired")
    assert found["id"] and found["attribute"] is None


def test_retired_types_are_not_listed_and_not_shown(heat):
    listed = {t.resource_type for t in heat.resource_types.list()}
    assert "OS::Designate::Domain" not in listed and "OS::Heat::None" in listed
    with pytest.raises(heat_exc.HTTPBadRequest) as error:
        heat.resource_types.get("OS::Designate::Domain")
    assert "OS::Designate::Domain is not supported." in str(error.value)
    with pytest.raises(heat_exc.HTTPNotFound):
        heat.resource_types.get("OS::No::Such")


def test_retired_and_not_offered_types_do_not_overlap():
    assert not set(schemas.RETIRED) & set(schemas.NOT_OFFERED)
    assert all(schemas.TYPES_SCHEMA[t].retired for t in schemas.RETIRED)
