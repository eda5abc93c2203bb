"""Resource property schemas: what Heat accepts (and fills in), what it refuses, and in which words."""

import email
import time

import pytest
from hastexo_cloudsim import resources, schemas
from hastexo_cloudsim.errors import ApiError
from hastexo_cloudsim.resources import BuildContext

P = "Property error: resources.r.properties"


def refusal(resource_type, props, name="r"):
    with pytest.raises(ApiError) as err:
        schemas.check(name, resource_type, props)
    assert err.value.status == 400
    return err.value


# (type, properties, expected subset of the result)
ACCEPTED = [
    ("OS::Nova::Server", {"image": "cirros", "flavor": "m1.small"},
     {"flavor_update_policy": "RESIZE", "user_data_format": "HEAT_CFNTOOLS", "user_data": "", "metadata": {},
      "security_groups": [], "networks": None, "key_name": None}),
    ("OS::Nova::Server", {"image": "cirros", "flavor": "m1", "networks": [{"uuid": "private"}]},
     {"networks": [{"uuid": None, "network": "private", "allocate_network": None, "fixed_ip": None, "port": None,
                    "port_extra_properties": None, "subnet": None, "floating_ip": None, "tag": None}]}),
    ("OS::Nova::Server", {"flavor": "m1", "block_device_mapping_v2": [{"image": "cirros", "volume_size": "10"}]},
     {"image": None}),
    ("OS::Nova::Server", {"image": "i", "flavor": "f", "networks": [{"network": "n", "fixed_ip": "10.0.0.5"}]}, {}),
    ("OS::Nova::KeyPair", {"name": "k"}, {"save_private_key": False, "public_key": None}),
    ("OS::Nova::KeyPair", {"name": "k", "save_private_key": "True"}, {"save_private_key": True}),
    ("OS::Nova::Flavor", {"ram": "512", "vcpus": 1}, {"ram": 512, "disk": 0, "rxtx_factor": 1.0, "is_public": True}),
    ("OS::Nova::ServerGroup", {}, {"policies": ["anti-affinity"]}),
    ("OS::Nova::ServerGroup", {"policies": ["affinity"]}, {"policies": ["affinity"]}),
    ("OS::Neutron::Net", {"name": "n"}, {"admin_state_up": True, "shared": False, "value_specs": {}}),
    ("OS::Neutron::Subnet", {"network": "n", "cidr": "10.0.0.0/24"}, {"ip_version": 4, "enable_dhcp": True}),
    ("OS::Neutron::Subnet", {"network_id": "n", "cidr": "10.0.0.0/24", "ip_version": "6"},
     {"network": "n", "network_id": None, "ip_version": 6}),
    ("OS::Neutron::Subnet", {"network": "n", "cidr": "10.0.0.0/24",
                             "allocation_pools": [{"start": "10.0.0.10", "end": "10.0.0.20"}]},
     {"allocation_pools": [{"start": "10.0.0.10", "end": "10.0.0.20"}]}),
    ("OS::Neutron::Router", {"external_gateway_info": {"network": "public"}},
     {"external_gateway_info": {"network": "public", "enable_snat": None, "external_fixed_ips": None}}),
    ("OS::Neutron::RouterInterface", {"router": "r", "subnet": "s"}, {"port": None}),
    ("OS::Neutron::RouterInterface", {"router_id": "r", "subnet_id": "s"}, {"router": "r", "subnet": "s"}),
    ("OS::Neutron::Port", {"network": "n", "fixed_ips": [{"subnet_id": "s"}]},
     {"fixed_ips": [{"subnet_id": None, "subnet": "s", "ip_address": None}], "device_owner": "",
      "binding:vnic_type": "normal", "admin_state_up": True}),
    ("OS::Neutron::FloatingIP", {"floating_network": "public"}, {"port_id": None, "value_specs": {}}),
    ("OS::Neutron::FloatingIP", {"floating_network_id": "public", "port_id": "p", "fixed_ip_address": "10.0.0.4"},
     {"floating_network": "public"}),
    ("OS::Neutron::FloatingIPAssociation", {"floatingip_id": "f", "port_id": "p"}, {"fixed_ip_address": None}),
    ("OS::Neutron::SecurityGroup", {"rules": [{"protocol": "tcp", "port_range_min": "22", "port_range_max": 22}]},
     {"rules": [{"direction": "ingress", "ethertype": "IPv4", "port_range_min": 22, "port_range_max": 22,
                 "protocol": "tcp", "remote_mode": "remote_ip_prefix", "remote_group_id": None,
                 "remote_ip_prefix": None, "description": None}]}),
    ("OS::Neutron::SecurityGroup", {"rules": [{"protocol": 6}, {"protocol": "icmp", "remote_ip_prefix": "0.0.0.0/0"}]},
     {}),
    ("OS::Neutron::SecurityGroup", {}, {"rules": []}),
    ("OS::Neutron::SecurityGroupRule", {"security_group": "sg"}, {"protocol": "tcp", "direction": "ingress"}),
    ("OS::Cinder::Volume", {"size": "1"}, {"size": 1, "metadata": {}, "multiattach": False}),
    ("OS::Cinder::Volume", {"snapshot_id": "s"}, {"size": None}),
    ("OS::Cinder::Volume", {"size": 2, "imageRef": "cirros"}, {"image": "cirros", "imageRef": None}),
    ("OS::Cinder::VolumeAttachment", {"instance_uuid": "s", "volume_id": "v"}, {"mountpoint": None}),
    ("OS::Heat::RandomString", {}, {"length": 32, "character_classes": [{"class": "lettersdigits", "min": 1}]}),
    ("OS::Heat::RandomString", {"length": "8", "character_classes": [{"class": "digits"}]},
     {"length": 8, "character_classes": [{"class": "digits", "min": 1}]}),
    ("OS::Heat::RandomString", {"sequence": "octdigits"},
     {"sequence": None, "character_classes": [{"class": "lettersdigits", "min": 1}, {"class": "octdigits", "min": 1}]}),
    ("OS::Heat::RandomString", {"length": 512, "character_sequences": [{"sequence": "!@#", "min": 2}]},
     {"character_sequences": [{"sequence": "!@#", "min": 2}]}),
    ("OS::Heat::CloudConfig", {"cloud_config": {"users": []}}, {"cloud_config": {"users": []}}),
    ("OS::Heat::SoftwareConfig", {"config": "#!/bin/sh", "outputs": [{"name": "result"}]},
     {"group": "Heat::Ungrouped",
      "outputs": [{"name": "result", "description": None, "type": "String", "error_output": False}]}),
    ("OS::Heat::StructuredConfig", {"config": {"a": 1}}, {"config": {"a": 1}, "inputs": None}),
    ("OS::Heat::MultipartMime", {"parts": [{"config": "abc"}]},
     {"parts": [{"config": "abc", "filename": None, "type": "text", "subtype": None}]}),
    ("OS::Heat::SoftwareDeployment", {"server": "s", "config": "c"},
     {"actions": ["CREATE", "UPDATE"], "signal_transport": "CFN_SIGNAL", "input_values": None}),
    ("OS::Heat::StructuredDeployment", {"server": "s"}, {"input_key": "get_input", "input_values_validate": "LAX"}),
    ("OS::Heat::WaitConditionHandle", {}, {"signal_transport": "TOKEN_SIGNAL"}),
    ("OS::Heat::WaitCondition", {"handle": "h", "timeout": "600"}, {"timeout": 600, "count": 1}),
    ("OS::Heat::WaitCondition", {"handle": "h", "timeout": 1.5}, {"timeout": 1.5}),
    ("OS::Heat::None", {"anything": [1, 2]}, {"anything": [1, 2]}),
    ("OS::Heat::TestResource", {}, {"value": "test_string", "fail": False, "wait_secs": 0}),
    ("OS::Heat::Value", {"value": [1, 2]}, {"value": [1, 2], "type": None}),
    ("OS::Heat::Value", {"value": "3", "type": "number"}, {"value": 3}),
    ("OS::Heat::ResourceGroup", {"resource_def": {"type": "OS::Heat::None"}},
     {"count": 1, "index_var": "%index%", "removal_policies": [], "removal_policies_mode": "append",
      "resource_def": {"type": "OS::Heat::None", "properties": None, "metadata": None}}),
    ("OS::Heat::ResourceGroup", {"count": 0, "resource_def": {"type": "OS::Nope"}}, {"count": 0}),
    ("OS::Heat::AutoScalingGroup", {"min_size": 1, "max_size": "3", "resource": {"type": "OS::Heat::None"}},
     {"max_size": 3, "rolling_updates": {"min_in_service": 0, "max_batch_size": 1, "pause_time": 0}}),
    ("OS::Heat::Stack", {"template": "heat_template_version: 2016-10-14"}, {"parameters": {}, "timeout": None}),
    ("OS::Heat::UpdateWaitConditionHandle", {}, {}),
]


@pytest.mark.parametrize("resource_type, props, expected", ACCEPTED)
def test_accepted_with_defaults(resource_type, props, expected):
    result = schemas.check("r", resource_type, props)
    for key, value in expected.items():
        assert result[key] == value, key
    if resource_type != "OS::Heat::None":
        # Every property of the schema is there, as Heat hands them to a resource.
        assert set(result) == set(schemas.TYPES_SCHEMA[resource_type].properties)


REFUSED = [
    ("OS::Nova::Server", {"image": "cirros"}, f"{P}: Property flavor not assigned"),
    ("OS::Nova::Server", {"image": "i", "flavor": "f", "foo": 1}, f"{P}: Unknown Property foo"),
    ("OS::Nova::Server", {"image": "i", "flavor": "f", "networks": [{"nework": "n"}]},
     f"{P}.networks[0]: Unknown Property nework"),
    ("OS::Nova::Server", {"image": "i", "flavor": "f", "networks": [{"network": "n", "fixed_ip": "x"}]},
     f"{P}.networks[0].fixed_ip: Error validating value 'x': Invalid IP address"),
    ("OS::Nova::Server", {"image": "i", "flavor": "f", "networks": "private"},
     f"{P}.networks: \"'private'\" is not a list"),
    ("OS::Nova::Server", {"image": "i", "flavor": "f", "networks": ["private"]},
     f'{P}.networks[0]: "private" is not a map'),
    ("OS::Nova::Server", {"image": "i", "flavor": {"name": "m1"}},
     f"{P}.flavor: Value must be a string; got {{'name': 'm1'}}"),
    ("OS::Nova::Server", {"image": "i", "flavor": "f", "user_data_format": "CLOUD"},
     f'{P}.user_data_format: "CLOUD" is not an allowed value ["HEAT_CFNTOOLS", "RAW", "SOFTWARE_CONFIG"]'),
    ("OS::Nova::Server", {"flavor": "f"}, "Neither image nor bootable volume is specified for instance r"),
    ("OS::Nova::Server", {"image": "i", "flavor": "f", "networks": [{"fixed_ip": "10.0.0.3"}]},
     'One of the properties "network", "port", "allocate_network" or "subnet" should be set for the specified '
     'network of server "r".'),
    ("OS::Nova::Server", {"image": "i", "flavor": "f", "networks": [{"port": "p", "fixed_ip": "10.0.0.3"}]},
     "Cannot define the following properties at the same time: networks/fixed_ip, networks/port."),
    ("OS::Nova::Server", {"image": "i", "flavor": "f", "security_groups": ["web"], "networks": [{"port": "p"}]},
     "Cannot define the following properties at the same time: security_groups, networks/port."),
    ("OS::Nova::Server", {"flavor": "f", "block_device_mapping_v2": [{"boot_index": 0}]},
     "Either volume_id, snapshot_id, image_id, swap_size, ephemeral_size or ephemeral_format must be specified."),
    ("OS::Nova::Server", {"flavor": "f", "block_device_mapping_v2": [{"image": "i", "disk_bus": "floppy"}]},
     f'{P}.block_device_mapping_v2[0].disk_bus: "floppy" is not an allowed value '
     '["ide", "lame_bus", "sata", "scsi", "usb", "virtio"]'),
    ("OS::Nova::Server", {"flavor": "f", "block_device_mapping_v2": [{"image": "i", "volume_size": "big"}]},
     f"{P}.block_device_mapping_v2[0].volume_size: Value 'big' is not an integer"),
    ("OS::Nova::KeyPair", {}, f"{P}: Property name not assigned"),
    ("OS::Nova::KeyPair", {"name": ""}, f"{P}.name: length (0) is out of range (min: 1, max: 255)"),
    ("OS::Nova::KeyPair", {"name": "k", "save_private_key": "yes"},
     f'{P}.save_private_key: "yes" is not a valid boolean'),
    ("OS::Nova::KeyPair", {"name": "k", "save_private_key": 1}, f'{P}.save_private_key: "1" is not a valid boolean'),
    ("OS::Nova::Flavor", {"ram": 512}, f"{P}: Property vcpus not assigned"),
    ("OS::Nova::Flavor", {"ram": "lots", "vcpus": 1}, f"{P}.ram: Value 'lots' is not an integer"),
    ("OS::Nova::Flavor", {"ram": 1, "vcpus": 1, "rxtx_factor": "fast"},
     f"{P}.rxtx_factor: could not convert string to float: 'fast'"),
    ("OS::Nova::ServerGroup", {"policies": ["spread"]},
     f'{P}.policies: ["spread"] is not an allowed value '
     '["anti-affinity", "affinity", "soft-anti-affinity", "soft-affinity"]'),
    ("OS::Neutron::Net", {"shared": "maybe"}, f'{P}.shared: "maybe" is not a valid boolean'),
    ("OS::Neutron::Subnet", {"cidr": "10.0.0.0/24"}, f"{P}: Property network not assigned"),
    ("OS::Neutron::Subnet", {"network": "n"}, "At least one of the following properties must be specified: "
                                              "subnetpool, cidr."),
    ("OS::Neutron::Subnet", {"network": "n", "cidr": "banana"},
     f"{P}.cidr: Error validating value 'banana': 'banana' is not a valid IP subnet"),
    ("OS::Neutron::Subnet", {"network": "n", "cidr": "10.0.0.0/24", "ip_version": 5},
     f"{P}.ip_version: 5 is not an allowed value [4, 6]"),
    ("OS::Neutron::Subnet", {"network": "n", "cidr": "10.0.0.0/24", "allocation_pools": [{"start": "10.0.0.2"}]},
     f"{P}.allocation_pools[0]: Property end not assigned"),
    ("OS::Neutron::Subnet", {"network": "n", "network_id": "m", "cidr": "10.0.0.0/24"},
     f"{P}.network: Cannot define the following properties at the same time: network, network_id"),
    ("OS::Neutron::Subnet", {"network": "n", "cidr": "10.0.0.0/24", "gateway_ip": "nope"},
     'Gateway IP address "nope" is in invalid format.'),
    ("OS::Neutron::Router", {"external_gateway_info": {"enable_snat": False}},
     f"{P}.external_gateway_info: Property network not assigned"),
    ("OS::Neutron::RouterInterface", {"router": "r"},
     "At least one of the following properties must be specified: subnet, port."),
    ("OS::Neutron::RouterInterface", {"router": "r", "subnet": "s", "port": "p"},
     "Cannot define the following properties at the same time: subnet, port."),
    ("OS::Neutron::RouterInterface", {"subnet": "s"}, f"{P}: Property router not assigned"),
    ("OS::Neutron::Port", {}, f"{P}: Property network not assigned"),
    ("OS::Neutron::Port", {"network": "n", "fixed_ips": [{"ip": "10.0.0.3"}]},
     f"{P}.fixed_ips[0]: Unknown Property ip"),
    ("OS::Neutron::Port", {"network": "n", "mac_address": "zz"},
     f"{P}.mac_address: Error validating value 'zz': Invalid MAC address."),
    ("OS::Neutron::FloatingIP", {}, f"{P}: Property floating_network not assigned"),
    ("OS::Neutron::FloatingIP", {"floating_network": "public", "fixed_ip_address": "10.0.0.4"},
     "fixed_ip_address cannot be specified without port_id."),
    ("OS::Neutron::FloatingIPAssociation", {"floatingip_id": "f"}, f"{P}: Property port_id not assigned"),
    ("OS::Neutron::SecurityGroup", {"rules": [{"protocol": "tcp", "port_range_min": 70000}]},
     f"{P}.rules[0].port_range_min: 70000 is out of range (min: 0, max: 65535)"),
    ("OS::Neutron::SecurityGroup", {"rules": [{"direction": "inbound"}]},
     f'{P}.rules[0].direction: "inbound" is not an allowed value ["ingress", "egress"]'),
    ("OS::Neutron::SecurityGroup", {"rules": [{"portrange": 22}]}, f"{P}.rules[0]: Unknown Property portrange"),
    ("OS::Neutron::SecurityGroup", {"rules": {"protocol": "tcp"}},
     f"{P}.rules: \"{{'protocol': 'tcp'}}\" is not a list"),
    ("OS::Neutron::SecurityGroup", {"name": "default"}, 'Security groups cannot be assigned the name "default".'),
    ("OS::Neutron::SecurityGroupRule", {}, f"{P}: Property security_group not assigned"),
    ("OS::Neutron::SecurityGroupRule", {"security_group": "sg", "port_range_min": 80, "port_range_max": 22},
     "The minimum port number must be less than or equal to the maximum port number."),
    ("OS::Neutron::SecurityGroupRule", {"security_group": "sg", "remote_group": "g", "remote_ip_prefix": "0.0.0.0/0"},
     "Cannot define the following properties at the same time: remote_group, remote_ip_prefix."),
    ("OS::Cinder::Volume", {}, 'If neither "backup_id" nor "size" is provided, one and only one of "source_volid", '
                               '"snapshot_id" must be specified, but currently specified options: [].'),
    ("OS::Cinder::Volume", {"size": 0}, f"{P}.size: 0 is out of range (min: 1, max: None)"),
    ("OS::Cinder::Volume", {"size": "1.5"}, f"{P}.size: Value '1.5' is not an integer"),
    ("OS::Cinder::VolumeAttachment", {"volume_id": "v"}, f"{P}: Property instance_uuid not assigned"),
    ("OS::Heat::RandomString", {"length": "abc"}, f"{P}.length: Value 'abc' is not an integer"),
    ("OS::Heat::RandomString", {"length": 0}, f"{P}.length: 0 is out of range (min: 1, max: 512)"),
    ("OS::Heat::RandomString", {"length": 513}, f"{P}.length: 513 is out of range (min: 1, max: 512)"),
    ("OS::Heat::RandomString", {"character_classes": [{"class": "digits", "min": 5_000_000}]},
     f"{P}.character_classes[0].min: 5000000 is out of range (min: 1, max: 512)"),
    ("OS::Heat::RandomString", {"character_sequences": [{"sequence": "ab", "min": 0}]},
     f"{P}.character_sequences[0].min: 0 is out of range (min: 1, max: 512)"),
    ("OS::Heat::RandomString", {"character_sequences": [{"min": 2}]},
     f"{P}.character_sequences[0]: Property sequence not assigned"),
    ("OS::Heat::RandomString", {"character_classes": [{"class": "emoji"}]},
     f'{P}.character_classes[0].class: "emoji" is not an allowed value ["lettersdigits", "letters", "lowercase", '
     '"uppercase", "digits", "hexdigits", "octdigits"]'),
    ("OS::Heat::RandomString", {"length": 4, "character_classes": [{"class": "digits", "min": 3},
                                                                   {"class": "letters", "min": 2}]},
     "Length property cannot be smaller than combined character class and character sequence minimums"),
    ("OS::Heat::CloudConfig", {"cloud_config": "users: []"}, f'{P}.cloud_config: "users: []" is not a map'),
    ("OS::Heat::SoftwareConfig", {"outputs": [{"type": "String"}]}, f"{P}.outputs[0]: Property name not assigned"),
    ("OS::Heat::SoftwareConfig", {"inputs": [{"name": "a", "type": "Text"}]},
     f'{P}.inputs[0].type: "Text" is not an allowed value ["String", "Number", "CommaDelimitedList", "Json", '
     '"Boolean"]'),
    ("OS::Heat::MultipartMime", {"parts": [{"filename": "x"}]}, f"{P}.parts[0]: Property config not assigned"),
    ("OS::Heat::SoftwareDeployment", {"config": "c"}, f"{P}: Property server not assigned"),
    ("OS::Heat::SoftwareDeployment", {"server": "s", "actions": ["CREATE", "REBOOT"]},
     f'{P}.actions: ["CREATE", "REBOOT"] is not an allowed value ["CREATE", "UPDATE", "DELETE", "SUSPEND", "RESUME"]'),
    ("OS::Heat::WaitCondition", {"handle": "h"}, f"{P}: Property timeout not assigned"),
    ("OS::Heat::WaitCondition", {"handle": "h", "timeout": 50000},
     f"{P}.timeout: 50000 is out of range (min: 1, max: 43200)"),
    ("OS::Heat::WaitCondition", {"handle": "h", "timeout": 10, "count": 0},
     f"{P}.count: 0 is out of range (min: 1, max: None)"),
    ("OS::Heat::WaitConditionHandle", {"signal_transport": "SMOKE"}, f'{P}.signal_transport: "SMOKE" is not an '
     'allowed value ["CFN_SIGNAL", "TEMP_URL_SIGNAL", "HEAT_SIGNAL", "NO_SIGNAL", "ZAQAR_SIGNAL", "TOKEN_SIGNAL"]'),
    ("OS::Heat::TestResource", {"fail": "no"}, f'{P}.fail: "no" is not a valid boolean'),
    ("OS::Heat::Value", {}, f"{P}: Property value not assigned"),
    ("OS::Heat::Value", {"value": 1, "type": "integer"},
     f'{P}.type: "integer" is not an allowed value ["string", "number", "comma_delimited_list", "json", "boolean"]'),
    ("OS::Heat::ResourceGroup", {}, f"{P}: Property resource_def not assigned"),
    ("OS::Heat::ResourceGroup", {"resource_def": {"properties": {}}}, f"{P}.resource_def: Property type not assigned"),
    ("OS::Heat::ResourceGroup", {"count": -1, "resource_def": {"type": "OS::Heat::None"}},
     f"{P}.count: -1 is out of range (min: 0, max: None)"),
    ("OS::Heat::ResourceGroup", {"index_var": "%i", "resource_def": {"type": "OS::Heat::None"}},
     f"{P}.index_var: length (2) is out of range (min: 3, max: None)"),
    ("OS::Heat::AutoScalingGroup", {"min_size": 1, "resource": {}}, f"{P}: Property max_size not assigned"),
    ("OS::Heat::AutoScalingGroup", {"min_size": 3, "max_size": 1, "resource": {}},
     "MinSize can not be greater than MaxSize"),
    ("OS::Heat::AutoScalingGroup", {"min_size": 1, "max_size": 3, "desired_capacity": 5, "resource": {}},
     "DesiredCapacity must be between MinSize and MaxSize"),
    ("OS::Heat::Stack", {}, f"{P}: Property template not assigned"),
    ("OS::Heat::UpdateWaitConditionHandle", {"timeout": 5}, f"{P}: Unknown Property timeout"),
    ("OS::Trove::Instance", {}, "The Resource Type (OS::Trove::Instance) could not be found."),
]


@pytest.mark.parametrize("resource_type, props, message", REFUSED)
def test_refused_with_heats_message(resource_type, props, message):
    assert refusal(resource_type, props).message == message


def test_error_types():
    assert refusal("OS::Nova::Server", {}).error_type == "StackValidationFailed"
    conflict = refusal("OS::Neutron::RouterInterface", {"router": "r", "subnet": "s", "port": "p"})
    assert conflict.error_type == "ResourcePropertyConflict"


def test_unknown_properties_are_reported_before_missing_ones():
    assert refusal("OS::Nova::Server", {"flavour": "m1"}).message == f"{P}: Unknown Property flavour"


def test_null_counts_as_given_and_omitted_as_not_given():
    # A function yielding None (an "if" with a false condition and a null
    # branch) gives the type's empty value, or the default; required is met.
    result = schemas.check("r", "OS::Nova::Server", {"image": "i", "flavor": None, "key_name": None,
                                                     "user_data_format": None})
    assert result["flavor"] == "" and result["key_name"] == "" and result["user_data_format"] == "HEAT_CFNTOOLS"
    assert schemas.check("r", "OS::Heat::RandomString", {"length": None})["length"] == 32
    # Heat's two-argument "if" yields a value treated as never written.
    assert refusal("OS::Nova::Server", {"image": "i", "flavor": schemas.OMITTED}).message == \
        f"{P}: Property flavor not assigned"
    result = schemas.check("r", "OS::Nova::Server", {"image": "i", "flavor": "f", "networks": [
        {"network": "n", "fixed_ip": schemas.OMITTED}, schemas.OMITTED]})
    assert len(result["networks"]) == 1 and result["networks"][0]["fixed_ip"] is None


def test_unresolved_values_skip_constraints_but_not_types():
    props = {"network": "n", "cidr": "from-another-resource"}
    assert schemas.check("r", "OS::Neutron::Subnet", props, unresolved=["cidr"])["cidr"] == "from-another-resource"
    with pytest.raises(ApiError):
        schemas.check("r", "OS::Neutron::Subnet", props)


def test_nested_path_names_the_resource():
    err = refusal("OS::Neutron::SecurityGroup", {"rules": [{}, {"ethertype": "IPv5"}]}, name="web_sg")
    assert err.message.startswith("Property error: resources.web_sg.properties.rules[1].ethertype: ")


def _given(value):
    if isinstance(value, dict):
        return {k: _given(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_given(v) for v in value]
    return value


def test_checked_properties_check_again_the_same():
    # Checked properties list unset ones as None; without those, they pass again unchanged.
    for resource_type, props, _ in ACCEPTED:
        once = schemas.check("r", resource_type, props)
        assert schemas.check("r", resource_type, _given(once)) == once, resource_type


def test_group_members():
    props = schemas.check("g", "OS::Heat::ResourceGroup", {"count": 2, "resource_def": {
        "type": "OS::Heat::Value", "properties": {"value": "node-%index%", "list": ["%index%"]}}})
    assert schemas.members("g", "OS::Heat::ResourceGroup", props) == [
        ("0", "OS::Heat::Value", {"value": "node-0", "list": ["0"]}),
        ("1", "OS::Heat::Value", {"value": "node-1", "list": ["1"]})]
    props = schemas.check("a", "OS::Heat::AutoScalingGroup", {"min_size": 2, "max_size": 4, "resource": {
        "type": "OS::Heat::None"}})
    assert [m[1] for m in schemas.members("a", "OS::Heat::AutoScalingGroup", props)] == ["OS::Heat::None"] * 2


def test_type_list_and_show():
    types = schemas.supported_types()
    assert types == sorted(types)
    assert {"OS::Nova::Server", "OS::Heat::ResourceGroup", "OS::Neutron::SecurityGroupRule"} <= set(types)
    assert not set(types) & set(schemas.NOT_OFFERED)
    assert all(schemas.description(t) for t in types)
    shown = schemas.type_schema("OS::Nova::Server")
    assert set(shown) == {"resource_type", "properties", "attributes", "support_status"}
    flavor = shown["properties"]["flavor"]
    assert flavor["type"] == "string" and flavor["required"] is True and flavor["update_allowed"] is True
    assert flavor["constraints"] == [{"custom_constraint": "nova.flavor"}]
    assert "admin_user" not in shown["properties"]  # hidden, as in Heat
    assert "uuid" not in shown["properties"]["networks"]["schema"]["*"]["schema"]
    assert shown["attributes"]["show"] == {"description": "Detailed information about resource.", "type": "map"}
    assert shown["attributes"]["networks"]["type"] == "map"
    assert shown["support_status"]["status"] == "SUPPORTED"
    length = schemas.type_schema("OS::Heat::RandomString")["properties"]["length"]
    assert length["default"] == 32 and length["constraints"] == [{"range": {"min": 1, "max": 512}}]
    with pytest.raises(ApiError) as err:
        schemas.type_schema("OS::Magnum::Cluster")
    assert err.value.status == 404


def test_every_offered_type_has_a_builder_but_the_groups_and_placeholders():
    assert set(schemas.supported_types()) - set(resources.RESOURCE_TYPES) == {
        "OS::Heat::ResourceGroup", "OS::Heat::AutoScalingGroup", "OS::Heat::InstanceGroup",
        "AWS::AutoScaling::AutoScalingGroup", "OS::Heat::None"}
    assert set(resources.RESOURCE_TYPES) <= set(schemas.supported_types())


def ctx():
    return BuildContext("lab", "stack-id", 1, "project")


def test_random_string_refuses_huge_minimums_at_once():
    started = time.monotonic()
    with pytest.raises(ApiError) as err:
        resources.build("OS::Heat::RandomString", {"character_classes": [{"class": "digits", "min": 5_000_000}]},
                        ctx(), "pw")
    assert time.monotonic() - started < 0.5
    assert err.value.message == "Property error: resources.pw.properties.character_classes[0].min: " \
                                "5000000 is out of range (min: 1, max: 512)"
    with pytest.raises(ApiError) as err:
        resources.build("OS::Heat::RandomString", {"length": 5_000_000}, ctx())
    assert "5000000 is out of range (min: 1, max: 512)" in err.value.message


def test_random_string_honours_classes_and_sequences():
    props = schemas.check("pw", "OS::Heat::RandomString", {"length": 12, "character_classes": [
        {"class": "digits", "min": 4}], "character_sequences": [{"sequence": "!", "min": 3}]})
    value = resources.build("OS::Heat::RandomString", props, ctx(), "pw")[1]["value"]
    assert len(value) == 12 and value.count("!") >= 3 and sum(c.isdigit() for c in value) >= 4
    assert set(value) <= set("0123456789!")


def test_deployment_reports_its_configs_outputs():
    c = ctx()
    config = schemas.check("cfg", "OS::Heat::SoftwareConfig", {"config": "echo", "outputs": [{"name": "result"}]})
    reference, attrs, _ = resources.build("OS::Heat::SoftwareConfig", config, c, "cfg")
    assert attrs["config"] == "echo"
    deployment = schemas.check("dep", "OS::Heat::SoftwareDeployment", {"config": reference, "server": "s"})
    _, attrs, _ = resources.build("OS::Heat::SoftwareDeployment", deployment, c, "dep")
    assert attrs["deploy_stdout"] == "" and attrs["deploy_stderr"] == "" and attrs["deploy_status_code"] == 0
    assert "result" in attrs and attrs["result"] is None


def test_volume_and_security_group_builders():
    c = ctx()
    _, attrs, _ = resources.build("OS::Cinder::Volume", schemas.check("v", "OS::Cinder::Volume", {"size": "5"}), c)
    assert attrs["size"] == 5 and attrs["status"] == "available" and attrs["bootable"] == "false"
    props = schemas.check("sg", "OS::Neutron::SecurityGroup", {"rules": [{"protocol": "tcp", "port_range_min": 22,
                                                                          "port_range_max": 22}]})
    reference, attrs, _ = resources.build("OS::Neutron::SecurityGroup", props, c, "sg")
    assert set(attrs) == {"show"}  # Heat gives a security group no other attribute
    assert attrs["show"]["security_group_rules"][0]["port_range_min"] == 22
    assert attrs["show"]["id"] == reference


def test_multipart_holds_the_configs_it_names():
    c = ctx()
    ref, _, _ = resources.build("OS::Heat::CloudConfig", {"cloud_config": {"runcmd": ["true"]}}, c)
    _, attrs, _ = resources.build("OS::Heat::MultipartMime", {"parts": [{"config": ref}, {"config": "#!/bin/sh"}]}, c)
    message = email.message_from_string(attrs["config"])
    parts = [p.get_payload(decode=True).decode() for p in message.get_payload()]
    assert parts[0].startswith("#cloud-config\nruncmd:") and parts[1] == "#!/bin/sh"


def test_router_interface_and_association_references():
    c = ctx()
    assert resources.build("OS::Neutron::RouterInterface", {"router": "r1", "subnet": "s1"}, c)[0] == "r1:subnet_id=s1"
    assert resources.build("OS::Neutron::FloatingIPAssociation", {"floatingip_id": "f", "port_id": "p"}, c)[0] == "f:p"


@pytest.mark.parametrize("rtype, props, missing", [
    ("OS::Heat::ScalingPolicy", {"adjustment_type": "change_in_capacity", "auto_scaling_group_id": "g",
                                 "scaling_adjustment": 1}, "scaling_adjustment"),
    ("OS::Keystone::Service", {"type": "identity"}, "type"),
    ("OS::Keystone::Endpoint", {"service": "s", "interface": "public", "url": "http://x"}, "url"),
    ("OS::Cinder::VolumeType", {"name": "fast"}, "name"),
    ("OS::Cinder::EncryptedVolumeType", {"provider": "luks", "volume_type": "fast"}, "volume_type"),
    ("OS::Neutron::Trunk", {"port": "p"}, "port"),
    ("OS::Nova::HostAggregate", {"name": "a"}, "name"),
    ("AWS::EC2::SecurityGroup", {"GroupDescription": "web"}, "GroupDescription"),
    ("OS::Heat::SoftwareComponent", {}, None),
])
def test_the_types_every_heat_has(rtype, props, missing):
    assert schemas.is_offered(rtype)
    checked = schemas.check("r", rtype, props)
    assert all(checked[key] == value for key, value in props.items())
    if missing:
        with pytest.raises(ApiError) as error:
            schemas.check("r", rtype, {k: v for k, v in props.items() if k != missing})
        assert error.value.message == f"Property error: resources.r.properties: Property {missing} not assigned"
