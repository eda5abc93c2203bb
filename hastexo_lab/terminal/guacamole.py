"""Apache Guacamole's encrypted JSON authentication (the guacamole-auth-json
extension), as its manual and source define it.

A blob is the JSON document, signed with HMAC-SHA256 under the shared key,
the 32-byte signature put before the JSON, the whole encrypted with
AES-128-CBC under the same key with a zero IV and PKCS#7 padding, then
standard base64 on one line. Guacamole takes it as the ``data`` parameter
(URL-encoded), refuses unknown properties, and honours ``expires``
(milliseconds since the epoch) and ``singleUse`` (one use per Guacamole
instance, until ``expires``).

Every connection parameter is a string; booleans are exactly ``"true"`` or
``"false"``.
"""

import base64
import hashlib
import hmac
import json
import re
import time
from urllib.parse import quote

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ZERO_IV = bytes(16)
# Default ports; VNC has none in guacd, so one is always sent.
DEFAULT_PORTS = {"ssh": 22, "rdp": 3389, "vnc": 5901}
RDP_SECURITY = ("any", "nla", "nla-ext", "tls", "vmconnect", "rdp")
RDP_RESIZE = ("display-update", "reconnect")


def parse_key(text):
    """The key's 16 bytes from its 32 hex digits; ValueError otherwise."""
    if not isinstance(text, str) or not re.fullmatch(r"[0-9A-Fa-f]{32}", text.strip()):
        raise ValueError("must be 32 hexadecimal digits (128 bits), e.g. the output of `openssl rand -hex 16`")
    return bytes.fromhex(text.strip())


def seal(document, key):
    """The blob Guacamole's JSON authentication accepts for ``document``."""
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    signed = hmac.new(key, body, hashlib.sha256).digest() + body
    padder = padding.PKCS7(128).padder()
    padded = padder.update(signed) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(ZERO_IV)).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def url_with_data(base_url, blob):
    """Guacamole's page with the blob as its ``data`` parameter (URL-encoded:
    an unencoded ``+`` would arrive as a space)."""
    return f"{base_url}{'&' if '?' in base_url else '?'}data={quote(blob, safe='')}"


def _flag(value):
    return "true" if value else "false"


def parameters(*, protocol, hostname, port, username, private_key="", password="", read_only=False,
               options=None):
    """guacd's parameters for one connection to a lab."""
    options = options or {}
    params = {"hostname": hostname, "port": str(port or DEFAULT_PORTS[protocol]), "username": username}
    if read_only:
        params["read-only"] = "true"
    if protocol == "ssh":
        if private_key:
            params["private-key"] = private_key.replace("\r\n", "\n")
        elif password:
            params["password"] = password
        for key in ("color-scheme", "font-name", "font-size"):
            if options.get(key):
                params[key] = str(options[key])
    else:
        if password:
            params["password"] = password
    if protocol == "rdp":
        params["security"] = options.get("security", "any")
        params["ignore-cert"] = _flag(options.get("ignore-cert", True))
        params["resize-method"] = options.get("resize-method", "display-update")
    if options.get("recording-path"):
        params["recording-path"] = options["recording-path"]
        params["create-recording-path"] = "true"
        params["recording-name"] = options.get("recording-name") or "${GUAC_USERNAME}-${GUAC_DATE}-${GUAC_TIME}"
    return params


def document(*, username, connection_name, protocol, params, lifetime, now=None):
    """The JSON document: one user, exactly one connection, single use, and
    expiring after ``lifetime`` seconds."""
    now = time.time() if now is None else now
    return {
        "username": username,
        "expires": int((now + lifetime) * 1000),
        "singleUse": True,
        "connections": {connection_name: {"protocol": protocol, "parameters": params}},
    }
