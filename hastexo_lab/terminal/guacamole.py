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


class GuacamoleUnavailable(Exception):
    """Guacamole did not take the blob (token exchange mode)."""


def options_from(settings):
    """guacd's optional parameters, from the settings."""
    return {"color-scheme": settings.terminal_color_scheme, "font-name": settings.terminal_font_name,
            "font-size": settings.terminal_font_size or "", "security": settings.guacamole_rdp_security,
            "resize-method": settings.guacamole_rdp_resize_method,
            "ignore-cert": settings.guacamole_rdp_ignore_cert,
            "recording-path": settings.guacamole_recording_path,
            "recording-name": settings.guacamole_recording_name}


def open_url(settings, stack, *, learner_id, username, port, protocol, read_only, connection_name, now=None):
    """The iframe's address that opens exactly this connection to ``stack``
    (server side: it reads the stack's secrets). A fresh blob every time,
    so that a reconnect after a resume or a reset opens the lab as it is now.

    With ``guacamole_api_url``, the blob goes to Guacamole from here (a
    form POST to its ``api/tokens``) and the iframe gets only the session's
    token, which also replaces any older Guacamole session of the browser
    (which would otherwise win over a new ``data``)."""
    from .. import clouds
    secrets = stack.secrets()
    params = parameters(protocol=protocol, hostname=stack.ip, port=clouds.lab_port(stack, port), username=username,
                        private_key=secrets["private_key"], password=secrets["password"], read_only=read_only,
                        options=options_from(settings))
    doc = document(username=learner_id, connection_name=connection_name, protocol=protocol, params=params,
                   lifetime=settings.guacamole_blob_ttl, now=now)
    blob = seal(doc, parse_key(settings.guacamole_secret_key))
    if not settings.guacamole_api_url:
        return url_with_data(settings.guacamole_url, blob)
    token = exchange(settings.guacamole_api_url, blob)
    return f"{settings.guacamole_url}{'&' if '?' in settings.guacamole_url else '?'}token={quote(token, safe='')}"


def exchange(api_url, blob, timeout=5.0):
    """Guacamole's session token for the blob (POST api/tokens, form-encoded)."""
    import requests
    url = api_url.rstrip("/") + "/api/tokens"
    try:
        reply = requests.post(url, data={"data": blob}, timeout=timeout)
    except requests.RequestException as exc:
        raise GuacamoleUnavailable(f"Guacamole at {api_url} does not answer ({exc.__class__.__name__})") from None
    if reply.status_code != 200:
        raise GuacamoleUnavailable(f"Guacamole at {api_url} refused the connection data (HTTP {reply.status_code})")
    try:
        return reply.json()["authToken"]
    except (ValueError, KeyError, TypeError):
        raise GuacamoleUnavailable(f"Guacamole at {api_url} gave no authToken") from None
