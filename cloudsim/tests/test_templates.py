"""HOT templates: what the fake Heat accepts, what it refuses, and how it says so."""

import pytest
from cryptography.hazmat.primitives.serialization import load_ssh_private_key
from hastexo_cloudsim.testing import stack_outputs, wait_for_status
from heatclient import exc as heat_exc

HEADER = "heat_template_version: 2016-10-14\n"


def refused(heat, template, **fields):
    fields.setdefault("parameters", {})
    with pytest.raises(heat_exc.HTTPBadRequest) as err:
        heat.stacks.create(stack_name="bad", template=template, **fields)
    return str(err.value)


def outputs_of(heat, template, name="ok", **fields):
    heat.stacks.create(stack_name=name, template=template, **fields)
    stack = wait_for_status(heat, name, "CREATE_COMPLETE")
    return {o["output_key"]: o["output_value"] for o in stack.outputs}


def test_sample_template_requires_run(heat, template):
    assert "The Parameter (run) was not provided." in refused(heat, template)


def test_sample_template_outputs(heat, template):
    outputs = outputs_of(heat, template, parameters={"run": "course-v1:Org+Course+Run"})
    key = load_ssh_private_key(outputs["private_key"].encode(), password=None)
    assert key.public_key() is not None
    assert outputs["password"].isalnum() and len(outputs["password"]) == 16


def test_floating_ips_are_unique_per_stack(heat, template):
    ips = {outputs_of(heat, template, name=f"lab{i}", parameters={"run": "r"})["public_ip"] for i in range(5)}
    assert len(ips) == 5
    assert all(ip.startswith("127.") for ip in ips)


def test_floating_ip_addresses_stay_unique_at_scale():
    from hastexo_cloudsim.resources import BuildContext
    ips = {BuildContext("s", "i", n).floating_ip for n in range(1, 200_000)}
    assert len(ips) == 199_999
    assert not any(ip.endswith((".0", ".255")) for ip in ips)


@pytest.mark.parametrize("template, message", [
    ("resources: {a: [unclosed\n", "Error parsing template"),
    ("- just\n- a list\n", "not a mapping"),
    ("resources: {}\n", "Template format version not found."),
    ("heat_template_version: 1999-01-01\n", "The template version is invalid"),
    (HEADER + "bogus_section: {}\n", "Unknown top-level key(s) in template: bogus_section"),
    (HEADER + "resources: {a: {type: OS::Nova::Servr}}\n", "The Resource Type (OS::Nova::Servr) could not be found."),
    (HEADER + "resources: {a: {properties: {}}}\n", 'Resource "a" has no "type".'),
    (HEADER + "parameters: {p: {type: text}}\n", 'Invalid type (text) of parameter "p"'),
    (HEADER + "resources: {a: {type: OS::Heat::Value, properties: {value: {get_resource: b}}}}\n",
     'The specified reference "b" (in resource a) is incorrect.'),
    (HEADER + "resources: {a: {type: OS::Heat::RandomString}}\noutputs: {o: {value: {get_attr: [a, nope]}}}\n",
     "The Referenced Attribute (a nope) is incorrect."),
    (HEADER + "resources:\n  a: {type: OS::Heat::Value, properties: {value: {get_attr: [b, value]}}}\n"
              "  b: {type: OS::Heat::Value, properties: {value: {get_attr: [a, value]}}}\n",
     "Circular Dependency Found"),
    (HEADER + "outputs: {o: {value: {get_param: missing}}}\n", "The Parameter (missing) was not defined in template."),
    (HEADER + "outputs: {o: {description: no value}}\n", 'Output "o" has no "value".'),
    (HEADER + "resources: {a: {type: OS::Heat::RandomString, properties: {length: 0}}}\n",
     "Property error: resources.a.properties.length: 0 is out of range (min: 1, max: 512)"),
    (HEADER + "outputs: {o: {value: {get_file: missing.sh}}}\n", "get_file path: missing.sh"),
])
def test_bad_templates_are_refused_with_a_reason(heat, template, message):
    assert message in refused(heat, template)


def test_yaml_errors_name_the_line(heat):
    message = refused(heat, HEADER + "resources:\n  a: {type: OS::Heat::None\n  b: c\n")
    assert "line" in message


@pytest.mark.parametrize("params, message", [
    ({"count": "many"}, "Parameter 'count' is invalid"),
    ({"count": "20"}, "is out of range"),
    ({"flavor": "huge"}, "is not an allowed value"),
    ({"user": "Root!"}, "does not match pattern"),
    ({"extra": "1"}, "The Parameter (extra) was not defined in template."),
])
def test_parameter_constraints(heat, params, message):
    template = HEADER + """
parameters:
  count: {type: number, default: 1, constraints: [{range: {min: 1, max: 10}}]}
  flavor: {type: string, default: small, constraints: [{allowed_values: [small, large]}]}
  user: {type: string, default: lab, constraints: [{allowed_pattern: "[a-z]+"}]}
"""
    assert message in refused(heat, template, parameters=params)


def test_environment_parameters_and_defaults(heat):
    template = HEADER + """
parameters:
  a: {type: string}
  b: {type: string, default: from-template}
  c: {type: number, default: 1}
outputs:
  a: {value: {get_param: a}}
  b: {value: {get_param: b}}
  c: {value: {get_param: c}}
"""
    env = {"parameters": {"a": "from-env"}, "parameter_defaults": {"b": "from-defaults"}}
    assert outputs_of(heat, template, environment=env, parameters={"c": "3"}) == {
        "a": "from-env", "b": "from-defaults", "c": 3}


def test_environment_as_yaml_text_and_bad_environments(heat):
    template = HEADER + "parameters: {a: {type: string}}\noutputs: {a: {value: {get_param: a}}}\n"
    assert outputs_of(heat, template, environment="parameters:\n  a: yaml\n") == {"a": "yaml"}
    assert "unknown section" in refused(heat, template, environment={"paramters": {"a": "x"}})
    assert "Error parsing environment" in refused(heat, template, environment="parameters: [")


def test_intrinsic_functions(heat):
    template = HEADER + """
parameters:
  user: {type: string, default: alice}
  nets: {type: comma_delimited_list, default: "a,b"}
  conf: {type: json, default: {"k": ["v0", "v1"]}}
resources:
  value: {type: OS::Heat::Value, properties: {value: {get_file: motd.txt}}}
outputs:
  replaced:
    value:
      str_replace:
        template: "hi $user, $user_name"
        params: {$user: X, $user_name: {get_param: user}}
  joined: {value: {list_join: ["-", {get_param: nets}, [c]]}}
  split: {value: {str_split: [",", "x,y,z", 1]}}
  path: {value: {get_param: [conf, k, 1]}}
  file: {value: {get_attr: [value, value]}}
  stack: {value: {get_param: OS::stack_name}}
"""
    outputs = outputs_of(heat, template, name="fn", files={"motd.txt": "welcome"})
    assert outputs == {"replaced": "hi X, alice", "joined": "a-b-c", "split": "y", "path": "v1",
                       "file": "welcome", "stack": "fn"}


def test_hidden_parameters_are_masked(heat):
    template = HEADER + "parameters: {secret: {type: string, hidden: true}}\n"
    heat.stacks.create(stack_name="h", template=template, parameters={"secret": "s3cret"})
    assert heat.stacks.get("h").parameters["secret"] == "******"


def test_keypair_without_saved_key_has_no_private_key(heat):
    template = HEADER + """
resources:
  key: {type: OS::Nova::KeyPair, properties: {name: k}}
outputs:
  private: {value: {get_attr: [key, private_key]}}
  public: {value: {get_attr: [key, public_key]}}
  ref: {value: {get_resource: key}}
"""
    outputs = outputs_of(heat, template)
    assert outputs["private"] == ""
    assert outputs["public"].startswith("ssh-ed25519 ")
    assert outputs["ref"] == "k"


def test_software_components_deployment_groups_and_encryption_as_heat_takes_them(heat):
    """What the example templates showed: a component's outputs are its
    deployments' attributes; a deployment group answers for its members'
    attributes by their own names; any key size goes to Cinder."""
    template = """heat_template_version: 2016-10-14
resources:
  vm: {type: OS::Nova::Server, properties: {image: x, flavor: y}}
  component:
    type: OS::Heat::SoftwareComponent
    properties:
      configs: [{actions: [CREATE], config: "echo CREATE > $heat_outputs_path.last_action", tool: script}]
      outputs: [{name: last_action}]
  deployment:
    type: OS::Heat::SoftwareDeployment
    properties: {config: {get_resource: component}, server: {get_resource: vm}}
  group:
    type: OS::Heat::SoftwareDeploymentGroup
    properties: {config: {get_resource: component}, servers: {a: {get_resource: vm}}}
  kind: {type: OS::Cinder::VolumeType, properties: {name: secret}}
  encrypted:
    type: OS::Cinder::EncryptedVolumeType
    properties: {provider: luks, key_size: 512, volume_type: {get_resource: kind}}
outputs:
  last: {value: {get_attr: [deployment, last_action]}}
  stdout: {value: {get_attr: [group, deploy_stdout]}}
"""
    heat.stacks.create(stack_name="parts", template=template)
    wait_for_status(heat, "parts", "CREATE_COMPLETE")
    assert stack_outputs(heat, "parts") == {"last": None, "stdout": {"a": ""}}
