"""Property schemas of the resource types the fake Heat knows, checked the way
Heat checks them before it creates anything.

``check(name, type, properties)`` takes a resource's resolved properties and
returns them as Heat hands them to a resource plugin: every property of the
schema present (``None`` where nothing was given and there is no default),
schema defaults applied, values converted to their types ("8" for an Integer
becomes 8), nested maps filled in the same way. Anything Heat refuses is
refused with a 400 and Heat's wording, for example::

    Property error: resources.server.properties: Property flavor not assigned
    Property error: resources.server.properties: Unknown Property foo
    Property error: resources.pw.properties.length: 600 is out of range (min: 1, max: 512)
    Property error: resources.server.properties.networks[0]: Unknown Property nework

Values behave as in Heat: ``None`` (what a function such as ``if`` with a
false condition yields) counts as given, and becomes the type's empty value
(or the default); ``OMITTED`` (what Heat's two-argument ``if`` yields) counts
as not given at all. Custom constraints that need a service (``nova.flavor``,
``glance.image``...) are listed but not checked; those Heat checks offline
(``ip_addr``, ``net_cidr``, ``mac_addr``) are.

``supported_types()``, ``description(type)`` and ``type_schema(type)`` give
what Heat's resource type list and show calls answer.
"""

import collections.abc
import ipaddress
import json
import re

from .errors import bad_request

# What Heat's two-argument ``if`` yields when its condition is false: the
# property (or list item, or map key) is treated as if it were not there.
OMITTED = Ellipsis


# --------------------------------------------------------------------------
# Constraints


class Range:
    name = "range"

    def __init__(self, min=None, max=None, description=None):
        self.min, self.max, self.description = min, max, description

    def problem(self, value):
        number = _to_num(value)
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            return f"{value} is out of range (min: {self.min}, max: {self.max})"
        return None

    def body(self):
        return {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}


class Length(Range):
    name = "length"

    def problem(self, value):
        size = len(value)
        if (self.min is not None and size < self.min) or (self.max is not None and size > self.max):
            return f"length ({size}) is out of range (min: {self.min}, max: {self.max})"
        return None


class Allowed:
    name = "allowed_values"

    def __init__(self, values, description=None):
        self.values, self.description = tuple(values), description

    def problem(self, value, kind=None):
        if isinstance(value, list):
            ok = all(v in self.values for v in value)
        else:
            try:
                ok = _as_kind(value, kind) in tuple(_as_kind(v, kind) for v in self.values)
            except ValueError as exc:
                return str(exc)
        if ok:
            return None
        allowed = "[" + ", ".join(json.dumps(a) for a in self.values) + "]"
        return f"{json.dumps(value)} is not an allowed value {allowed}"

    def body(self):
        return list(self.values)


class Pattern:
    name = "allowed_pattern"

    def __init__(self, pattern, description=None):
        self.pattern, self.description = pattern, description

    def problem(self, value):
        match = re.match(self.pattern, value)
        if match is None or match.end() != len(value):
            return f'"{value}" does not match pattern "{self.pattern}"'
        return None

    def body(self):
        return self.pattern


def _ip_problem(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "Invalid IP address"
    return None


def _cidr_problem(value):
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return f"'{value}' is not a valid IP subnet"
    if str(net) != value and "/" in value:
        return f"'{value}' isn't a recognized IP subnet cidr, '{net}' is recommended"
    return None


def _mac_problem(value):
    if re.fullmatch(r"[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}", value):
        return None
    return "Invalid MAC address."


_OFFLINE = {"ip_addr": _ip_problem, "net_cidr": _cidr_problem, "mac_addr": _mac_problem}


class Custom:
    """A named constraint. Those needing a service are only reported; the
    offline ones are checked, with Heat's "Error validating value" wording."""

    name = "custom_constraint"

    def __init__(self, constraint, description=None):
        self.constraint, self.description = constraint, description

    def problem(self, value):
        check = _OFFLINE.get(self.constraint)
        if check is None or not isinstance(value, str):
            return None
        reason = check(value)
        return None if reason is None else f"Error validating value '{value}': {reason}"

    def body(self):
        return self.constraint


# --------------------------------------------------------------------------
# Property schemas

TYPES = ("String", "Integer", "Number", "Boolean", "List", "Map", "Any")


class Prop:
    """One property: its type, whether it is required, its default, its
    constraints and, for lists and maps, the schema of what they hold (a list
    has one Prop for every item, a map a dict of Props)."""

    def __init__(self, kind, description=None, *, required=False, default=None, schema=None, constraints=(),
                 update_allowed=False, immutable=False, hidden=False, replaced_by=None):
        assert kind in TYPES, kind
        self.kind = kind
        self.description = description
        self.required = required
        self.default = default
        self.schema = schema
        self.constraints = list(constraints)
        self.update_allowed = update_allowed
        self.immutable = immutable
        self.hidden = hidden  # accepted, but not shown by the type API (Heat's HIDDEN support status)
        self.replaced_by = replaced_by  # a hidden old name whose value moves to this property

    def describe(self, name):
        """This property as Heat's resource type show prints it."""
        out = {"type": self.kind.lower(),
               "description": self.description or _describe_name(name)}
        if self.default is not None:
            out["default"] = self.default
        if isinstance(self.schema, Prop):
            out["schema"] = {"*": self.schema.describe(name)}
        elif self.schema:
            out["schema"] = {k: p.describe(k) for k, p in self.schema.items() if not p.hidden}
        out["required"] = self.required
        if self.constraints:
            out["constraints"] = [_describe_constraint(c) for c in self.constraints]
        out["update_allowed"] = self.update_allowed
        out["immutable"] = self.immutable
        return out


def _describe_name(name):
    return name.replace("_", " ").capitalize() + "."


def _describe_constraint(constraint):
    out = {}
    if constraint.description:
        out["description"] = constraint.description
    out[constraint.name] = constraint.body()
    return out


def String(description=None, **kw):
    return Prop("String", description, **kw)


def Integer(description=None, **kw):
    return Prop("Integer", description, **kw)


def Number(description=None, **kw):
    return Prop("Number", description, **kw)


def Boolean(description=None, **kw):
    return Prop("Boolean", description, **kw)


def List(description=None, **kw):
    return Prop("List", description, **kw)


def Map(description=None, **kw):
    return Prop("Map", description, **kw)


def Any(description=None, **kw):
    return Prop("Any", description, **kw)


def _hidden(kind, new_name, **kw):
    return Prop(kind, f"Deprecated, use {new_name}.", hidden=True, replaced_by=new_name, **kw)


# --------------------------------------------------------------------------
# The types

NETWORK = Custom("neutron.network")
SUBNET = Custom("neutron.subnet")
PORT = Custom("neutron.port")
IP = Custom("ip_addr")
CIDR = Custom("net_cidr")
MAC = Custom("mac_addr")
PROTOCOLS = list(range(256)) + [
    "ah", "dccp", "egp", "esp", "gre", "icmp", "icmpv6", "igmp", "ipv6-encap", "ipv6-frag", "ipv6-icmp",
    "ipv6-nonxt", "ipv6-opts", "ipv6-route", "ospf", "pgm", "rsvp", "sctp", "tcp", "udp", "udplite", "vrrp"]
CHARACTER_CLASSES = ("lettersdigits", "letters", "lowercase", "uppercase", "digits", "hexdigits", "octdigits")
IO_TYPES = ("String", "Number", "CommaDelimitedList", "Json", "Boolean")
DEPLOY_ACTIONS = ("CREATE", "UPDATE", "DELETE", "SUSPEND", "RESUME")
SIGNAL_TRANSPORTS = ("CFN_SIGNAL", "TEMP_URL_SIGNAL", "HEAT_SIGNAL", "NO_SIGNAL", "ZAQAR_SIGNAL")

PORT_EXTRA = {
    "value_specs": Map("Extra parameters passed to Neutron as they are.", default={}, update_allowed=True),
    "admin_state_up": Boolean("Administrative state of the port.", default=True, update_allowed=True),
    "mac_address": String("MAC address to give the port.", constraints=[MAC]),
    "allowed_address_pairs": List("Further addresses the port may use.", update_allowed=True, schema=Map(schema={
        "mac_address": String(constraints=[MAC]),
        "ip_address": String(required=True, constraints=[Custom("ip_or_cidr")]),
    })),
    "binding:vnic_type": String("The vNIC type of the port.", default="normal", update_allowed=True, constraints=[
        Allowed(["normal", "direct", "macvtap", "direct-physical", "baremetal", "virtio-forwarder", "smart-nic"])]),
    "port_security_enabled": Boolean("Whether port security is on.", update_allowed=True),
    "qos_policy": String("QoS policy of the port.", update_allowed=True, constraints=[Custom("neutron.qos_policy")]),
    "propagate_uplink_status": Boolean(update_allowed=True),
    "no_fixed_ips": Boolean("Create the port without any address.", default=False, update_allowed=True),
}

SERVER = {
    "name": String("Server name.", update_allowed=True),
    "image": String("Image to boot from.", update_allowed=True, constraints=[Custom("glance.image")]),
    "block_device_mapping": List("Volumes to attach (version 1 mappings).", schema=Map(schema={
        "device_name": String(required=True),
        "volume_id": String(constraints=[Custom("cinder.volume")]),
        "snapshot_id": String(constraints=[Custom("cinder.snapshot")]),
        "volume_size": Integer(),
        "delete_on_termination": Boolean(),
    })),
    "block_device_mapping_v2": List("Block devices of the server (version 2 mappings).", schema=Map(schema={
        "device_name": String(),
        "volume_id": String(constraints=[Custom("cinder.volume")]),
        "image_id": _hidden("String", "image", constraints=[Custom("glance.image")]),
        "image": String(constraints=[Custom("glance.image")]),
        "snapshot_id": String(constraints=[Custom("cinder.snapshot")]),
        "swap_size": Integer(),
        "ephemeral_size": Integer(constraints=[Range(min=1)]),
        "ephemeral_format": String(constraints=[Allowed(["ext2", "ext3", "ext4", "xfs", "ntfs"])]),
        "device_type": String(constraints=[Allowed(["cdrom", "disk"])]),
        "disk_bus": String(constraints=[Allowed(["ide", "lame_bus", "sata", "scsi", "usb", "virtio"])]),
        "boot_index": Integer(),
        "volume_size": Integer(),
        "delete_on_termination": Boolean(),
        "volume_type": String(constraints=[Custom("cinder.vtype")]),
    })),
    "flavor": String("Flavor of the server.", required=True, update_allowed=True,
                     constraints=[Custom("nova.flavor")]),
    "flavor_update_policy": String(default="RESIZE", update_allowed=True, constraints=[Allowed(["RESIZE", "REPLACE"])]),
    "image_update_policy": String(default="REBUILD", update_allowed=True, constraints=[
        Allowed(["REBUILD", "REPLACE", "REBUILD_PRESERVE_EPHEMERAL"])]),
    "key_name": String("Key pair to inject.", constraints=[Custom("nova.keypair")]),
    "admin_user": Prop("String", hidden=True),
    "availability_zone": String(),
    "security_groups": List("Security groups of the server's own ports.", default=[]),
    "networks": List("Networks to attach the server to.", update_allowed=True, schema=Map(schema={
        "uuid": _hidden("String", "network", constraints=[NETWORK]),
        "network": String("Network, by name or ID.", constraints=[NETWORK]),
        "allocate_network": String(update_allowed=True, constraints=[Allowed(["none", "auto"])]),
        "fixed_ip": String("Fixed address on the network.", constraints=[IP]),
        "port": String("An existing port to use.", constraints=[PORT]),
        "port_extra_properties": Map(update_allowed=True, schema=PORT_EXTRA),
        "subnet": String("Subnet to take the address from."),
        "floating_ip": String("Floating IP to associate."),
        "tag": String(),
    })),
    "scheduler_hints": Map(),
    "metadata": Map(update_allowed=True, default={}),
    "user_data_format": String("How user_data is passed.", default="HEAT_CFNTOOLS", constraints=[
        Allowed(["HEAT_CFNTOOLS", "RAW", "SOFTWARE_CONFIG"])]),
    "software_config_transport": String(default="POLL_SERVER_CFN", update_allowed=True, constraints=[
        Allowed(["POLL_SERVER_CFN", "POLL_SERVER_HEAT", "POLL_TEMP_URL", "ZAQAR_MESSAGE"])]),
    "user_data_update_policy": String(default="REPLACE", update_allowed=True, constraints=[
        Allowed(["REPLACE", "IGNORE", "REBUILD"])]),
    "user_data": String("User data for the server.", default="", update_allowed=True),
    "reservation_id": String(),
    "config_drive": Boolean(),
    "diskConfig": String(constraints=[Allowed(["AUTO", "MANUAL"])]),
    "personality": Map(default={}),
    "admin_pass": String(update_allowed=True),
    "tags": List(update_allowed=True, schema=String()),
    "deployment_swift_data": Map(default={}, update_allowed=True, schema={
        "container": String(constraints=[Length(min=1)]),
        "object": String(constraints=[Length(min=1)]),
    }),
}

RULE = {
    "direction": String(default="ingress", constraints=[Allowed(["ingress", "egress"])]),
    "ethertype": String(default="IPv4", constraints=[Allowed(["IPv4", "IPv6"])]),
    "port_range_min": Integer(constraints=[Range(0, 65535)]),
    "port_range_max": Integer(constraints=[Range(0, 65535)]),
    "protocol": String(constraints=[Allowed(PROTOCOLS)]),
    "remote_mode": String(default="remote_ip_prefix", constraints=[Allowed(["remote_ip_prefix", "remote_group_id"])]),
    "remote_group_id": String(constraints=[Custom("neutron.security_group")]),
    "remote_ip_prefix": String(constraints=[CIDR]),
    "description": String(),
}

IO_INPUT = {
    "name": String(required=True),
    "description": String(),
    "type": String(default="String", constraints=[Allowed(IO_TYPES)]),
    "default": Any(),
    "replace_on_change": Boolean(default=False),
}
IO_OUTPUT = {
    "name": String(required=True),
    "description": String(),
    "type": String(default="String", constraints=[Allowed(IO_TYPES)]),
    "error_output": Boolean(default=False),
}
CONFIG_COMMON = {
    "group": String("Tool that applies the config.", default="Heat::Ungrouped"),
    "options": Map(),
    "inputs": List("Inputs of the config.", schema=Map(schema=IO_INPUT)),
    "outputs": List("Outputs of the config.", schema=Map(schema=IO_OUTPUT)),
}
DEPLOYMENT = {
    "config": String("ID of the config to deploy.", update_allowed=True),
    "server": String("ID of the server to deploy to.", required=True),
    "input_values": Map(update_allowed=True),
    "actions": List(default=["CREATE", "UPDATE"], update_allowed=True, constraints=[Allowed(DEPLOY_ACTIONS)]),
    "name": String(update_allowed=True),
    "signal_transport": String(default="CFN_SIGNAL", constraints=[Allowed(SIGNAL_TRANSPORTS)]),
}
ROLLING = {
    "min_in_service": Integer(default=0, constraints=[Range(min=0)]),
    "max_batch_size": Integer(default=1, constraints=[Range(min=1)]),
    "pause_time": Number(default=0, constraints=[Range(min=0)]),
}


def _attrs(*names, **typed):
    """Attributes: names (type unknown) and name=type."""
    out = {n: None for n in names}
    out.update(typed)
    return out


class Type:
    def __init__(self, properties, attributes, description, version=None, validate=None, retired=False):
        self.properties = properties
        self.attributes = attributes
        self.description = description
        self.version = version
        self.validate = validate
        self.retired = retired


_S, _L, _M, _B, _I = "String", "List", "Map", "Boolean", "Integer"

TYPES_SCHEMA = {}


def _type(name, properties, attributes, description, version=None, retired=False):
    def register(validate=None):
        TYPES_SCHEMA[name] = Type(properties, attributes, description, version, validate, retired)
        return validate
    return register


# Resource-level checks (Heat's ``validate`` methods), run on checked properties.

def _conflict(*names):
    return bad_request(f"Cannot define the following properties at the same time: {', '.join(names)}.",
                       "ResourcePropertyConflict")


def _unspecified(*names):
    return bad_request(f"At least one of the following properties must be specified: {', '.join(names)}.",
                       "PropertyUnspecifiedError")


def _validate_server(name, props):
    image = props["image"]
    bootable = image is not None
    for mapping in props["block_device_mapping"] or []:
        if mapping["device_name"] == "vda":
            bootable = True
        if mapping["volume_id"] is not None and mapping["snapshot_id"] is not None:
            raise _conflict("volume_id", "snapshot_id")
        if mapping["volume_id"] is None and mapping["snapshot_id"] is None:
            raise bad_request("Either volume_id or snapshot_id must be specified for device mapping "
                              f"{mapping['device_name']}")
    sources = [image]
    for mapping in props["block_device_mapping_v2"] or []:
        ephemeral = mapping["ephemeral_size"] or mapping["ephemeral_format"]
        found = (mapping["volume_id"], mapping["snapshot_id"], mapping["image"], mapping["swap_size"], ephemeral)
        if found.count(None) < 4:
            raise _conflict("volume_id", "snapshot_id", "image", "swap_size", "ephemeral_size", "ephemeral_format")
        if found.count(None) == 5:
            raise bad_request("Either volume_id, snapshot_id, image_id, swap_size, ephemeral_size or "
                              "ephemeral_format must be specified.")
        if any(v is not None for v in found[:3]):
            if mapping["boot_index"] in (None, 0):
                bootable = True
                sources.extend(found[:3])
    if not bootable:
        raise bad_request(f"Neither image nor bootable volume is specified for instance {name}")
    if props["block_device_mapping_v2"] and len([s for s in sources if s is not None]) != 1:
        raise bad_request(f"Multiple bootable sources for instance {name}.")
    networks = props["networks"] or []
    for net in networks:
        if net["network"] is None and net["port"] is None and net["subnet"] is None and not net["allocate_network"]:
            raise bad_request('One of the properties "network", "port", "allocate_network" or "subnet" should be '
                              f'set for the specified network of server "{name}".')
        if net["allocate_network"] and len([v for v in net.values() if v is not None]) != 1:
            raise bad_request('Can not specify "allocate_network" with other keys of networks at the same time.')
        if net["fixed_ip"] and net["port"] is not None:
            raise _conflict("networks/fixed_ip", "networks/port")
        if (net["floating_ip"] is not None and net["network"] is not None and net["port"] is None
                and net["subnet"] is None and not net["port_extra_properties"]):
            raise bad_request('Property "floating_ip" is not supported if only "network" is specified, because '
                              'the corresponding port can not be retrieved.')
    if any(n["allocate_network"] for n in networks) and len(networks) != 1:
        raise bad_request('Property "allocate_network" can not be specified if multiple network interfaces set '
                          'for server.')
    if any(n["port"] is not None for n in networks) and props["security_groups"]:
        raise _conflict("security_groups", "networks/port")


_type("OS::Nova::Server", SERVER, _attrs(
    "first_address", name=_S, addresses=_M, networks=_M, instance_name=_S, accessIPv4=_S, accessIPv6=_S,
    console_urls=_M, tags=_L, os_collect_config=_M), "A Nova server (a virtual machine).", "2014.1")(_validate_server)

_type("OS::Nova::KeyPair", {
    "name": String("Name of the key pair.", required=True, constraints=[Length(1, 255)]),
    "save_private_key": Boolean("Generate a key and keep its private half as an attribute.", default=False),
    "public_key": String("Public key to import; a new key is generated without one."),
    "type": String("Key type.", constraints=[Allowed(["ssh", "x509"])]),
    "user": String("User owning the key pair.", constraints=[Custom("keystone.user")]),
}, _attrs(public_key=_S, private_key=_S), "A Nova key pair.", "2014.1")()

_type("OS::Nova::Flavor", {
    "tenants": List(default=[], update_allowed=True, schema=String(constraints=[Custom("keystone.project")])),
    "flavorid": String(),
    "name": String(),
    "ram": Integer("Memory in MB.", required=True),
    "vcpus": Integer("Number of virtual CPUs.", required=True),
    "disk": Integer("Root disk in GB.", default=0),
    "swap": Integer(default=0),
    "ephemeral": Integer(default=0),
    "rxtx_factor": Number(default=1.0),
    "extra_specs": Map(update_allowed=True),
    "is_public": Boolean(default=True),
}, _attrs(is_public=_B, extra_specs=_M), "A Nova flavor.", "2014.2")()

_type("OS::Nova::ServerGroup", {
    "name": String(),
    "policies": List(default=["anti-affinity"], schema=String(), constraints=[
        Allowed(["anti-affinity", "affinity", "soft-anti-affinity", "soft-affinity"])]),
    "rules": Map(schema={"max_server_per_host": Number()}),
}, {}, "A Nova server group.", "2014.2")()

_type("OS::Nova::FloatingIP", {
    "pool": String("The external network the address comes from."),
}, _attrs(pool=_S, ip=_S), "A floating IP address, in Nova's older form (Heat keeps it, through Neutron).",
    "2014.1")()

_type("OS::Nova::FloatingIPAssociation", {
    "server_id": String(required=True, update_allowed=True, constraints=[Custom("nova.server")]),
    "floating_ip": String(required=True, update_allowed=True),
}, {}, "Associates a Nova floating IP with a server.", "2014.1")()

_type("OS::Neutron::Net", {
    "name": String("Network name.", update_allowed=True),
    "value_specs": Map(default={}, update_allowed=True),
    "admin_state_up": Boolean(default=True, update_allowed=True),
    "tenant_id": String(),
    "shared": Boolean(default=False, update_allowed=True),
    "dhcp_agent_ids": List(update_allowed=True),
    "port_security_enabled": Boolean(update_allowed=True),
    "qos_policy": String(update_allowed=True, constraints=[Custom("neutron.qos_policy")]),
    "dns_domain": String(update_allowed=True, constraints=[Custom("dns_domain")]),
    "availability_zone_hints": List(),
    "tags": List(update_allowed=True, schema=String()),
}, _attrs(status=_S, name=_S, subnets=_L, admin_state_up=_S, tenant_id=_S, port_security_enabled=_B,
          mtu=_I, qos_policy_id=_S, l2_adjacency=_B, segments=_L), "A Neutron network.")()


def _validate_subnet(name, props):
    if props["subnetpool"] is not None and props["cidr"]:
        raise _conflict("subnetpool", "cidr")
    if props["subnetpool"] is None and not props["cidr"]:
        raise _unspecified("subnetpool", "cidr")
    if props["prefixlen"] and props["cidr"]:
        raise _conflict("prefixlen", "cidr")
    ra, address = props["ipv6_ra_mode"], props["ipv6_address_mode"]
    if props["ip_version"] == 4 and (ra or address):
        raise bad_request("ipv6_ra_mode and ipv6_address_mode are not supported for ipv4.")
    if ra and address and ra != address:
        raise bad_request("When both ipv6_ra_mode and ipv6_address_mode are set, they must be equal.")
    gateway = props["gateway_ip"]
    if gateway and gateway not in ("~", "", "auto") and _ip_problem(gateway):
        raise bad_request(f'Gateway IP address "{gateway}" is in invalid format.')


_type("OS::Neutron::Subnet", {
    "network_id": _hidden("String", "network", constraints=[NETWORK]),
    "network": String("Network of the subnet.", required=True, constraints=[NETWORK]),
    "subnetpool": String(constraints=[Custom("neutron.subnetpool")]),
    "prefixlen": Integer(constraints=[Range(min=0)]),
    "cidr": String("Address range of the subnet.", constraints=[CIDR]),
    "value_specs": Map(default={}, update_allowed=True),
    "name": String(update_allowed=True),
    "ip_version": Integer(default=4, constraints=[Allowed([4, 6])]),
    "dns_nameservers": List(default=[], update_allowed=True),
    "gateway_ip": String(update_allowed=True),
    "enable_dhcp": Boolean(default=True, update_allowed=True),
    "allocation_pools": List(update_allowed=True, schema=Map(schema={
        "start": String(required=True, constraints=[IP]),
        "end": String(required=True, constraints=[IP]),
    })),
    "tenant_id": String(),
    "host_routes": List(update_allowed=True, schema=Map(schema={
        "destination": String(required=True, constraints=[CIDR]),
        "nexthop": String(required=True, constraints=[IP]),
    })),
    "ipv6_ra_mode": String(constraints=[Allowed(["dhcpv6-stateful", "dhcpv6-stateless", "slaac"])]),
    "ipv6_address_mode": String(constraints=[Allowed(["dhcpv6-stateful", "dhcpv6-stateless", "slaac"])]),
    "segment": String(update_allowed=True, constraints=[Custom("neutron.segment")]),
    "tags": List(update_allowed=True, schema=String()),
}, _attrs(name=_S, network_id=_S, tenant_id=_S, allocation_pools=_L, gateway_ip=_S, host_routes=_L,
          ip_version=_S, cidr=_S, dns_nameservers=_L, enable_dhcp=_S), "A Neutron subnet.")(_validate_subnet)


def _validate_router(name, props):
    agent, agents = props["l3_agent_id"], props["l3_agent_ids"]
    if agent and agents:
        raise _conflict("l3_agent_id", "l3_agent_ids")
    if props["distributed"] and (agent or agents):
        raise _conflict("distributed", "l3_agent_id/l3_agent_ids")
    if props["ha"] and props["distributed"]:
        raise _conflict("distributed", "ha")
    if not props["ha"] and agents and len(agents) > 1:
        raise bad_request("Non HA routers can only have one L3 agent.")


_type("OS::Neutron::Router", {
    "name": String(update_allowed=True),
    "external_gateway_info": Map("Network that gives the router its external gateway.", update_allowed=True,
                                 schema={
        "network": String(required=True, update_allowed=True),
        "enable_snat": Boolean(update_allowed=True),
        "external_fixed_ips": List(update_allowed=True, schema=Map(schema={
            "ip_address": String(constraints=[IP]),
            "subnet": String(constraints=[SUBNET]),
        })),
    }),
    "value_specs": Map(default={}, update_allowed=True),
    "admin_state_up": Boolean(default=True, update_allowed=True),
    "l3_agent_id": Prop("String", update_allowed=True, hidden=True),
    "l3_agent_ids": List(update_allowed=True, schema=String()),
    "distributed": Boolean(),
    "ha": Boolean(),
    "availability_zone_hints": List(update_allowed=True),
    "tags": List(update_allowed=True, schema=String()),
    "tenant_id": String(),
}, _attrs(status=_S, external_gateway_info=_M, name=_S, admin_state_up=_S, tenant_id=_S),
    "A Neutron router.")(_validate_router)


def _validate_router_interface(name, props):
    if props["subnet"] is not None and props["port"] is not None:
        raise _conflict("subnet", "port")
    if props["subnet"] is None and props["port"] is None:
        raise _unspecified("subnet", "port")


_type("OS::Neutron::RouterInterface", {
    "router": String("The router.", required=True, constraints=[Custom("neutron.router")]),
    "router_id": _hidden("String", "router", constraints=[Custom("neutron.router")]),
    "subnet_id": _hidden("String", "subnet", constraints=[SUBNET]),
    "subnet": String("Subnet to connect (or give port).", constraints=[SUBNET]),
    "port_id": _hidden("String", "port", constraints=[PORT]),
    "port": String("Port to connect (or give subnet).", constraints=[PORT]),
}, {}, "Connects a router to a subnet.")(_validate_router_interface)

_type("OS::Neutron::RouterGateway", {
    "router_id": String(required=True, constraints=[Custom("neutron.router")]),
    "network_id": _hidden("String", "network", constraints=[NETWORK]),
    "network": String(constraints=[NETWORK]),
}, {}, "Deprecated: sets a router's gateway.")()


def _validate_port(name, props):
    if props["fixed_ips"] and props["no_fixed_ips"]:
        raise _conflict("fixed_ips", "no_fixed_ips")


_type("OS::Neutron::Port", dict({
    "name": String(update_allowed=True),
    "network_id": _hidden("String", "network", constraints=[NETWORK]),
    "network": String("Network of the port.", required=True, constraints=[NETWORK]),
    "device_id": String(default="", update_allowed=True),
    "device_owner": String(default="", update_allowed=True),
    "fixed_ips": List("Addresses of the port.", update_allowed=True, schema=Map(schema={
        "subnet_id": _hidden("String", "subnet", constraints=[SUBNET]),
        "subnet": String(constraints=[SUBNET]),
        "ip_address": String(constraints=[IP]),
    })),
    "security_groups": List(update_allowed=True),
    "replacement_policy": Prop("String", default="AUTO", update_allowed=True, hidden=True,
                               constraints=[Allowed(["REPLACE_ALWAYS", "AUTO"])]),
    "dns_name": String(update_allowed=True, constraints=[Custom("dns_name")]),
    "tags": List(update_allowed=True, schema=String()),
}, **PORT_EXTRA), _attrs(
    admin_state_up=_S, device_id=_S, device_owner=_S, fixed_ips=_L, mac_address=_S, name=_S, network_id=_S,
    security_groups=_L, status=_S, tenant_id=_S, allowed_address_pairs=_L, subnets=_L, port_security_enabled=_B,
    qos_policy_id=_S, dns_assignment=_M, network=_M, propagate_uplink_status=_B), "A Neutron port.")(_validate_port)


def _validate_floating_ip(name, props):
    if props["port_id"] is None and props["fixed_ip_address"] is not None:
        raise bad_request("fixed_ip_address cannot be specified without port_id.", "ResourcePropertyDependency")


_type("OS::Neutron::FloatingIP", {
    "floating_network_id": _hidden("String", "floating_network", constraints=[NETWORK]),
    "floating_network": String("External network to take the address from.", required=True, constraints=[NETWORK]),
    "floating_subnet": String(constraints=[SUBNET]),
    "value_specs": Map(default={}),
    "port_id": String(update_allowed=True, constraints=[PORT]),
    "fixed_ip_address": String(update_allowed=True, constraints=[IP]),
    "floating_ip_address": String(constraints=[IP]),
    "dns_name": String(update_allowed=True, constraints=[Custom("rel_dns_name")]),
    "dns_domain": String(update_allowed=True, constraints=[Custom("dns_domain")]),
}, _attrs(router_id=_S, tenant_id=_S, floating_network_id=_S, fixed_ip_address=_S, floating_ip_address=_S,
          port_id=_S), "A Neutron floating IP.")(_validate_floating_ip)

_type("OS::Neutron::FloatingIPAssociation", {
    "floatingip_id": String(required=True, update_allowed=True),
    "port_id": String(required=True, update_allowed=True, constraints=[PORT]),
    "fixed_ip_address": String(update_allowed=True, constraints=[IP]),
}, {}, "Associates a floating IP with a port.")()


def _validate_security_group(name, props):
    if props["name"] == "default":
        raise bad_request('Security groups cannot be assigned the name "default".')


_type("OS::Neutron::SecurityGroup", {
    "name": String(update_allowed=True),
    "description": String(update_allowed=True),
    "rules": List("Rules of the group.", default=[], update_allowed=True, schema=Map(schema=RULE)),
    "stateful": Boolean(update_allowed=True),
}, {}, "A Neutron security group.", "2014.1")(_validate_security_group)


def _validate_security_group_rule(name, props):
    if props["remote_group"] is not None and props["remote_ip_prefix"] is not None:
        raise _conflict("remote_group", "remote_ip_prefix")
    low, high = props["port_range_min"], props["port_range_max"]
    if (low is not None and high is not None and props["protocol"] not in ("icmp", "icmpv6", "ipv6-icmp")
            and high < low):
        raise bad_request("The minimum port number must be less than or equal to the maximum port number.")


_type("OS::Neutron::SecurityGroupRule", {
    "security_group": String(required=True, constraints=[Custom("neutron.security_group")]),
    "description": String(),
    "direction": String(default="ingress", constraints=[Allowed(["ingress", "egress"])]),
    "ethertype": String(default="IPv4", constraints=[Allowed(["IPv4", "IPv6"])]),
    "port_range_min": Integer(constraints=[Range(0, 65535)]),
    "port_range_max": Integer(constraints=[Range(0, 65535)]),
    "protocol": String(default="tcp", constraints=[Allowed(PROTOCOLS)]),
    "remote_group": String(constraints=[Custom("neutron.security_group")]),
    "remote_ip_prefix": String(constraints=[CIDR]),
}, {}, "One rule of a Neutron security group.", "7.0.0")(_validate_security_group_rule)


def _validate_volume(name, props):
    if props["image"] and props["imageRef"]:
        raise _conflict("image", "imageRef")
    if props["backup_id"]:
        return
    exclusive = [k for k in ("snapshot_id", "source_volid", "image", "imageRef") if props[k]]
    no_size = [k for k in ("snapshot_id", "source_volid") if props[k]]
    if props["size"] is None and (len(no_size) != 1 or len(exclusive) != 1):
        raise bad_request('If neither "backup_id" nor "size" is provided, one and only one of "source_volid", '
                          f'"snapshot_id" must be specified, but currently specified options: {exclusive}.')
    if props["size"] and len(exclusive) > 1:
        raise bad_request('If "size" is provided, only one of "image", "imageRef", "source_volid", "snapshot_id" '
                          f'can be specified, but currently specified options: {exclusive}.')


_type("OS::Cinder::Volume", {
    "availability_zone": String(),
    "size": Integer("Size in GB.", update_allowed=True, constraints=[Range(min=1)]),
    "snapshot_id": String(constraints=[Custom("cinder.snapshot")]),
    "backup_id": String(update_allowed=True, constraints=[Custom("cinder.backup")]),
    "name": String(update_allowed=True),
    "description": String(update_allowed=True),
    "volume_type": String(update_allowed=True, constraints=[Custom("cinder.vtype")]),
    "metadata": Map(default={}, update_allowed=True),
    "imageRef": Prop("String", hidden=True),
    "image": String("Image to create the volume from.", constraints=[Custom("glance.image")]),
    "source_volid": String(constraints=[Custom("cinder.volume")]),
    "scheduler_hints": Map(),
    "read_only": Boolean(update_allowed=True),
    "multiattach": Prop("Boolean", default=False, hidden=True),
}, _attrs(availability_zone=_S, size=_S, snapshot_id=_S, display_name=_S, display_description=_S,
          volume_type=_S, metadata=_S, source_volid=_S, status=_S, created_at=_S, bootable=_S,
          metadata_values=_M, encrypted=_S, attachments=_S, attachments_list=_L, multiattach=_B),
    "A Cinder volume.")(_validate_volume)

_type("OS::Cinder::VolumeAttachment", {
    "instance_uuid": String("Server to attach to.", required=True, update_allowed=True),
    "volume_id": String("Volume to attach.", required=True, update_allowed=True, constraints=[Custom("cinder.volume")]),
    "mountpoint": String(update_allowed=True),
}, {}, "Attaches a Cinder volume to a server.")()


def _validate_random_string(name, props):
    minimum = sum(c["min"] for c in props["character_classes"] or []) + \
        sum(s["min"] for s in props["character_sequences"] or [])
    if minimum > props["length"]:
        raise bad_request("Length property cannot be smaller than combined character class and character sequence "
                          "minimums")


_type("OS::Heat::RandomString", {
    "length": Integer("Length of the string.", default=32, constraints=[Range(1, 512)]),
    "sequence": Prop("String", hidden=True, constraints=[Allowed(CHARACTER_CLASSES)]),
    "character_classes": List("Character classes and how many of each at least.",
                              default=[{"class": "lettersdigits", "min": 1}], schema=Map(schema={
        "class": String(default="lettersdigits", constraints=[Allowed(CHARACTER_CLASSES)]),
        "min": Integer(default=1, constraints=[Range(1, 512)]),
    })),
    "character_sequences": List("Own sets of characters and how many of each at least.", schema=Map(schema={
        "sequence": String(required=True),
        "min": Integer(default=1, constraints=[Range(1, 512)]),
    })),
    "salt": String("Changing it makes a new string."),
}, _attrs(value=_S), "A random string.", "2014.1")(_validate_random_string)

_type("OS::Heat::SoftwareConfig", dict(CONFIG_COMMON, config=String("The configuration script or data.")),
      _attrs(config=_S), "A software configuration.", "2014.1")()
_type("OS::Heat::StructuredConfig", dict(CONFIG_COMMON, config=Map("The configuration data.")),
      _attrs(config=_S), "A structured software configuration.", "2014.1")()
_type("OS::Heat::CloudConfig", {"cloud_config": Map("The cloud-config data.")},
      _attrs(config=_S), "A cloud-init cloud-config.", "2014.1")()
_type("OS::Heat::MultipartMime", {
    "group": String(default="Heat::Ungrouped"),
    "parts": List("Parts of the message.", default=[], schema=Map(schema={
        "config": String("Config ID or content.", required=True),
        "filename": String(),
        "type": String(default="text", constraints=[Allowed(["text", "multipart"])]),
        "subtype": String(),
    })),
}, _attrs(config=_S), "Combines configs into one multipart MIME message.", "2014.1")()
_type("OS::Heat::SoftwareDeployment", DEPLOYMENT, _attrs(deploy_stdout=_S, deploy_stderr=_S, deploy_status_code=_S),
      "Deploys a config to a server.", "2014.1")()
_type("OS::Heat::StructuredDeployment", dict(
    DEPLOYMENT, input_key=String(default="get_input"),
    input_values_validate=String(default="LAX", constraints=[Allowed(["LAX", "STRICT"])])),
    _attrs(deploy_stdout=_S, deploy_stderr=_S, deploy_status_code=_S), "Deploys a structured config.", "2014.1")()
_type("OS::Heat::SoftwareDeploymentGroup", dict(
    {k: v for k, v in DEPLOYMENT.items() if k != "server"},
    servers=Map("Servers to deploy to, by name.", required=True, update_allowed=True)),
    _attrs(deploy_stdouts=_M, deploy_stderrs=_M, deploy_status_codes=_M), "Deploys a config to servers.", "5.0.0")()
_type("OS::Heat::WaitConditionHandle", {
    "signal_transport": String(default="TOKEN_SIGNAL", constraints=[Allowed(SIGNAL_TRANSPORTS + ("TOKEN_SIGNAL",))]),
}, _attrs(token=_S, endpoint=_S, curl_cli=_S, signal=_S), "Receives signals for a wait condition.", "2014.2")()
_type("OS::Heat::UpdateWaitConditionHandle", {}, {}, "A wait condition handle replaced on every update.",
      "2014.1")()
_type("OS::Heat::WaitCondition", {
    "handle": String("The wait condition handle.", required=True),
    "timeout": Number("Seconds to wait.", required=True, constraints=[Range(1, 43200)]),
    "count": Integer("Signals to wait for.", default=1, update_allowed=True, constraints=[Range(min=1)]),
}, _attrs(data=_S), "Waits for signals.", "2014.2")()
_type("OS::Heat::None", {}, {}, "Does nothing; takes any properties.", "5.0.0")()
_type("OS::Heat::TestResource", {
    "constraint_prop_secs": Number(default=0, update_allowed=True, constraints=[Custom("test_constr")]),
    "attr_wait_secs": Number(default=0, update_allowed=True),
    "value": String("Value of the output attribute.", default="test_string", update_allowed=True),
    "update_replace_value": String(),
    "fail": Boolean(default=False, update_allowed=True),
    "update_replace": Boolean(default=False, update_allowed=True),
    "wait_secs": Number(default=0, update_allowed=True),
    "action_wait_secs": Map(update_allowed=True, schema={
        "create": Number(update_allowed=True),
        "update": Number(update_allowed=True),
        "delete": Number(update_allowed=True),
    }),
    "client_name": String(default="", update_allowed=True),
    "entity_name": String(default="", update_allowed=True),
}, _attrs("output"), "A resource for tests.", "5.0.0")()

VALUE_TYPES = {"string": "String", "number": "Number", "comma_delimited_list": "List", "json": "Map",
               "boolean": "Boolean"}
_type("OS::Heat::Value", {
    "value": Any("The value.", required=True, update_allowed=True),
    "type": String("Type of the value.", update_allowed=True, constraints=[Allowed(list(VALUE_TYPES))]),
}, _attrs("value"), "Holds a value.", "7.0.0")()


_type("OS::Heat::ResourceGroup", {
    "count": Integer("Number of members.", default=1, update_allowed=True, constraints=[Range(min=0)]),
    "index_var": String("Text replaced by the member's index.", default="%index%", constraints=[Length(min=3)]),
    "resource_def": Map("Definition of every member.", required=True, update_allowed=True, schema={
        "type": String(required=True),
        "properties": Map(),
        "metadata": Map(),
    }),
    "removal_policies": List(default=[], update_allowed=True, schema=Map(schema={
        "resource_list": List(default=[]),
    })),
    "removal_policies_mode": String(default="append", update_allowed=True, constraints=[Allowed(["append", "update"])]),
}, _attrs(refs=_L, refs_map=_M, attributes=_M, removed_rsrc_list=_L), "A group of identical resources.",
    "2014.1")()  # (the members' type, which may be a template, is the engine's to find)


def _check_group_sizes(low, high, wanted):
    """A scaling group's bounds and starting size, as Heat checks them (its
    messages name the AWS properties for both kinds of group)."""
    if high < low:
        raise bad_request("MinSize can not be greater than MaxSize")
    if low < 0:
        raise bad_request("The size of AutoScalingGroup can not be less than zero")
    if wanted is not None and not low <= wanted <= high:
        raise bad_request("DesiredCapacity must be between MinSize and MaxSize")


def _validate_scaling_group(name, props):
    _check_group_sizes(props["min_size"], props["max_size"], props["desired_capacity"])


_type("OS::Heat::AutoScalingGroup", {
    "resource": Map("Definition of every member.", required=True, update_allowed=True),
    "max_size": Integer("Largest size.", required=True, update_allowed=True, constraints=[Range(min=0)]),
    "min_size": Integer("Smallest size.", required=True, update_allowed=True, constraints=[Range(min=0)]),
    "cooldown": Integer(update_allowed=True),
    "desired_capacity": Integer("Size to start with.", update_allowed=True),
    "rolling_updates": Map(update_allowed=True, schema=ROLLING,
                           default={"min_in_service": 0, "max_batch_size": 1, "pause_time": 0}),
}, _attrs(outputs=_M, outputs_list=_L, current_size=_I, refs=_L, refs_map=_M), "A group that scales.",
    "2014.1")(_validate_scaling_group)

_type("OS::Heat::Stack", {
    "context": Map(update_allowed=True, schema={
        "region_name": String(),
        "credential_secret_id": String(update_allowed=True),
        "ca_cert": String(update_allowed=True),
        "insecure": Boolean(default=False, update_allowed=True),
    }),
    "template": String("Template of the stack.", required=True, update_allowed=True),
    "timeout": Integer(update_allowed=True),
    "parameters": Map(default={}, update_allowed=True),
}, _attrs(stack_name=_S, outputs=_M), "A stack in another region.", "2014.2")()

# Types every Heat has (its own, and Keystone's, which is always there):
# accepted and built, with nothing behind them.
_type("OS::Heat::ScalingPolicy", {
    "adjustment_type": String("How scaling_adjustment is read.", required=True, update_allowed=True,
                              constraints=[Allowed(["change_in_capacity", "exact_capacity",
                                                    "percent_change_in_capacity"])]),
    "auto_scaling_group_id": String("The group it scales.", required=True),
    "scaling_adjustment": Number("The size of the adjustment.", required=True, update_allowed=True),
    "cooldown": Number("Seconds between two adjustments.", update_allowed=True),
    "min_adjustment_step": Integer(update_allowed=True, constraints=[Range(min=0)]),
}, _attrs(alarm_url=_S, signal_url=_S), "Scales an AutoScalingGroup when signalled.", "2014.1")()

_type("OS::Heat::SoftwareComponent", {
    "configs": List("Configs by lifecycle action.", schema=Map(schema={
        "actions": List(default=["CREATE", "UPDATE"], schema=String(constraints=[
            Allowed(["CREATE", "DELETE", "UPDATE", "SUSPEND", "RESUME"])])),
        "config": String(),
        "tool": String(required=True),
    })),
    "inputs": List(default=[], schema=Map()),
    "outputs": List(default=[], schema=Map()),
    "options": Map(default={}),
}, _attrs(config=_S), "A software configuration per lifecycle action.", "2014.2")()

_type("OS::Cinder::VolumeType", {
    "name": String(required=True, update_allowed=True),
    "description": String(update_allowed=True),
    "metadata": Map(update_allowed=True),
    "is_public": Boolean(default=True),
    "projects": List(default=[], update_allowed=True, schema=String()),
}, {}, "A Cinder volume type.", "2015.1")()

_type("OS::Neutron::Trunk", {
    "port": String("The parent port.", required=True),
    "name": String(update_allowed=True),
    "description": String(update_allowed=True),
    "admin_state_up": Boolean(default=True, update_allowed=True),
    "sub_ports": List(default=[], update_allowed=True, schema=Map(schema={
        "port": String(required=True),
        "segmentation_type": String(required=True, constraints=[Allowed(["vlan"])]),
        "segmentation_id": Integer(required=True, constraints=[Range(min=1, max=4094)]),
    })),
}, _attrs(port_id=_S, sub_ports=_L, status=_S), "A Neutron trunk.", "9.0.0")()

_type("OS::Cinder::EncryptedVolumeType", {
    "provider": String("The encryption provider class.", required=True, update_allowed=True),
    "control_location": String(default="front-end", update_allowed=True,
                               constraints=[Allowed(["front-end", "back-end"])]),
    "cipher": String(update_allowed=True, constraints=[Allowed(["aes-xts-plain64", "aes-cbc-essiv"])]),
    "key_size": Integer(update_allowed=True),
    "volume_type": String("The volume type it encrypts.", required=True),
}, {}, "Encryption for a Cinder volume type.", "5.0.0")()

_type("OS::Nova::HostAggregate", {
    "name": String("The aggregate's name.", required=True, update_allowed=True),
    "availability_zone": String(update_allowed=True),
    "hosts": List(default=[], update_allowed=True, schema=String()),
    "metadata": Map(default={}, update_allowed=True),
}, {}, "A Nova host aggregate.", "10.0.0")()

_AWS_RULE = Map(schema={"CidrIp": String(), "FromPort": String(), "ToPort": String(), "IpProtocol": String(),
                        "SourceSecurityGroupId": String(), "SourceSecurityGroupName": String(),
                        "SourceSecurityGroupOwnerId": String(), "DestinationSecurityGroupId": String()})
_type("AWS::EC2::SecurityGroup", {
    "GroupDescription": String("Description of the security group.", required=True),
    "VpcId": String(),
    "SecurityGroupIngress": List(schema=_AWS_RULE, update_allowed=True),
    "SecurityGroupEgress": List(schema=_AWS_RULE, update_allowed=True),
}, {}, "A security group, in the AWS compatible form every Heat has.", "2014.1")()

# The AWS-compatible compute types every Heat has: an instance is a server
# (with a machine behind it), launched alone or by a group from a launch
# configuration.
_AWS_TAGS = List(schema=Map(schema={"Key": String(required=True), "Value": String(required=True)}))
_AWS_HINTS = List(schema=Map(schema={"Key": String(required=True), "Value": String(required=True)}))
_AWS_BLOCK_DEVICES = List(schema=Map(schema={
    "DeviceName": String(required=True),
    "Ebs": Map(schema={"DeleteOnTermination": Boolean(default=True), "Iops": Number(), "SnapshotId": String(),
                       "VolumeSize": String(), "VolumeType": String()}),
    "NoDevice": Map(),
    "VirtualName": String(),
}))
_type("AWS::EC2::Instance", {
    "ImageId": String("Glance image ID or name.", required=True, constraints=[Custom("glance.image")]),
    "InstanceType": String("Nova instance type (flavor).", required=True, update_allowed=True,
                           constraints=[Custom("nova.flavor")]),
    "KeyName": String(constraints=[Custom("nova.keypair")]),
    "AvailabilityZone": String(),
    "DisableApiTermination": String(),
    "KernelId": String(),
    "Monitoring": Boolean(),
    "PlacementGroupName": String(),
    "PrivateIpAddress": String(),
    "RamDiskId": String(),
    "SecurityGroups": List(),
    "SecurityGroupIds": List(),
    "NetworkInterfaces": List(update_allowed=True),
    "SourceDestCheck": Boolean(),
    "SubnetId": String(update_allowed=True),
    "Tags": List(update_allowed=True, schema=Map(schema={"Key": String(required=True),
                                                         "Value": String(required=True)})),
    "NovaSchedulerHints": _AWS_HINTS,
    "Tenancy": String(constraints=[Allowed(["dedicated", "default"])]),
    "UserData": String(),
    "Volumes": List(default=[], schema=Map(schema={"Device": String(required=True),
                                                    "VolumeId": String(required=True)})),
    "BlockDeviceMappings": _AWS_BLOCK_DEVICES,
}, _attrs(AvailabilityZone=_S, PrivateDnsName=_S, PublicDnsName=_S, PrivateIp=_S, PublicIp=_S),
    "A server, in the AWS compatible form every Heat has.", "2014.1")()


def _validate_launch_configuration(name, props):
    for mapping in props["BlockDeviceMappings"] or []:
        if not mapping.get("Ebs"):
            raise bad_request("Ebs is missing, this is required when specifying BlockDeviceMappings.")
        if not mapping["Ebs"].get("SnapshotId"):
            raise bad_request("SnapshotId is missing, this is required when specifying BlockDeviceMappings.")
    if not props["InstanceId"] and not (props["ImageId"] and props["InstanceType"]):
        raise bad_request("If without InstanceId, ImageId and InstanceType are required.")


LAUNCHED = ("ImageId", "InstanceType", "KeyName", "UserData", "SecurityGroups", "KernelId", "RamDiskId",
            "BlockDeviceMappings", "NovaSchedulerHints")
_type("AWS::AutoScaling::LaunchConfiguration", {
    "ImageId": String("Glance image ID or name.", constraints=[Custom("glance.image")]),
    "InstanceType": String("Nova instance type (flavor).", constraints=[Custom("nova.flavor")]),
    "KeyName": String(constraints=[Custom("nova.keypair")]),
    "UserData": String(),
    "SecurityGroups": List(),
    "KernelId": String(),
    "RamDiskId": String(),
    "BlockDeviceMappings": _AWS_BLOCK_DEVICES,
    "NovaSchedulerHints": _AWS_HINTS,
    "InstanceId": String("An instance whose settings to launch with.", constraints=[Custom("nova.server")]),
}, {}, "What an AWS compatible group launches.", "2014.1")(_validate_launch_configuration)

_type("OS::Heat::InstanceGroup", {
    "AvailabilityZones": List("Not implemented.", required=True),
    "LaunchConfigurationName": String("The launch configuration.", required=True, update_allowed=True),
    "Size": Integer("Desired number of instances.", required=True, update_allowed=True),
    "LoadBalancerNames": List(),
    "Tags": _AWS_TAGS,
}, _attrs(InstanceList=_S), "A group of instances from a launch configuration.", "2014.1")()


def _validate_aws_scaling_group(name, props):
    _check_group_sizes(props["MinSize"], props["MaxSize"], props["DesiredCapacity"])
    if props["VPCZoneIdentifier"] and len(props["VPCZoneIdentifier"]) != 1:
        raise bad_request("Anything other than one VPCZoneIdentifier is not supported.", "NotSupported")
    if bool(props["InstanceId"]) == bool(props["LaunchConfigurationName"]):
        raise bad_request("Either 'InstanceId' or 'LaunchConfigurationName' must be provided.")


_type("AWS::AutoScaling::AutoScalingGroup", {
    "AvailabilityZones": List("Not implemented.", required=True),
    "LaunchConfigurationName": String("The launch configuration.", update_allowed=True),
    "InstanceId": String("An instance whose settings to launch with.", constraints=[Custom("nova.server")]),
    "MaxSize": Integer("Largest size.", required=True, update_allowed=True),
    "MinSize": Integer("Smallest size.", required=True, update_allowed=True),
    "Cooldown": Integer(update_allowed=True),
    "DesiredCapacity": Integer("Size to start with.", update_allowed=True),
    "HealthCheckGracePeriod": Integer(),
    "HealthCheckType": String(constraints=[Allowed(["EC2", "ELB"])]),
    "LoadBalancerNames": List(),
    "VPCZoneIdentifier": List(schema=String()),
    "Tags": _AWS_TAGS,
}, _attrs(InstanceList=_S), "A group that scales, in the AWS compatible form.", "2014.1")(_validate_aws_scaling_group)

_KEYSTONE_ROLES = List(default=[], update_allowed=True, schema=Map(schema={
    "role": String(required=True), "project": String(), "domain": String()}))
for _name, _props, _attributes in (
    ("OS::Keystone::Role", {"name": String(update_allowed=True), "domain": String(default="default")}, {}),
    ("OS::Keystone::Domain", {"name": String(), "description": String(update_allowed=True),
                              "enabled": Boolean(default=True, update_allowed=True)}, {}),
    ("OS::Keystone::Project", {"name": String(update_allowed=True), "domain": String(default="default"),
                               "description": String(default="", update_allowed=True),
                               "enabled": Boolean(default=True, update_allowed=True), "parent": String(),
                               "tags": List(default=[], update_allowed=True, schema=String())},
     _attrs(name=_S, domain_id=_S, enabled=_B, parent_id=_S, is_domain=_B)),
    ("OS::Keystone::User", {"name": String(update_allowed=True), "domain": String(default="default"),
                            "description": String(default="", update_allowed=True),
                            "enabled": Boolean(default=True, update_allowed=True), "email": String(),
                            "password": String(update_allowed=True), "default_project": String(),
                            "groups": List(default=[], update_allowed=True, schema=String()),
                            "roles": _KEYSTONE_ROLES},
     _attrs(name=_S, default_project_id=_S, domain_id=_S, enabled=_B, password_expires_at=_S)),
    ("OS::Keystone::Group", {"name": String(update_allowed=True), "domain": String(default="default"),
                             "description": String(default="", update_allowed=True), "roles": _KEYSTONE_ROLES},
     {}),
    ("OS::Keystone::Region", {"id": String(), "description": String(update_allowed=True),
                              "parent_region": String(), "enabled": Boolean(default=True, update_allowed=True)},
     {}),
    ("OS::Keystone::Service", {"name": String(update_allowed=True), "description": String(update_allowed=True),
                               "type": String(required=True, update_allowed=True),
                               "enabled": Boolean(default=True, update_allowed=True)}, {}),
    ("OS::Keystone::Endpoint", {"region": String(update_allowed=True), "service": String(required=True),
                                "interface": String(required=True, update_allowed=True,
                                                    constraints=[Allowed(["public", "internal", "admin"])]),
                                "url": String(required=True, update_allowed=True),
                                "name": String(update_allowed=True),
                                "enabled": Boolean(default=True, update_allowed=True)}, {}),
):
    _type(_name, _props, _attributes, f"A Keystone {_name.rsplit('::', 1)[1].lower()}.", "2015.1")()

# Types that need a service this cloud does not offer: Heat has them, and
# refuses them where the service is missing; the fake cloud refuses them as
# types it cannot find (type -> service).
NOT_OFFERED = {
    **{f"OS::Trove::{t}": "trove" for t in ("Instance", "Cluster")},
    **{f"OS::Magnum::{t}": "magnum" for t in ("Cluster", "ClusterTemplate", "BayModel")},
    **{f"OS::Zaqar::{t}": "zaqar" for t in ("Queue", "SignedQueueURL", "Subscription", "MistralTrigger")},
    **{f"OS::Manila::{t}": "manila" for t in ("SecurityService", "Share", "ShareNetwork", "ShareType")},
    **{f"OS::Designate::{t}": "designate" for t in ("Zone", "RecordSet")},
    **{f"OS::Barbican::{t}": "barbican" for t in ("Secret", "Order", "GenericContainer", "RSAContainer",
                                                   "CertificateContainer")},
    **{f"OS::Mistral::{t}": "mistral" for t in ("Workflow", "CronTrigger", "ExternalResource")},
    **{f"OS::Aodh::{t}": "aodh" for t in ("Alarm", "CompositeAlarm", "EventAlarm", "GnocchiAggregationByMetricsAlarm",
                                           "GnocchiAggregationByResourcesAlarm", "GnocchiResourcesAlarm")},
    **{f"OS::Octavia::{t}": "octavia" for t in ("LoadBalancer", "Listener", "Pool", "PoolMember", "HealthMonitor",
                                                 "L7Policy", "L7Rule", "Flavor", "FlavorProfile", "Quota")},
    **{f"OS::Swift::{t}": "swift" for t in ("Container",)},
    **{f"OS::Ironic::{t}": "ironic" for t in ("Port",)},
    **{f"OS::Blazar::{t}": "blazar" for t in ("Host", "Lease")},
    **{f"OS::Zun::{t}": "zun" for t in ("Container",)},
}


# Types Heat has retired but keeps so that old templates still load: left out
# of the type list, each is a placeholder that takes any property and gives
# None for any attribute, whether or not its service is there (what Heat's
# OS::Heat::None does). type -> what took its place.
RETIRED = {
    "OS::Designate::Domain": "OS::Designate::Zone",
    "OS::Designate::Record": "OS::Designate::RecordSet",
    "OS::Glance::Image": "OS::Glance::WebImage",
    "OS::Heat::HARestarter": "the mark-unhealthy API and a stack update",
    "OS::Magnum::Bay": "OS::Magnum::Cluster",
    "OS::Aodh::CombinationAlarm": "OS::Aodh::CompositeAlarm",
    **{f"OS::Monasca::{t}": "nothing (Monasca is gone)" for t in ("AlarmDefinition", "Notification")},
    **{f"OS::Neutron::LBaaS::{t}": f"OS::Octavia::{t}" for t in (
        "LoadBalancer", "Listener", "Pool", "PoolMember", "HealthMonitor", "L7Policy", "L7Rule")},
    **{f"OS::Neutron::{t}": "Octavia's types" for t in ("LoadBalancer", "Pool", "PoolMember", "HealthMonitor")},
    **{f"OS::Sahara::{t}": "nothing (Sahara is gone)" for t in (
        "Cluster", "ClusterTemplate", "DataSource", "ImageRegistry", "Job", "JobBinary", "NodeGroupTemplate")},
    **{f"OS::Senlin::{t}": "nothing (Senlin is gone)" for t in ("Cluster", "Node", "Policy", "Profile", "Receiver")},
    "OS::Vitrage::Template": "nothing (Vitrage is gone)",
}
for _name, _instead in RETIRED.items():
    _type(_name, {}, {}, f"Retired, in favour of {_instead}: a placeholder.", retired=True)()


# --------------------------------------------------------------------------
# Checking


class _Invalid(Exception):
    """A refusal on its way up: the path below ``properties`` and the message."""

    def __init__(self, path, message):
        super().__init__(message)
        self.path, self.message = path, message


def _format_path(path):
    text = ""
    for item in path:
        if isinstance(item, int) or str(item).isdigit():
            text += f"[{item}]"
        elif text:
            text += f".{item}"
        else:
            text = str(item)
    return text


def _to_num(value):
    if isinstance(value, (int, float)):
        return value
    try:
        return int(value)
    except ValueError:
        return float(value)


def _as_kind(value, kind):
    """A value in a schema type, as allowed-values checks compare them."""
    try:
        if kind == "Integer":
            number = _to_num(value)
            if isinstance(number, float):
                raise ValueError(f"{number} is not an integer.")
            return number
        if kind == "Number":
            return _to_num(value)
        if kind == "String":
            return str(value)
        if kind == "Boolean":
            text = str(value).strip().lower()
            if text in ("1", "t", "true", "on", "y", "yes"):
                return True
            if text in ("0", "f", "false", "off", "n", "no"):
                return False
            raise ValueError(text)
    except (ValueError, TypeError):
        raise ValueError(f'Value "{value}" is invalid for data type "{kind}".')
    return value


def _convert(prop, value, path, validate):
    """A value as Heat turns it into the property's type (``None`` becomes
    the default or the type's empty value), or _Invalid with Heat's wording."""
    kind = prop.kind
    empty = prop.default if prop.default is not None else None
    try:
        if kind == "String":
            if value is None:
                value = empty or ""
            if not isinstance(value, str):
                if isinstance(value, (bool, int)):
                    value = str(value)
                else:
                    raise ValueError(f"Value must be a string; got {value!r}")
        elif kind == "Integer":
            if value is None:
                value = empty or 0
            try:
                value = int(value)
            except ValueError:
                raise ValueError(f"Value '{value}' is not an integer")
        elif kind == "Number":
            if value is None:
                value = empty or 0
            value = _to_num(value)
        elif kind == "Boolean":
            if value is None:
                value = empty or False
            if isinstance(value, str):
                text = value.lower()
                if text not in ("true", "false"):
                    raise ValueError(f'"{text}" is not a valid boolean')
                value = text == "true"
            elif not isinstance(value, bool):
                raise ValueError(f'"{value}" is not a valid boolean')
        elif kind == "Map":
            if value is None:
                value = prop.default if prop.default is not None else {}
            if not isinstance(value, collections.abc.Mapping):
                raise ValueError(f'"{value}" is not a map')
            value = {k: v for k, v in value.items() if v is not OMITTED}
            if isinstance(prop.schema, dict):
                value = _check_map(prop.schema, value, path, validate)
        elif kind == "List":
            if value is None:
                value = empty or []
            if not isinstance(value, collections.abc.Sequence) or isinstance(value, str):
                raise ValueError(f'"{value!r}" is not a list')
            value = [v for v in value if v is not OMITTED]
            if isinstance(prop.schema, Prop):
                value = [_checked(prop.schema, item, path + [i], validate) for i, item in enumerate(value)]
            else:
                value = list(value)
    except (ValueError, TypeError) as exc:
        raise _Invalid(path, str(exc))
    return value


def _checked(prop, value, path, validate=True):
    value = _convert(prop, value, path, validate)
    if validate:
        for constraint in prop.constraints:
            if isinstance(constraint, Allowed):
                problem = constraint.problem(value, prop.kind)
            else:
                try:
                    problem = constraint.problem(value)
                except (ValueError, TypeError) as exc:
                    problem = str(exc)
            if problem:
                raise _Invalid(path, constraint.description or problem)
    return value


def _check_map(schema, data, path, validate=True, unresolved=()):
    data = dict(data)
    for key in data:
        if key not in schema:
            raise _Invalid(path, f"Unknown Property {key}")
    # Hidden old names hand their value to the new ones (Heat's translation).
    for old, prop in schema.items():
        new = prop.replaced_by
        if new and data.get(old) is not None and data.get(old) is not OMITTED:
            if data.get(new) not in (None, OMITTED):
                raise _Invalid(path + [new], f"Cannot define the following properties at the same time: "
                                             f"{_format_path(path + [new])}, {_format_path(path + [old])}")
            data[new] = data.pop(old)
    result = {}
    for key, prop in schema.items():
        if key not in data or data[key] is OMITTED:
            if prop.default is not None:
                result[key] = _checked(prop, None, path + [key], validate)
            elif prop.required:
                raise _Invalid(path, f"Property {key} not assigned")
            else:
                result[key] = None
        else:
            result[key] = _checked(prop, data[key], path + [key], validate and key not in unresolved)
    return result


def _refuse(resource_name, invalid):
    where = _format_path(["resources", resource_name, "properties"] + invalid.path)
    return bad_request(f"Property error: {where}: {invalid.message}", "StackValidationFailed")


def check(resource_name, resource_type, properties, unresolved=()):
    """The resource's properties checked, converted and completed as Heat
    does before it creates the resource; a 400 (StackValidationFailed and
    Heat's message) if Heat would refuse them.

    ``unresolved``: names of properties whose values come from resources not
    created yet (``get_resource``, ``get_attr``). Heat does not check their
    constraints when it validates a stack (it does when it creates the
    resource); their types are still converted.
    """
    spec = TYPES_SCHEMA.get(resource_type)
    if spec is None:
        raise bad_request(f"The Resource Type ({resource_type}) could not be found.", "StackValidationFailed")
    properties = {} if properties is None else properties
    if not isinstance(properties, collections.abc.Mapping):
        raise bad_request(f'"{properties}" is not a map', "StackValidationFailed")
    if resource_type == "OS::Heat::None" or spec.retired:
        return dict(properties)  # takes anything, as in Heat
    try:
        result = _check_map(spec.properties, properties, [], True, set(unresolved))
        if resource_type == "OS::Heat::Value" and result["type"]:
            result["value"] = _checked(Prop(VALUE_TYPES[result["type"]]), result["value"], ["value"])
        if resource_type == "OS::Heat::RandomString" and result["sequence"]:
            result["character_classes"] = list(result["character_classes"] or []) + [
                {"class": result["sequence"], "min": 1}]
            result["sequence"] = None
    except _Invalid as invalid:
        raise _refuse(resource_name, invalid)
    if spec.validate:
        spec.validate(resource_name, result)
    if resource_type == "OS::Cinder::Volume" and result["imageRef"]:
        result["image"], result["imageRef"] = result["imageRef"], None
    return result


AWS_GROUPS = ("OS::Heat::InstanceGroup", "AWS::AutoScaling::AutoScalingGroup")
# Groups that can be resized: type -> (the size property members() reads,
# then the smallest size, the largest and the cooldown, for those that a
# scaling policy can adjust).
SIZED_GROUPS = {
    "OS::Heat::AutoScalingGroup": ("desired_capacity", "min_size", "max_size", "cooldown"),
    "AWS::AutoScaling::AutoScalingGroup": ("DesiredCapacity", "MinSize", "MaxSize", "Cooldown"),
    "OS::Heat::InstanceGroup": ("Size", None, None, None),
}


def members(resource_name, resource_type, properties, launch=None):
    """What a group (properties as check() returns them) holds: a list of
    (member name, type, properties), properties not yet checked.
    ResourceGroup members are "0", "1", ... with ``index_var`` replaced by
    the index in their properties; an AutoScalingGroup starts with
    ``desired_capacity`` members, else ``min_size``. The AWS compatible
    groups launch instances with ``launch``, the settings of their launch
    configuration (or instance)."""
    if resource_type in AWS_GROUPS:
        if resource_type == "OS::Heat::InstanceGroup":
            size = properties["Size"]
        else:
            size = properties["DesiredCapacity"]
            size = properties["MinSize"] if size is None else size
        settings = {k: v for k, v in (launch or {}).items() if k in LAUNCHED and v is not None}
        if properties.get("VPCZoneIdentifier"):
            settings["SubnetId"] = properties["VPCZoneIdentifier"][0]
        if properties.get("Tags"):
            settings["Tags"] = properties["Tags"]
        return [(f"member-{i}", "AWS::EC2::Instance", dict(settings)) for i in range(max(size, 0))]
    if resource_type == "OS::Heat::ResourceGroup":
        definition, count = properties["resource_def"], properties["count"]
        index_var = properties["index_var"]
        return [(str(i), definition["type"], _replace(definition["properties"] or {}, index_var, str(i)))
                for i in range(count)]
    if resource_type == "OS::Heat::AutoScalingGroup":
        definition = properties["resource"]
        size = properties["desired_capacity"]
        size = properties["min_size"] if size is None else size
        return [(f"member-{i}", definition.get("type"), dict(definition.get("properties") or {}))
                for i in range(size)]
    return []


def _replace(value, index_var, index):
    if isinstance(value, str):
        return value.replace(index_var, index)
    if isinstance(value, list):
        return [_replace(v, index_var, index) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, index_var, index) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------
# What the resource type API answers


def supported_types():
    """The types this cloud offers, sorted, as ``GET /resource_types`` lists them."""
    return sorted(name for name, spec in TYPES_SCHEMA.items() if not spec.retired)


def is_offered(resource_type):
    return resource_type in TYPES_SCHEMA


def in_place(resource_type, before, after):
    """Whether Heat updates a resource of this type in place when its
    properties go from ``before`` to ``after``: every changed property one
    it may update (else it replaces the resource). A template resource (not
    a type here) is updated in place: its nested stack is."""
    spec = TYPES_SCHEMA.get(resource_type)
    if spec is None:
        return True
    before, after = before or {}, after or {}
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    return all(k in spec.properties and spec.properties[k].update_allowed for k in changed)


def takes_anything(resource_type):
    """A placeholder (OS::Heat::None or a retired type): any property, and
    None for any attribute."""
    spec = TYPES_SCHEMA.get(resource_type)
    return resource_type == "OS::Heat::None" or bool(spec and spec.retired)


def description(resource_type):
    """One line about the type (``with_description`` in the type list)."""
    return TYPES_SCHEMA[resource_type].description


_SHOW = {"description": "Detailed information about resource.", "type": "map"}


def type_schema(resource_type):
    """Heat's resource type show answer: ``resource_type``, ``properties``,
    ``attributes`` (with ``show``) and ``support_status``. Hidden properties
    are left out, as Heat leaves them out. Unknown types: 404 as in Heat."""
    spec = TYPES_SCHEMA.get(resource_type)
    if spec is None:
        from .errors import not_found
        raise not_found(f"The Resource Type ({resource_type}) could not be found.", "EntityNotFound")
    if spec.retired:
        raise bad_request(f"{resource_type} is not supported.", "NotSupported")
    attributes = {}
    for name, kind in spec.attributes.items():
        attributes[name] = {"description": _describe_name(name)}
        if kind:
            attributes[name]["type"] = kind.lower()
    attributes["show"] = dict(_SHOW)
    return {
        "resource_type": resource_type,
        "properties": {k: p.describe(k) for k, p in spec.properties.items() if not p.hidden},
        "attributes": attributes,
        "support_status": {"status": "SUPPORTED", "message": None, "version": spec.version,
                           "previous_status": None},
    }
