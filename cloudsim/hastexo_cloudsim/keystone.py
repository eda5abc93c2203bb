"""A small Keystone v3: password and token authentication, tokens that expire,
and a service catalog with one orchestration endpoint."""

import hmac
import secrets
import threading
from datetime import UTC, datetime

from .errors import ApiError, bad_request, unauthorized


def isotime(ts):
    """Keystone's timestamp format (UTC, microseconds, trailing Z)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Token:
    __slots__ = ("id", "issued", "expires", "methods", "scoped")

    def __init__(self, token_id, issued, expires, methods, scoped):
        self.id = token_id
        self.issued = issued
        self.expires = expires
        self.methods = methods
        self.scoped = scoped


class Keystone:
    """Issues and checks tokens for the single user and project of a fake cloud."""

    def __init__(self, config, clock, heat_url):
        self.config = config
        self.clock = clock
        self._heat_url = heat_url
        self._tokens = {}
        self._lock = threading.Lock()

    # -- requests -------------------------------------------------------------

    def version(self, base_url):
        return {
            "version": {
                "id": "v3.14",
                "status": "stable",
                "updated": "2020-04-07T00:00:00Z",
                "links": [{"rel": "self", "href": f"{base_url}/v3/"}],
                "media-types": [
                    {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
                ],
            }
        }

    def versions(self, base_url):
        return {"versions": {"values": [self.version(base_url)["version"]]}}

    def authenticate(self, body):
        """Handle ``POST /v3/auth/tokens``; returns (token id, response body)."""
        auth = body.get("auth") if isinstance(body, dict) else None
        if not isinstance(auth, dict) or not isinstance(auth.get("identity"), dict):
            raise bad_request("Expecting to find identity in auth.", "ValidationError")
        identity = auth["identity"]
        methods = identity.get("methods")
        if not isinstance(methods, list) or not methods:
            raise bad_request("Expecting to find methods in identity: a list of method names, "
                              'e.g. ["password"].', "ValidationError")
        for method in methods:
            if not isinstance(method, str):
                raise bad_request(f"An authentication method is a name (a string), not {_kind(method)}.",
                                  "ValidationError")
            if method == "password":
                self._check_password(identity.get("password"))
            elif method == "token":
                token = identity.get("token")
                if not isinstance(token, dict) or not isinstance(token.get("id"), str):
                    raise bad_request('Expecting to find id in token: "token" must be an object '
                                      'like {"id": "..."}.', "ValidationError")
                self.check_token(token["id"])
            else:
                raise unauthorized(f"Unsupported authentication method: {method}")
        scoped = self._check_scope(auth.get("scope"))
        now = self.clock()
        token = Token(secrets.token_hex(16), now, now + self.config.token_ttl, methods, scoped)
        with self._lock:
            self._purge(now)
            self._tokens[token.id] = token
        return token.id, {"token": self._token_body(token)}

    def validate(self, token_id):
        """Handle ``GET /v3/auth/tokens`` (the subject token's details)."""
        return {"token": self._token_body(self.check_token(token_id))}

    def check_token(self, token_id, project_id=None):
        """Return the token if it is known, unexpired and (if asked) scoped to project_id."""
        with self._lock:
            token = self._tokens.get(token_id) if isinstance(token_id, str) else None
        if token is None or token.expires <= self.clock():
            raise unauthorized("The request you have made requires authentication.")
        if project_id is not None and (not token.scoped or project_id != self.config.project_id):
            raise ApiError(403, "Forbidden", "You are not authorized to perform the requested action.")
        return token

    def revoke_all(self):
        """Forget every token, as a Keystone restart with new keys would."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
        return count

    # -- helpers --------------------------------------------------------------

    def _purge(self, now):
        expired = [tid for tid, tok in self._tokens.items() if tok.expires <= now]
        for tid in expired:
            del self._tokens[tid]

    def _domain_matches(self, ref):
        if not isinstance(ref, dict):
            return False
        cfg = self.config
        if "id" in ref:
            return ref["id"] == cfg.domain_id
        return ref.get("name") == cfg.domain_name

    def _check_password(self, password):
        cfg = self.config
        user = (password or {}).get("user") if isinstance(password, dict) else None
        if not isinstance(user, dict):
            raise bad_request("Expecting to find user in password.", "ValidationError")
        for key in ("id", "name", "password"):
            if key in user and not isinstance(user[key], str):
                raise bad_request(f"The user's {key} must be a string, not {_kind(user[key])}.", "ValidationError")
        if "id" in user:
            user_ok = user["id"] == cfg.user_id
        else:
            user_ok = user.get("name") == cfg.username and self._domain_matches(user.get("domain"))
        if not user_ok or not hmac.compare_digest(str(user.get("password")).encode(), cfg.password.encode()):
            raise unauthorized("The request you have made requires authentication.")

    def _check_scope(self, scope):
        if scope is None:
            return False
        project = scope.get("project") if isinstance(scope, dict) else None
        if not isinstance(project, dict):
            raise unauthorized("Only project scope is supported by this cloud.")
        cfg = self.config
        if "id" in project:
            ok = project["id"] == cfg.project_id
        else:
            ok = project.get("name") == cfg.project_name and self._domain_matches(project.get("domain"))
        if not ok:
            raise unauthorized(f"No project matches {project!r} for user {cfg.username}.")
        return True

    def _token_body(self, token):
        cfg = self.config
        domain = {"id": cfg.domain_id, "name": cfg.domain_name}
        body = {
            "methods": token.methods,
            "user": {"id": cfg.user_id, "name": cfg.username, "domain": domain,
                     "password_expires_at": None},
            "audit_ids": [token.id[:22]],
            "issued_at": isotime(token.issued),
            "expires_at": isotime(token.expires),
        }
        if token.scoped:
            body["project"] = {"id": cfg.project_id, "name": cfg.project_name, "domain": domain}
            body["is_domain"] = False
            body["roles"] = [{"id": "9fe2ff9ee4384b1894a90878d3e92bab", "name": "member"}]
            body["catalog"] = [{
                "id": "3b1e8a6f0c2d4e5f8a7b6c5d4e3f2a1b",
                "type": "orchestration",
                "name": "heat",
                "endpoints": [
                    {"id": f"ep-{interface}", "interface": interface, "region": cfg.region,
                     "region_id": cfg.region, "url": self._heat_url()}
                    for interface in ("public", "internal", "admin")
                ],
            }]
        return body


def _kind(value):
    """What a JSON value is, for an error message."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number")
