"""Template resources (a template file as a type, directly or through the
environment's resource_registry), OS::Heat::Stack and resource groups of them."""

import pytest
from hastexo_cloudsim.testing import heat_for, wait_for_status
from hastexo_cloudsim.testing import stack_outputs as outputs
from heatclient import exc as heat_exc

NODE = """heat_template_version: 2016-10-14
parameters:
  index: {type: string}
  flavor: {type: string, default: m1.small}
resources:
  server:
    type: OS::Nova::Server
    properties: {name: {list_join: ["-", [node, {get_param: index}]]}, image: ubuntu, flavor: {get_param: flavor}}
outputs:
  name: {value: {get_attr: [server, name]}}
"""



def test_a_template_file_as_a_type_and_through_the_registry(cloud):
    heat = heat_for(cloud)
    template = """heat_template_version: 2016-10-14
resources:
  a: {type: node.yaml, properties: {index: a}}
  b: {type: My::Node, properties: {index: b}}
  group:
    type: OS::Heat::ResourceGroup
    properties: {count: 2, resource_def: {type: My::Node, properties: {index: "g%index%"}}}
outputs:
  a: {value: {get_attr: [a, name]}}
  b: {value: {get_attr: [b, name]}}
  group: {value: {get_attr: [group, name]}}
  id: {value: {get_attr: [a, "OS::stack_id"]}}
"""
    heat.stacks.create(stack_name="nested", template=template, files={"node.yaml": NODE},
                       environment={"resource_registry": {"My::Node": "node.yaml"}})
    wait_for_status(heat, "nested", "CREATE_COMPLETE")
    found = outputs(heat, "nested")
    assert (found["a"], found["b"], found["group"]) == ("node-a", "node-b", ["node-g0", "node-g1"])
    assert found["id"]


def test_a_group_of_a_type_nobody_offers_is_refused(cloud):
    heat = heat_for(cloud)
    template = ("heat_template_version: 2016-10-14\nresources:\n  g: {type: OS::Heat::ResourceGroup, properties: "
                "{resource_def: {type: OS::Trove::Instance}}}\n")
    with pytest.raises(heat_exc.HTTPBadRequest) as error:
        heat.stacks.create(stack_name="bad", template=template)
    assert "The Resource Type (OS::Trove::Instance) could not be found." in str(error.value)


@pytest.mark.parametrize("properties, message", [
    ("{index: a, colour: red}", "Property error: resources.a.properties: Unknown Property colour"),
    ("{}", "Property error: resources.a.properties: Property index not assigned"),
])
def test_a_template_resources_properties_are_its_parameters(cloud, properties, message):
    heat = heat_for(cloud)
    template = f"heat_template_version: 2016-10-14\nresources:\n  a: {{type: node.yaml, properties: {properties}}}\n"
    with pytest.raises(heat_exc.HTTPBadRequest) as error:
        heat.stacks.create(stack_name="bad", template=template, files={"node.yaml": NODE})
    assert message in str(error.value)


def test_os_heat_stack_builds_its_template(cloud):
    heat = heat_for(cloud)
    template = """heat_template_version: 2016-10-14
resources:
  inner:
    type: OS::Heat::Stack
    properties:
      template: {get_file: node.yaml}
      parameters: {index: s}
outputs:
  outs: {value: {get_attr: [inner, outputs]}}
"""
    heat.stacks.create(stack_name="stacked", template=template, files={"node.yaml": NODE})
    wait_for_status(heat, "stacked", "CREATE_COMPLETE")
    assert outputs(heat, "stacked")["outs"] == {"name": "node-s"}
