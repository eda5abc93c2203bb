"""Resource types the fake Heat knows, and the attributes each one yields.

A resource is "built" from its resolved properties: it gets a reference (what
``get_resource`` returns) and a dict of attributes (what ``get_attr`` reads).
Values are made up, but shaped like the real ones, and some are real: a key
pair with ``save_private_key`` carries a freshly generated OpenSSH private key.
"""

import datetime
import ipaddress
import itertools
import json
import secrets
import string
import uuid
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from . import addresses, schemas
from .errors import bad_request

# Private networks without a subnet of their own get addresses from this one.
DEFAULT_CIDR = "192.168.122.0/24"


def loopback_twin():
    """A new server's loopback address of its own, where its machine answers
    (its private addresses, as the template defines them, are not routed on
    this host): from this process's block, as the floating IPs (addresses.py)."""
    return addresses.next_server_address()


class BuildContext:
    """What a resource may know about the stack it belongs to, and the
    addresses its private networks have handed out so far."""

    def __init__(self, stack_name, stack_id, stack_index, project_id=""):
        self.stack_name = stack_name
        self.stack_id = stack_id
        self.stack_index = stack_index
        self.project_id = project_id
        self.subnets = {}  # subnet reference -> (network reference, ip_network, gateway)
        self.ports = {}  # port reference -> (network reference, address)
        self.configs = {}  # software config reference -> {"config": ..., "outputs": [...]}
        self.resource_name = None  # the resource being built, when the engine says (see build())
        self._taken = set()

    def add_subnet(self, reference, network, cidr, gateway):
        try:
            net = ipaddress.ip_network(str(cidr), strict=False)
        except ValueError:
            raise bad_request(f"Invalid input for cidr: {cidr!r} is not a valid IP subnet")
        if gateway in (None, ""):
            gateway = str(next(net.hosts()))
        self.subnets[reference] = (network, net, gateway)
        return net, gateway

    def allocate(self, network=None, subnet=None, fixed_ip=None):
        """An address on a private network, as Neutron hands them out: the
        one asked for, else the next free host address of the subnet (the
        given one, else the network's first, else the default range)."""
        if fixed_ip:
            self._taken.add(str(fixed_ip))
            return str(fixed_ip), subnet
        if subnet is None:
            subnet = next((ref for ref, (net_ref, _, _) in self.subnets.items() if net_ref == network), None)
        _, net, gateway = self.subnets.get(subnet) or (None, ipaddress.ip_network(DEFAULT_CIDR), "192.168.122.1")
        for host in itertools.islice(net.hosts(), 1, 65536):
            address = str(host)
            if address != gateway and address not in self._taken:
                self._taken.add(address)
                return address, subnet
        raise bad_request(f"No more IP addresses available on network {network or subnet}",
                          "IpAddressGenerationFailure")

    @property
    def floating_ip(self):
        """A loopback address unique to this stack, from this process's block
        of them (see addresses.py)."""
        return addresses.floating_ip(self.stack_index)


def _uuid(props, ctx):
    return str(uuid.uuid4())


def _keypair(props, ctx):
    name = props.get("name") or f"{ctx.stack_name}-key"
    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    attrs = {"public_key": public, "private_key": ""}
    if props.get("save_private_key") in (True, "true", "True", 1):
        attrs["private_key"] = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ).decode()
    return name, attrs


_CHAR_CLASSES = {
    "lettersdigits": string.ascii_letters + string.digits,
    "letters": string.ascii_letters,
    "lowercase": string.ascii_lowercase,
    "uppercase": string.ascii_uppercase,
    "digits": string.digits,
    "hexdigits": string.digits + "ABCDEF",
    "octdigits": string.octdigits,
}


def _random_string_limits(props, ctx):
    """Heat's limits (length 1..512, every class and sequence ``min`` 1..512,
    their sum at most the length), checked before anything is generated."""
    # Properties the engine has checked already list unset ones as None.
    given = {k: v for k, v in props.items() if v is not None}
    return schemas.check(ctx.resource_name or "random_string", "OS::Heat::RandomString", given)


def _random_string(props, ctx):
    props = _random_string_limits(props, ctx)
    length = props["length"]
    chars, required = "", []
    for entry in props["character_classes"] or []:
        members = _CHAR_CLASSES[entry["class"]]
        chars += members
        required += [secrets.choice(members) for _ in range(entry["min"])]
    for entry in props["character_sequences"] or []:
        members = entry["sequence"]
        chars += members
        required += [secrets.choice(members) for _ in range(entry["min"])]
    if not chars:
        chars = _CHAR_CLASSES["lettersdigits"]
    rest = [secrets.choice(chars) for _ in range(length - len(required))]
    picked = required + rest
    secrets.SystemRandom().shuffle(picked)
    value = "".join(picked)
    return value, {"value": value}


def _server(props, ctx):
    name = props.get("name") or f"{ctx.stack_name}-server"
    networks = {}
    ports = []
    for i, net in enumerate(props.get("networks") or [{}]):
        net = net if isinstance(net, dict) else {"network": str(net)}
        if net.get("port") in ctx.ports:
            network, address = ctx.ports[net["port"]]
            ports.append(net["port"])
        else:
            network = net.get("network") or net.get("uuid")
            address, _ = ctx.allocate(network, net.get("subnet"), net.get("fixed_ip"))
        networks.setdefault(str(network or net.get("port") or f"net{i}"), []).append(address)
    first = next(iter(networks.values()))[0]
    addresses = {k: [{"addr": a, "version": 4, "OS-EXT-IPS:type": "fixed"} for a in v] for k, v in networks.items()}
    return _uuid(props, ctx), {
        "name": name, "first_address": first, "networks": networks, "addresses": addresses,
        "accessIPv4": "", "accessIPv6": "", "instance_name": f"instance-{ctx.stack_index:08x}",
        "console_urls": {}, "tags": list(props.get("tags") or []), "os_collect_config": {},
        # Not Heat's: where the machine answers on this host (see machines.py).
        "_loopback": loopback_twin(), "_ports": ports,
    }


def _aws_instance(props, ctx):
    """A server, as the AWS compatible type names it: its addresses under
    Heat's AWS attribute names (one address serves for all four, as in Heat)."""
    networks = [{"subnet": props["SubnetId"]}] if props.get("SubnetId") else None
    tags = [f"{t.get('Key')}={t.get('Value')}" for t in props.get("Tags") or [] if isinstance(t, dict)]
    reference, server = _server({"name": None, "networks": networks, "tags": tags}, ctx)
    address = server["first_address"]
    shown = {k: v for k, v in server.items() if not k.startswith("_")}
    return reference, {
        "AvailabilityZone": props.get("AvailabilityZone") or "nova", "PrivateDnsName": address,
        "PublicDnsName": address, "PrivateIp": address, "PublicIp": address,
        "_loopback": server["_loopback"], "_ports": server["_ports"], "_networks": server["networks"],
        "_show": shown,
    }


def _floating_ip(props, ctx):
    return _uuid(props, ctx), {
        "floating_ip_address": ctx.floating_ip, "fixed_ip_address": props.get("fixed_ip_address"),
        "floating_network_id": props.get("floating_network"), "port_id": props.get("port_id"),
        "router_id": None, "status": "ACTIVE", "tenant_id": ctx.project_id,
    }


def _nova_floating_ip(props, ctx):
    return _uuid(props, ctx), {"pool": props.get("pool"), "ip": ctx.floating_ip}


def _net(props, ctx):
    return _uuid(props, ctx), {"name": props.get("name") or "net", "status": "ACTIVE",
                               "subnets": [], "admin_state_up": props.get("admin_state_up") is not False,
                               "tenant_id": ctx.project_id, "mtu": 1450,
                               "port_security_enabled": props.get("port_security_enabled") is not False,
                               "qos_policy_id": None, "l2_adjacency": True, "segments": []}


def _subnet(props, ctx):
    reference = _uuid(props, ctx)
    network = props.get("network") or props.get("network_id")
    net, gateway = ctx.add_subnet(reference, network, props.get("cidr") or DEFAULT_CIDR, props.get("gateway_ip"))
    hosts = list(itertools.islice(net.hosts(), 1, None)) if net.num_addresses <= 65536 else []
    pools = props.get("allocation_pools") or (
        [{"start": str(hosts[0]), "end": str(hosts[-1])}] if hosts else [])
    return reference, {"cidr": str(net), "gateway_ip": gateway, "name": props.get("name") or "subnet",
                       "network_id": network, "tenant_id": ctx.project_id, "allocation_pools": pools,
                       "host_routes": list(props.get("host_routes") or []), "ip_version": net.version,
                       "dns_nameservers": list(props.get("dns_nameservers") or []),
                       "enable_dhcp": props.get("enable_dhcp") is not False}


def _port(props, ctx):
    reference = _uuid(props, ctx)
    network = props.get("network") or props.get("network_id")
    wanted = [f for f in props.get("fixed_ips") or [] if isinstance(f, dict)] or [{}]
    fixed_ips = []
    for entry in wanted:
        address, subnet = ctx.allocate(network, entry.get("subnet") or entry.get("subnet_id"), entry.get("ip_address"))
        fixed_ips.append({"ip_address": address, "subnet_id": subnet})
    ctx.ports[reference] = (network, fixed_ips[0]["ip_address"])
    mac = "fa:16:3e:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))
    return reference, {"fixed_ips": fixed_ips, "mac_address": props.get("mac_address") or mac,
                       "name": props.get("name") or "", "network_id": network, "status": "ACTIVE",
                       "admin_state_up": props.get("admin_state_up") is not False,
                       "device_id": props.get("device_id") or "", "device_owner": props.get("device_owner") or "",
                       "security_groups": list(props.get("security_groups") or []), "tenant_id": ctx.project_id,
                       "allowed_address_pairs": list(props.get("allowed_address_pairs") or []),
                       "subnets": [f["subnet_id"] for f in fixed_ips if f["subnet_id"]],
                       "port_security_enabled": props.get("port_security_enabled") is not False,
                       "qos_policy_id": None, "dns_assignment": {}, "network": {"id": network},
                       "propagate_uplink_status": bool(props.get("propagate_uplink_status"))}


def _remember_config(ctx, reference, config, props):
    ctx.configs[reference] = {"config": config, "outputs": list(props.get("outputs") or []),
                              "group": props.get("group") or "Heat::Ungrouped"}
    return reference, {"config": config}


def _software_config(props, ctx):
    return _remember_config(ctx, _uuid(props, ctx), props.get("config"), props)


def _software_component(props, ctx):
    """Scripts by lifecycle action, one config (Heat's group "component"),
    whose outputs its deployments have."""
    reference, attrs = _remember_config(ctx, _uuid(props, ctx), {"configs": props.get("configs") or []}, props)
    ctx.configs[reference]["group"] = "component"
    return reference, attrs


def _cloud_config(props, ctx):
    """Heat's config is the YAML text headed by "#cloud-config"; that is what
    a multipart message holds, but the attribute stays the mapping, which the
    fake machines read their users and passwords from."""
    reference, attrs = _remember_config(ctx, _uuid(props, ctx), props.get("cloud_config"), props)
    body = yaml.safe_dump(props.get("cloud_config") or {}, default_flow_style=False)
    ctx.configs[reference]["config"] = "#cloud-config\n" + body
    return reference, attrs


def _multipart(props, ctx):
    """One MIME message of every part: a part names another config (its
    content goes in) or is the content itself, as Heat does it."""
    message = MIMEMultipart()
    for part in props.get("parts") or []:
        part = part if isinstance(part, dict) else {"config": part}
        config = part.get("config")
        content = ctx.configs[config]["config"] if config in ctx.configs else config
        if not isinstance(content, str):
            content = json.dumps(content)
        sub = MIMEText(content, part.get("subtype") or "x-shellscript", "utf-8")
        if part.get("filename"):
            sub.add_header("Content-Disposition", "attachment", filename=part["filename"])
        message.attach(sub)
    return _remember_config(ctx, _uuid(props, ctx), message.as_string(), props)


def _deployment(props, ctx):
    """A deployment the fake cloud reports complete at once: no output on
    stdout or stderr, status code 0, and every output its config declares
    there, without a value (what a configuration tool signals nothing for)."""
    attrs = {"deploy_stdout": "", "deploy_stderr": "", "deploy_status_code": 0}
    config = ctx.configs.get(props.get("config")) or {}
    for output in config.get("outputs") or []:
        name = output.get("name") if isinstance(output, dict) else None
        if name and name not in attrs:
            attrs[name] = None
    return _uuid(props, ctx), attrs


def _deployment_group(props, ctx):
    servers = props.get("servers") or {}
    attrs = {"deploy_stdouts": {k: "" for k in servers}, "deploy_stderrs": {k: "" for k in servers},
             "deploy_status_codes": {k: 0 for k in servers}}
    # As a group, it also answers for its members' attributes by their own names.
    attrs.update(deploy_stdout=attrs["deploy_stdouts"], deploy_stderr=attrs["deploy_stderrs"],
                 deploy_status_code=attrs["deploy_status_codes"])
    config = ctx.configs.get(props.get("config")) or {}
    for output in config.get("outputs") or []:
        name = output.get("name") if isinstance(output, dict) else None
        if name and name not in attrs:
            attrs[name] = {k: None for k in servers}
    return _uuid(props, ctx), attrs


def _value(props, ctx):
    return _uuid(props, ctx), {"value": props.get("value")}


def _test_resource(props, ctx):
    value = props.get("value")
    return _uuid(props, ctx), {"output": "test_string" if value is None else value}


def _wait_handle(props, ctx):
    reference = _uuid(props, ctx)
    endpoint = f"http://127.0.0.1/v1/{ctx.project_id}/stacks/{ctx.stack_name}/{ctx.stack_id}/resources/" \
               f"{ctx.resource_name or reference}/signal"
    token = secrets.token_hex(16)
    curl = (f"curl -i -X POST -H 'X-Auth-Token: {token}' -H 'Content-Type: application/json' "
            f"-H 'Accept: application/json' {endpoint}")
    return reference, {"curl_cli": curl, "endpoint": endpoint, "token": token,
                       "signal": json.dumps({"alarm_url": endpoint, "token": token})}


def _wait_condition(props, ctx):
    try:
        count = max(1, int(props.get("count") or 1))
    except (TypeError, ValueError):
        count = 1
    # Completed at once, as if each expected signal had come without data.
    return _uuid(props, ctx), {"data": json.dumps({str(i + 1): None for i in range(count)})}


def _flavor(props, ctx):
    return props.get("flavorid") or _uuid(props, ctx), {
        "is_public": props.get("is_public") is not False, "extra_specs": props.get("extra_specs") or {}}


def _router(props, ctx):
    gateway = props.get("external_gateway_info") or None
    info = None
    if isinstance(gateway, dict):
        info = {"network_id": gateway.get("network"), "enable_snat": gateway.get("enable_snat") is not False,
                "external_fixed_ips": [{"ip_address": ctx.floating_ip, "subnet_id": None}]}
    return _uuid(props, ctx), {"status": "ACTIVE", "external_gateway_info": info,
                               "name": props.get("name") or f"{ctx.stack_name}-router",
                               "admin_state_up": props.get("admin_state_up") is not False,
                               "tenant_id": ctx.project_id}


def _router_interface(props, ctx):
    router = props.get("router") or props.get("router_id")
    subnet = props.get("subnet") or props.get("subnet_id")
    if subnet:
        return f"{router}:subnet_id={subnet}", {}
    return f"{router}:port_id={props.get('port') or props.get('port_id')}", {}


def _floating_ip_association(props, ctx):
    return f"{props.get('floatingip_id')}:{props.get('port_id')}", {}


def _security_group(props, ctx):
    reference = _uuid(props, ctx)
    rules = []
    for rule in props.get("rules") or []:
        rule = dict(rule) if isinstance(rule, dict) else {}
        rules.append({"id": str(uuid.uuid4()), "security_group_id": reference,
                      "direction": rule.get("direction") or "ingress", "ethertype": rule.get("ethertype") or "IPv4",
                      "protocol": rule.get("protocol"), "port_range_min": rule.get("port_range_min"),
                      "port_range_max": rule.get("port_range_max"), "remote_ip_prefix": rule.get("remote_ip_prefix"),
                      "remote_group_id": rule.get("remote_group_id")})
    name = props.get("name") or f"{ctx.stack_name}-{ctx.resource_name or 'security_group'}"
    # Heat gives a security group no attributes but show.
    return reference, {"_show": {"id": reference, "name": name, "description": props.get("description") or "",
                                 "tenant_id": ctx.project_id, "security_group_rules": rules}}


def _security_group_rule(props, ctx):
    reference = _uuid(props, ctx)
    shown = {k: props.get(k) for k in ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
                                       "remote_ip_prefix", "description")}
    shown.update({"id": reference, "security_group_id": props.get("security_group"),
                  "remote_group_id": props.get("remote_group")})
    return reference, {"_show": shown}


def _volume(props, ctx):
    reference = _uuid(props, ctx)
    size = props.get("size")
    try:
        size = int(size) if size is not None else 1
    except (TypeError, ValueError):
        size = 1
    metadata = props.get("metadata") or {}
    return reference, {
        "availability_zone": props.get("availability_zone") or "nova", "size": size,
        "snapshot_id": props.get("snapshot_id"), "display_name": props.get("name") or f"{ctx.stack_name}-volume",
        "display_description": props.get("description"), "volume_type": props.get("volume_type") or "__DEFAULT__",
        "metadata": json.dumps(metadata), "metadata_values": metadata, "source_volid": props.get("source_volid"),
        "status": "available",
        "created_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "bootable": "true" if props.get("image") or props.get("imageRef") else "false",
        "encrypted": "False", "attachments": "[]", "attachments_list": [],
        "multiattach": props.get("multiattach") is True,
    }


def _remote_stack(props, ctx):
    return _uuid(props, ctx), {"stack_name": f"{ctx.stack_name}-{ctx.resource_name or 'stack'}", "outputs": {}}


def _plain(*attrs):
    def build(props, ctx):
        return _uuid(props, ctx), {a: None for a in attrs}
    return build


def register(ctx, built):
    """Tell a new build context about a resource kept from before an update:
    its subnet, its port, its addresses, its software config; and so of the
    members of a group or nested stack."""
    attrs = built.get("attributes") or {}
    rtype = built.get("type")
    for member in ((built.get("hidden") or {}).get("members") or {}).values():
        register(ctx, member)
    if str(rtype).startswith("OS::Heat::") and "config" in attrs and built["reference"] not in ctx.configs:
        props = built.get("properties") or {}
        ctx.configs[built["reference"]] = {"config": attrs["config"], "outputs": list(props.get("outputs") or []),
                                           "group": props.get("group") or "Heat::Ungrouped"}
    if rtype == "OS::Neutron::Subnet" and attrs.get("cidr"):
        ctx.add_subnet(built["reference"], (built.get("properties") or {}).get("network"), attrs["cidr"],
                       attrs.get("gateway_ip"))
    elif rtype == "OS::Neutron::Port":
        fixed = [f.get("ip_address") for f in attrs.get("fixed_ips") or [] if isinstance(f, dict)]
        for address in fixed:
            ctx.allocate(fixed_ip=address)
        if fixed:
            ctx.ports[built["reference"]] = (attrs.get("network_id"), fixed[0])
    elif rtype in ("OS::Nova::Server", "AWS::EC2::Instance"):
        networks = attrs.get("networks") or (built.get("hidden") or {}).get("networks") or {}
        for addresses in networks.values():
            for address in addresses:
                ctx.allocate(fixed_ip=address)


# type name -> builder(props, ctx) -> (reference, attributes)
RESOURCE_TYPES = {
    "OS::Nova::Server": _server,
    "OS::Nova::KeyPair": _keypair,
    "OS::Nova::ServerGroup": _plain(),
    "OS::Heat::ScalingPolicy": _plain("alarm_url", "signal_url"),
    "OS::Heat::SoftwareComponent": _software_component,
    "OS::Cinder::VolumeType": _plain(),
    "OS::Cinder::EncryptedVolumeType": _plain(),
    "OS::Nova::HostAggregate": _plain(),
    "AWS::EC2::SecurityGroup": _plain(),
    "OS::Neutron::Trunk": _plain("port_id", "sub_ports", "status"),
    **{f"OS::Keystone::{kind}": _plain() for kind in ("Role", "Domain", "Project", "User", "Group", "Region",
                                                     "Service", "Endpoint")},
    "OS::Nova::Flavor": _flavor,
    "OS::Nova::FloatingIP": _nova_floating_ip,
    "AWS::EC2::Instance": _aws_instance,
    "AWS::AutoScaling::LaunchConfiguration": _plain(),
    "OS::Nova::FloatingIPAssociation": _plain(),
    "OS::Heat::RandomString": _random_string,
    "OS::Heat::CloudConfig": _cloud_config,
    "OS::Heat::SoftwareConfig": _software_config,
    "OS::Heat::StructuredConfig": _software_config,
    "OS::Heat::MultipartMime": _multipart,
    "OS::Heat::SoftwareDeployment": _deployment,
    "OS::Heat::StructuredDeployment": _deployment,
    "OS::Heat::SoftwareDeploymentGroup": _deployment_group,
    "OS::Heat::WaitConditionHandle": _wait_handle,
    "OS::Heat::UpdateWaitConditionHandle": _plain(),
    "OS::Heat::WaitCondition": _wait_condition,
    "OS::Heat::Value": _value,
    "OS::Heat::TestResource": _test_resource,
    "OS::Heat::Stack": _remote_stack,
    "OS::Neutron::Net": _net,
    "OS::Neutron::Subnet": _subnet,
    "OS::Neutron::Port": _port,
    "OS::Neutron::Router": _router,
    "OS::Neutron::RouterInterface": _router_interface,
    "OS::Neutron::RouterGateway": _plain(),
    "OS::Neutron::FloatingIP": _floating_ip,
    "OS::Neutron::FloatingIPAssociation": _floating_ip_association,
    "OS::Neutron::SecurityGroup": _security_group,
    "OS::Neutron::SecurityGroupRule": _security_group_rule,
    "OS::Cinder::Volume": _volume,
    "OS::Cinder::VolumeAttachment": _plain(),
}
# OS::Heat::ResourceGroup and OS::Heat::AutoScalingGroup have schemas (see
# schemas.py) but no builder: their members are resources of their own, which
# the engine builds (schemas.members() lists them).


def build(resource_type, props, ctx, name=None):
    """Build one resource: (reference, attributes, hidden). ``show`` is always
    available, as in Heat; what only the fake cloud needs (keys starting with
    an underscore) is kept apart, out of the attributes' reach. A builder may
    set ``_show`` for what ``show`` holds when it differs from the attributes.
    ``name``, the resource's name in the template, lets builders word errors
    and names as Heat does."""
    if schemas.takes_anything(resource_type):
        return _uuid(props, ctx), AnyAttributes(show={}), {}
    ctx.resource_name = name
    try:
        reference, attrs = RESOURCE_TYPES[resource_type](props, ctx)
    finally:
        ctx.resource_name = None
    hidden = {k[1:]: v for k, v in attrs.items() if k.startswith("_")}
    attrs = {k: v for k, v in attrs.items() if not k.startswith("_")}
    shown = hidden.pop("show", None)
    attrs["show"] = shown if shown is not None else {k: v for k, v in attrs.items() if k != "private_key"}
    return reference, attrs, hidden


class AnyAttributes(dict):
    """A placeholder's attributes: every name is one, and is None."""

    def __contains__(self, key):
        return True

    def __missing__(self, key):
        return None
