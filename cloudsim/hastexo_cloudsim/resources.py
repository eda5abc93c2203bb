"""Resource types the fake Heat knows, and the attributes each one yields.

A resource is "built" from its resolved properties: it gets a reference (what
``get_resource`` returns) and a dict of attributes (what ``get_attr`` reads).
Values are made up, but shaped like the real ones, and some are real: a key
pair with ``save_private_key`` carries a freshly generated OpenSSH private key.
"""

import ipaddress
import itertools
import secrets
import string
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from .errors import bad_request

# Private networks without a subnet of their own get addresses from this one.
DEFAULT_CIDR = "192.168.122.0/24"

# Every fake server also answers on a loopback address of its own (its private
# addresses, as the template defines them, are not routed on this host). They
# come from 127.255.0.0/16, apart from the stacks' floating IPs, one after the
# other, and wrap after 65,024 servers.
_SERVER_NUMBERS = itertools.count()


def loopback_twin():
    number = next(_SERVER_NUMBERS) % (256 * 254)
    return f"127.255.{number // 254}.{number % 254 + 1}"


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
        """A loopback address unique to this stack (127.1.0.1, 127.1.0.2, ...).

        The last octet skips 0 and 255, so over 16 million stacks stay unique.
        """
        block, rest = divmod(self.stack_index, 254 * 256)
        return f"127.{1 + block % 254}.{rest // 254}.{rest % 254 + 1}"



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


def _random_string(props, ctx):
    try:
        length = int(props.get("length", 32))
    except (TypeError, ValueError):
        raise bad_request(f"Property length of OS::Heat::RandomString is not an integer: {props.get('length')!r}")
    if not 1 <= length <= 512:
        raise bad_request(f"Property length of OS::Heat::RandomString must be 1..512, not {length}")
    classes = props.get("character_classes") or [{"class": "lettersdigits", "min": 1}]
    chars, required = "", []
    for entry in classes:
        name = entry.get("class", "lettersdigits") if isinstance(entry, dict) else entry
        if name not in _CHAR_CLASSES:
            raise bad_request(f'"{name}" is not an allowed value of character_classes.class '
                              f"(allowed: {', '.join(sorted(_CHAR_CLASSES))})")
        chars += _CHAR_CLASSES[name]
        minimum = int(entry.get("min", 1)) if isinstance(entry, dict) else 1
        required += [secrets.choice(_CHAR_CLASSES[name]) for _ in range(minimum)]
    if len(required) > length:
        raise bad_request("Length of OS::Heat::RandomString is less than the sum of the class minimums")
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
            network = net.get("network")
            address, _ = ctx.allocate(network, net.get("subnet"), net.get("fixed_ip"))
        networks.setdefault(str(network or net.get("port") or f"net{i}"), []).append(address)
    first = next(iter(networks.values()))[0]
    addresses = {k: [{"addr": a, "version": 4, "OS-EXT-IPS:type": "fixed"} for a in v] for k, v in networks.items()}
    return _uuid(props, ctx), {
        "name": name, "first_address": first, "networks": networks, "addresses": addresses,
        "accessIPv4": "", "accessIPv6": "", "instance_name": f"instance-{ctx.stack_index:08x}",
        "console_urls": {},
        # Not Heat's: where the machine answers on this host (see machines.py).
        "_loopback": loopback_twin(), "_ports": ports,
    }


def _floating_ip(props, ctx):
    return _uuid(props, ctx), {
        "floating_ip_address": ctx.floating_ip, "fixed_ip_address": props.get("fixed_ip_address"),
        "floating_network_id": props.get("floating_network"), "port_id": props.get("port_id"),
        "router_id": None, "status": "ACTIVE",
    }


def _net(props, ctx):
    return _uuid(props, ctx), {"name": props.get("name") or "net", "status": "ACTIVE",
                               "subnets": [], "admin_state_up": True}


def _subnet(props, ctx):
    reference = _uuid(props, ctx)
    net, gateway = ctx.add_subnet(reference, props.get("network"), props.get("cidr") or DEFAULT_CIDR,
                                  props.get("gateway_ip"))
    return reference, {"cidr": str(net), "gateway_ip": gateway, "name": props.get("name") or "subnet",
                       "network_id": props.get("network")}


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
    return reference, {"fixed_ips": fixed_ips, "mac_address": mac, "name": props.get("name") or "",
                       "network_id": network, "status": "ACTIVE"}


def _config(props, ctx):
    return _uuid(props, ctx), {"config": props.get("cloud_config") or props.get("config") or props.get("parts")}


def _value(props, ctx):
    return _uuid(props, ctx), {"value": props.get("value")}


def _wait_handle(props, ctx):
    return _uuid(props, ctx), {"curl_cli": "curl -i -X POST http://127.0.0.1/waitcondition",
                               "endpoint": "http://127.0.0.1/waitcondition", "token": secrets.token_hex(8)}


def _plain(*attrs):
    def build(props, ctx):
        return _uuid(props, ctx), {a: None for a in attrs}
    return build


# type name -> builder(props, ctx) -> (reference, attributes)
RESOURCE_TYPES = {
    "OS::Nova::Server": _server,
    "OS::Nova::KeyPair": _keypair,
    "OS::Nova::ServerGroup": _plain(),
    "OS::Nova::Flavor": _plain(),
    "OS::Heat::RandomString": _random_string,
    "OS::Heat::CloudConfig": _config,
    "OS::Heat::SoftwareConfig": _config,
    "OS::Heat::StructuredConfig": _config,
    "OS::Heat::MultipartMime": _config,
    "OS::Heat::SoftwareDeployment": _plain("deploy_stdout", "deploy_stderr", "deploy_status_code"),
    "OS::Heat::WaitConditionHandle": _wait_handle,
    "OS::Heat::WaitCondition": _plain("data"),
    "OS::Heat::Value": _value,
    "OS::Heat::None": _plain(),
    "OS::Heat::TestResource": _value,
    "OS::Neutron::Net": _net,
    "OS::Neutron::Subnet": _subnet,
    "OS::Neutron::Port": _port,
    "OS::Neutron::Router": _plain("external_gateway_info", "name", "status"),
    "OS::Neutron::RouterInterface": _plain(),
    "OS::Neutron::RouterGateway": _plain(),
    "OS::Neutron::FloatingIP": _floating_ip,
    "OS::Neutron::FloatingIPAssociation": _plain(),
    "OS::Nova::FloatingIPAssociation": _plain(),
    "OS::Neutron::SecurityGroup": _plain("name"),
    "OS::Neutron::SecurityGroupRule": _plain(),
    "OS::Cinder::Volume": _plain("size", "status", "attachments"),
    "OS::Cinder::VolumeAttachment": _plain(),
}


def build(resource_type, props, ctx):
    """Build one resource: (reference, attributes, hidden). ``show`` is always
    available, as in Heat; what only the fake cloud needs (keys starting with
    an underscore) is kept apart, out of the attributes' reach."""
    reference, attrs = RESOURCE_TYPES[resource_type](props, ctx)
    hidden = {k[1:]: v for k, v in attrs.items() if k.startswith("_")}
    attrs = {k: v for k, v in attrs.items() if not k.startswith("_")}
    attrs["show"] = {k: v for k, v in attrs.items() if k != "private_key"}
    return reference, attrs, hidden
