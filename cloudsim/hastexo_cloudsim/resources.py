"""Resource types the fake Heat knows, and the attributes each one yields.

A resource is "built" from its resolved properties: it gets a reference (what
``get_resource`` returns) and a dict of attributes (what ``get_attr`` reads).
Values are made up, but shaped like the real ones, and some are real: a key
pair with ``save_private_key`` carries a freshly generated OpenSSH private key.
"""

import secrets
import string
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from .errors import bad_request


class BuildContext:
    """What a resource may know about the stack it belongs to."""

    def __init__(self, stack_name, stack_id, stack_index, project_id=""):
        self.stack_name = stack_name
        self.stack_id = stack_id
        self.stack_index = stack_index
        self.project_id = project_id

    @property
    def floating_ip(self):
        """A loopback address unique to this stack (127.1.0.1, 127.1.0.2, ...).

        The last octet skips 0 and 255, so over 16 million stacks stay unique.
        """
        block, rest = divmod(self.stack_index, 254 * 256)
        return f"127.{1 + block % 254}.{rest // 254}.{rest % 254 + 1}"

    @property
    def fixed_ip(self):
        return "192.168.122.10"


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
    for i, net in enumerate(props.get("networks") or []):
        label = (net.get("network") or net.get("port") or f"net{i}") if isinstance(net, dict) else str(net)
        networks[str(label)] = [f"192.168.122.{10 + i}"]
    first = next(iter(networks.values()), [ctx.fixed_ip])[0]
    addresses = {k: [{"addr": v[0], "version": 4, "OS-EXT-IPS:type": "fixed"}] for k, v in networks.items()}
    return _uuid(props, ctx), {
        "name": name, "first_address": first, "networks": networks, "addresses": addresses,
        "accessIPv4": "", "accessIPv6": "", "instance_name": f"instance-{ctx.stack_index:08x}",
        "console_urls": {},
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
    cidr = props.get("cidr") or "192.168.122.0/24"
    return _uuid(props, ctx), {"cidr": cidr, "gateway_ip": props.get("gateway_ip") or "192.168.122.1",
                               "name": props.get("name") or "subnet", "network_id": props.get("network")}


def _port(props, ctx):
    return _uuid(props, ctx), {"fixed_ips": [{"ip_address": ctx.fixed_ip, "subnet_id": None}],
                               "mac_address": "fa:16:3e:00:00:01", "name": props.get("name") or "",
                               "status": "ACTIVE"}


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
    """Build one resource; ``show`` is always available, as in Heat."""
    reference, attrs = RESOURCE_TYPES[resource_type](props, ctx)
    attrs = dict(attrs)
    attrs["show"] = {k: v for k, v in attrs.items() if k != "private_key"}
    return reference, attrs
