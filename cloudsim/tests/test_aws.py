"""The AWS compatible compute types every Heat has: AWS::EC2::Instance (a
server, with a machine behind it), AWS::AutoScaling::LaunchConfiguration,
OS::Heat::InstanceGroup and AWS::AutoScaling::AutoScalingGroup."""

import pytest
from hastexo_cloudsim.machines import wait_for_port
from hastexo_cloudsim.testing import stack_outputs as outputs
from hastexo_cloudsim.testing import wait_for_status, wait_until
from heatclient import exc as heat_exc


def test_an_aws_instance_is_a_server_with_a_machine(heat, cloud):
    template = """heat_template_version: 2013-05-23
resources:
  sg:
    type: AWS::EC2::SecurityGroup
    properties:
      GroupDescription: web
      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: "22", ToPort: "22", CidrIp: 0.0.0.0/0}]
  vm:
    type: AWS::EC2::Instance
    properties:
      ImageId: fedora
      InstanceType: m1.small
      SecurityGroups: [{get_resource: sg}]
      UserData: "#!/bin/sh\\necho hello\\n"
outputs:
  public: {value: {get_attr: [vm, PublicIp]}}
  private: {value: {get_attr: [vm, PrivateIp]}}
  zone: {value: {get_attr: [vm, AvailabilityZone]}}
"""
    heat.stacks.create(stack_name="aws", template=template)
    wait_for_status(heat, "aws", "CREATE_COMPLETE")
    found = outputs(heat, "aws")
    assert found["public"] == found["private"] and found["zone"] == "nova"
    machines = wait_until(lambda: cloud.machines.describe(), timeout=5)
    assert len(machines) == 1
    assert wait_for_port(machines[0]["listen_addresses"][0], cloud.ssh_port)


GROUP = """heat_template_version: 2013-05-23
parameters:
  size: {type: number, default: 2}
resources:
  config:
    type: AWS::AutoScaling::LaunchConfiguration
    properties: {ImageId: fedora, InstanceType: m1.small, KeyName: mine}
  group:
    type: OS::Heat::InstanceGroup
    properties:
      LaunchConfigurationName: {get_resource: config}
      AvailabilityZones: []
      Size: {get_param: size}
outputs:
  addresses: {value: {get_attr: [group, InstanceList]}}
"""


def test_an_instance_group_launches_its_configuration(heat, cloud):
    heat.stacks.create(stack_name="group", template=GROUP)
    wait_for_status(heat, "group", "CREATE_COMPLETE")
    addresses = outputs(heat, "group")["addresses"].split(",")
    assert len(addresses) == 2 and all(addresses)
    assert len(wait_until(lambda: len(cloud.machines.describe()) == 2 and cloud.machines.describe(),
                          timeout=5)) == 2


def test_an_aws_scaling_group_starts_at_its_desired_capacity(heat):
    template = """heat_template_version: 2013-05-23
resources:
  config:
    type: AWS::AutoScaling::LaunchConfiguration
    properties: {ImageId: fedora, InstanceType: m1.small}
  group:
    type: AWS::AutoScaling::AutoScalingGroup
    properties:
      LaunchConfigurationName: {get_resource: config}
      AvailabilityZones: [nova]
      MinSize: "1"
      MaxSize: "3"
      DesiredCapacity: "3"
outputs:
  addresses: {value: {get_attr: [group, InstanceList]}}
"""
    heat.stacks.create(stack_name="asg", template=template)
    wait_for_status(heat, "asg", "CREATE_COMPLETE")
    assert len(outputs(heat, "asg")["addresses"].split(",")) == 3


@pytest.mark.parametrize("resources, message", [
    ("  vm: {type: AWS::EC2::Instance, properties: {ImageId: fedora}}\n",
     "Property error: resources.vm.properties: Property InstanceType not assigned"),
    ("  vm: {type: AWS::EC2::Instance, properties: {ImageId: f, InstanceType: m, Tenancy: shared}}\n",
     'Property error: resources.vm.properties.Tenancy: "shared" is not an allowed value'),
    ("  lc: {type: AWS::AutoScaling::LaunchConfiguration, properties: {ImageId: fedora}}\n",
     "If without InstanceId, ImageId and InstanceType are required."),
    ("  lc: {type: AWS::AutoScaling::LaunchConfiguration, properties: {ImageId: f, InstanceType: m,"
     " BlockDeviceMappings: [{DeviceName: vdb}]}}\n",
     "Ebs is missing, this is required when specifying BlockDeviceMappings."),
    ("  g: {type: OS::Heat::InstanceGroup, properties: {LaunchConfigurationName: nothing, AvailabilityZones: [],"
     " Size: 1}}\n",
     "LaunchConfigurationName (nothing) reference can not be found."),
    ("  lc: {type: AWS::AutoScaling::LaunchConfiguration, properties: {ImageId: f, InstanceType: m}}\n"
     "  g: {type: AWS::AutoScaling::AutoScalingGroup, properties: {LaunchConfigurationName: {get_resource: lc},"
     " InstanceId: i-1, AvailabilityZones: [], MinSize: '1', MaxSize: '2'}}\n",
     "Either 'InstanceId' or 'LaunchConfigurationName' must be provided."),
    ("  lc: {type: AWS::AutoScaling::LaunchConfiguration, properties: {ImageId: f, InstanceType: m}}\n"
     "  g: {type: AWS::AutoScaling::AutoScalingGroup, properties: {LaunchConfigurationName: {get_resource: lc},"
     " AvailabilityZones: [], MinSize: '3', MaxSize: '2'}}\n",
     "MinSize can not be greater than MaxSize"),
])
def test_aws_types_are_refused_as_heat_refuses_them(heat, resources, message):
    with pytest.raises(heat_exc.HTTPBadRequest) as error:
        heat.stacks.create(stack_name="bad", template=f"heat_template_version: 2013-05-23\nresources:\n{resources}")
    assert message in str(error.value)
