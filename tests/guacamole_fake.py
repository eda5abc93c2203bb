"""A stand-in for Guacamole's JSON authentication, written from its manual and
the extension's documented behaviour (not from the block's code): it checks a
blob as strictly as the extension does, and serves a page and an api/tokens
endpoint as the web application would, showing what it would connect to
(never a secret)."""

import base64
import binascii
import hashlib
import hmac
import html
import json
import re
import secrets
import time
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOP_LEVEL = {"username", "expires", "singleUse", "connections"}
CONNECTION = {"protocol", "parameters", "id", "join", "singleUse"}


class Refused(Exception):
    """What Guacamole would answer with 403 "Permission denied."; the reason
    is what it would log."""


def strict_base64(text):
    """Standard alphabet only, no whitespace; trailing '=' optional."""
    if not re.fullmatch(r"[A-Za-z0-9+/]*=*", text):
        raise Refused("not base64 (standard alphabet, one line)")
    stripped = text.rstrip("=")
    if len(stripped) % 4 == 1:
        raise Refused("bad base64 length")
    try:
        return base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)
    except binascii.Error as exc:
        raise Refused(f"bad base64: {exc}") from None


def open_blob(blob, key_hex, now_ms=None, used=None):
    """The JSON document inside ``blob``, verified; Refused otherwise."""
    key = bytes.fromhex(key_hex)
    raw = strict_base64(blob)
    if not raw or len(raw) % 16:
        raise Refused("Decryption of received data failed")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(plain) + unpadder.finalize()
    except ValueError:
        raise Refused("Decryption of received data failed") from None
    if len(plain) <= 32:
        raise Refused("Submitted data is too small to contain both a signature and JSON")
    signature, body = plain[:32], plain[32:]
    if not hmac.compare_digest(signature, hmac.new(key, body, hashlib.sha256).digest()):
        raise Refused("Signature of submitted data is incorrect")
    try:
        doc = json.loads(body.decode("utf-8"))
    except ValueError:
        raise Refused("Received JSON is invalid") from None
    _check_shape(doc)
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    expires = doc.get("expires")
    if expires is not None and now_ms > int(expires):
        raise Refused("expired")
    if doc.get("singleUse"):
        if expires is None:
            raise Refused("An expiration timestamp MUST be provided for single-use data")
        if used is not None:
            if signature in used:
                raise Refused("single-use data used already")
            used.add(signature)
    return doc


def _check_shape(doc):
    if not isinstance(doc, dict) or set(doc) - TOP_LEVEL:
        raise Refused(f"Received JSON is invalid (unknown properties {sorted(set(doc) - TOP_LEVEL)})")
    if not isinstance(doc.get("username", ""), str) or not isinstance(doc.get("singleUse", False), bool):
        raise Refused("Received JSON is invalid (types)")
    if "expires" in doc and not isinstance(doc["expires"], int):
        raise Refused("Received JSON is invalid (expires)")
    connections = doc.get("connections", {})
    if not isinstance(connections, dict):
        raise Refused("Received JSON is invalid (connections)")
    for connection in connections.values():
        if not isinstance(connection, dict) or set(connection) - CONNECTION:
            raise Refused("Received JSON is invalid (connection)")
        params = connection.get("parameters", {})
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise Refused("Received JSON is invalid (parameters must be strings)")


class FakeGuacamole:
    """ASGI: ``GET <root>?data=`` and ``POST <root>api/tokens`` verify the blob;
    ``GET <root>?token=`` opens a session made by the latter."""

    def __init__(self, key_hex, root="/guacamole/"):
        self.key_hex, self.root = key_hex, root
        self.used = set()
        self.sessions = {}
        self.seen = []  # every document accepted

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = parse_qs(scope.get("query_string", b"").decode(), keep_blank_values=True)
        path = scope["path"]
        if path == self.root + "api/tokens" and scope["method"] == "POST":
            form = parse_qs(body.decode(), keep_blank_values=True)
            try:
                doc = self._accept(form.get("data", [""])[0])
            except Refused as exc:
                return await _reply(send, 403, json.dumps({"message": "Permission denied.", "why": str(exc)}),
                                    "application/json")
            token = secrets.token_hex(16)
            self.sessions[token] = doc
            return await _reply(send, 200, json.dumps({"authToken": token, "dataSource": "json"}),
                                "application/json")
        if path == self.root:
            if "token" in query:
                doc = self.sessions.get(query["token"][0])
                if doc is None:
                    return await _reply(send, 403, "Permission denied.")
                return await _reply(send, 200, _page(doc), "text/html")
            try:
                doc = self._accept(query.get("data", [""])[0])
            except Refused as exc:
                return await _reply(send, 403, f"Permission denied. ({html.escape(str(exc))})")
            return await _reply(send, 200, _page(doc), "text/html")
        return await _reply(send, 404, "Not found")

    def _accept(self, blob):
        doc = open_blob(blob, self.key_hex, used=self.used)
        self.seen.append(doc)
        return doc


def _page(doc):
    (name, connection), = doc["connections"].items()
    p = connection["parameters"]
    target = (f"{connection['protocol']}://{p.get('username')}@{p.get('hostname')}:{p.get('port')}"
              f"{' read-only' if p.get('read-only') == 'true' else ''}")
    return (f"<!doctype html><title>Guacamole stand-in</title><p class='user'>{html.escape(doc['username'])}</p>"
            f"<p class='connection' data-name='{html.escape(name)}'>{html.escape(target)}</p>")


async def _reply(send, status, text, content_type="text/plain"):
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", f"{content_type}; charset=utf-8".encode())]})
    await send({"type": "http.response.body", "body": body})
