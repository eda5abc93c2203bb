"""The fake cloud's HTTP side: one threaded server that answers as Keystone v3
(``/v3``), as Heat v1 (``/v1/<project_id>``) and, for tests and operators, with
an admin API (``/admin``) for faults, request counts and token revocation."""

import copy
import importlib.metadata
import json
import logging
import math
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from . import heat as heat_engine
from . import isolation, views
from .config import CloudConfig
from .errors import ApiError, bad_request, extract_bool, not_found
from .faults import FaultInjector, make_fault
from .heat import HeatEngine, query_value
from .keystone import Keystone
from .machines import MachineHost

log = logging.getLogger(__name__)

STACK_SUBPATHS = ("actions", "outputs", "events", "resources", "template", "environment", "files")


class CloudSim:
    """A fake OpenStack cloud (Keystone + Heat) served over real HTTP.

    ``start()`` serves from a background thread (port 0 picks a free port);
    ``serve_forever()`` serves in the calling thread.
    """

    def __init__(self, config=None, clock=time.time):
        self.config = config or CloudConfig()
        self.clock = clock
        self.faults = FaultInjector(self.config.seed)
        self.keystone = Keystone(self.config, clock, lambda: self.heat_url)
        self.heat = HeatEngine(self.config, clock, self.faults)
        self._counts = Counter()
        self._last_seen = {}
        self._counts_lock = threading.Lock()
        self.machines = MachineHost(self.heat, self.config, faults=self.faults) if self.config.machines else None
        self._server = ThreadingHTTPServer((self.config.host, self.config.port), _Handler)
        self._server.daemon_threads = True
        self._server.cloud = self
        # Only root makes machine users (isolation.py): elsewhere there are none to refuse.
        self._server.refuse_machines = isolation.available()
        self._thread = None

    # -- addresses ------------------------------------------------------------

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def base_url(self):
        host = self.config.host
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def auth_url(self):
        return f"{self.base_url}/v3"

    @property
    def heat_url(self):
        return f"{self.base_url}/v1/{self.config.project_id}"

    @property
    def ssh_port(self):
        """The port its machines answer SSH on (None without machines)."""
        return self.machines.ssh_port if self.machines is not None else None

    def provider_config(self):
        """The provider settings (keys as operators write them) for this cloud."""
        cfg = self.config
        extra = {"ssh_port": self.ssh_port} if self.ssh_port not in (None, 22) else {}
        return extra | {
            "type": "openstack",
            "os_auth_url": self.auth_url,
            "os_username": cfg.username,
            "os_password": cfg.password,
            "os_user_domain_name": cfg.domain_name,
            "os_project_name": cfg.project_name,
            "os_project_domain_name": cfg.domain_name,
            "os_region_name": cfg.region,
        }

    # -- running --------------------------------------------------------------

    def start(self):
        # A short poll interval makes stop() quick: a test suite starts hundreds.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="cloudsim", daemon=True)
        self._thread.start()
        if self.machines is not None:
            self.machines.start()
        return self

    def serve_forever(self):
        self._server.serve_forever()

    def stop(self):
        """Stop serving and close the socket; safe to call more than once."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        if self.machines is not None:
            self.machines.stop()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- counting -------------------------------------------------------------

    def count(self, kind):
        with self._counts_lock:
            self._counts[kind] += 1
            self._last_seen[kind] = time.time()

    def is_admin(self, headers):
        """Do these request headers carry the cloud's credentials?"""
        import base64
        import hmac

        token = headers.get("X-Auth-Token")
        if token:
            try:
                self.keystone.check_token(token)
                return True
            except ApiError:
                return False
        scheme, _, value = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return (hmac.compare_digest(user, self.config.username)
                and hmac.compare_digest(password.encode(), self.config.password.encode()))

    def last_request_at(self, kind):
        """When (``time.time()``) a request of ``kind`` last arrived, or None:
        what race harnesses compare their own timestamps with."""
        with self._counts_lock:
            return self._last_seen.get(kind)

    def request_counts(self):
        """Requests served so far, per kind (auth, create, show, suspend, ...)."""
        with self._counts_lock:
            return dict(self._counts)

    def reset_counts(self):
        with self._counts_lock:
            self._counts.clear()
            self._last_seen.clear()


# The largest request body taken (templates and their files included).
MAX_BODY = 4 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hastexo-lab-cloudsim"
    # Seconds a client may take to send a request (headers and body), or to
    # read an answer, before its connection is dropped.
    timeout = 30

    def setup(self):
        super().setup()
        # Replies go out in two writes (headers, body); without TCP_NODELAY a
        # keep-alive client waits for the delayed ACK (~40 ms) on every call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.from_machine = self.server.refuse_machines and isolation.from_machine(
            self.connection.getsockname(), self.client_address)

    def log_message(self, fmt, *args):
        log.debug("%s " + fmt, self.address_string(), *args)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    # -- plumbing -------------------------------------------------------------

    @property
    def cloud(self):
        return self.server.cloud

    def _dispatch(self, method):
        url = urlsplit(self.path)
        segments = [unquote(s) for s in url.path.split("/") if s]
        query = parse_qs(url.query)
        service = "heat" if segments[:1] == ["v1"] else "keystone"
        try:
            if self.from_machine:
                self.close_connection = True
                raise ApiError(403, "Forbidden", "The fake cloud does not answer its machines' shells.")
            raw = self._body()
            if segments[:1] == ["admin"]:
                self._check_admin(method)
                return self._reply(*_admin(self.cloud, method, segments[1:], _json(raw, heat=False)))
            kind, handler = _route(method, segments)
            if kind == "action":
                kind = _action_name(raw)
            if kind is not None:
                self.cloud.count(kind)
                fault = self.cloud.faults.for_request(kind)
                if fault is not None and fault.effect == "drop":
                    self.close_connection = True
                    return
                if fault is not None and fault.effect == "slow":
                    time.sleep(fault.delay)
                elif fault is not None:
                    raise ApiError(fault.status, "InjectedFault", fault.reason)
            result = handler(self, segments, query, raw)
            self._reply(*result)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout, usually); nobody is left to answer.
            self.close_connection = True
        except ApiError as err:
            body = err.heat_body() if service == "heat" else err.keystone_body()
            self._reply(err.status, body)
        except Exception:
            log.exception("cloudsim failed on %s %s", method, self.path)
            self._reply(500, ApiError(500, "InternalError", "Internal error in the fake cloud").heat_body())

    def _body(self):
        """The request body, bounded: a length that is missing means none, one
        that is not a number, negative or over MAX_BODY is refused."""
        text = self.headers.get("Content-Length") or "0"
        try:
            length = int(text)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise bad_request(f"Bad Content-Length header {text!r}", "HTTPBadRequest")
        if length > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, "RequestEntityTooLarge",
                           f"Request body of {length} bytes is over the limit of {MAX_BODY} bytes")
        return self.rfile.read(length)

    def _check_admin(self, method):
        """The admin API changes how the cloud behaves: only for the cloud's own
        user (a token, or HTTP basic with its name and password), never from
        another web page (an Origin that is not the cloud's; a body that is not JSON)."""
        origin = self.headers.get("Origin")
        if origin is not None and origin.rstrip("/") != self.cloud.base_url:
            raise ApiError(403, "Forbidden", "The admin API refuses cross-origin requests")
        if method in ("POST", "PUT") and (self.headers.get("Content-Type") or "").split(";")[0] != "application/json":
            raise ApiError(415, "UnsupportedMediaType", "The admin API takes application/json bodies only")
        if not self.cloud.is_admin(self.headers):
            raise ApiError(401, "Unauthorized", "The admin API needs the cloud's credentials "
                                                "(X-Auth-Token, or HTTP basic with its user name and password)")

    def _reply(self, status, body=None, headers=None):
        data = b"" if body is None else json.dumps(body, default=_jsonable).encode()
        for name, value in (headers or {}).items():
            if "\r" in str(value) or "\n" in str(value):
                raise ValueError(f"refusing a {name} header with a line break")
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def token(self, project_id=None):
        return self.cloud.keystone.check_token(self.headers.get("X-Auth-Token"), project_id)


def _jsonable(value):
    """What YAML can hold but JSON cannot (bytes, sets, dates), made JSON."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _finite(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def _no_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _json(raw, heat=True):
    """A JSON request body; Heat's 400s for one over max_json_body_size, one
    that is not JSON, or one with NaN or infinities."""
    if not raw:
        return {}
    if heat and len(raw) > heat_engine.MAX_JSON_BODY_SIZE:
        raise heat_engine.limit_exceeded(f"JSON body size ({len(raw)} bytes) exceeds maximum allowed size "
                                         f"({heat_engine.MAX_JSON_BODY_SIZE} bytes).")
    try:
        return json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except ValueError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}", "HTTPBadRequest")
    except RecursionError:
        raise bad_request("The request body is not valid JSON: it nests too deeply", "HTTPBadRequest")


def _action_name(raw):
    """Count and fault actions by what they do (suspend, resume) rather than as one kind."""
    try:
        body = json.loads(raw)
    except ValueError:
        return "action"
    if isinstance(body, dict) and len(body) == 1:
        return str(next(iter(body)))
    return "action"


def _route(method, segs):
    """(request kind, handler) for a path; raises 404/405 as Heat would."""
    if segs in ([], ["v3"]) and method == "GET":
        return "versions", _keystone_version
    if segs == ["v3", "auth", "tokens"]:
        if method == "POST":
            return "auth", _keystone_auth
        if method == "GET":
            return "auth", _keystone_validate
    if len(segs) >= 3 and segs[0] == "v1" and segs[2] == "stacks":
        return _heat_route(method, segs[3:])
    if len(segs) >= 3 and segs[0] == "v1":
        return _heat_top_route(method, segs[2:])
    raise not_found(f"The resource could not be found: {method} /{'/'.join(segs)}")


def _heat_top_route(method, rest):
    """/validate, /resource_types[/<type>[/template]], /template_versions[/<v>/functions]."""
    n = len(rest)
    if rest == ["validate"]:
        return ("validate", _heat_validate) if method == "POST" else _not_allowed(method)
    if rest == ["build_info"]:
        return ("versions", _heat_build_info) if method == "GET" else _not_allowed(method)
    if rest[0] == "resource_types" and n <= 3 and (n < 3 or rest[2] == "template"):
        return ("resource_types", _heat_resource_types) if method == "GET" else _not_allowed(method)
    if rest[0] == "template_versions" and (n == 1 or (n == 3 and rest[2] == "functions")):
        return ("template_versions", _heat_template_versions) if method == "GET" else _not_allowed(method)
    raise not_found(f"The resource could not be found: {method} /{'/'.join(rest)}")


def _heat_route(method, rest):
    n = len(rest)
    if n == 0:
        return {"GET": ("list", _heat_list), "POST": ("create", _heat_create)}.get(method) or _not_allowed(method)
    if rest == ["preview"] and method == "POST":
        return "create", _heat_preview
    if n == 1 or rest[1] in STACK_SUBPATHS:
        # By name (or id) alone: Heat answers with a redirect to name/id.
        if method == "GET" or (method in ("PUT", "PATCH") and n == 1):
            return "lookup", _heat_lookup
        if method == "DELETE" and n == 1:
            return "delete", _heat_delete
        if method == "POST" and n == 2 and rest[1] == "actions":
            return "action", _heat_action
        return _not_allowed(method)
    sub = rest[2] if n > 2 else None
    if sub == "resources" and n > 3:
        return _resource_route(method, rest[3:])
    if sub == "events" and n > 3 or sub in ("template", "environment", "files") and n > 3:
        raise not_found(f"The resource could not be found: {method} /{'/'.join(rest)}")
    table = {
        (None, "GET"): ("show", _heat_show),
        (None, "DELETE"): ("delete", _heat_delete),
        (None, "PUT"): ("update", _heat_update),
        (None, "PATCH"): ("update", _heat_update),
        ("actions", "POST"): ("action", _heat_action),
        ("outputs", "GET"): ("outputs", _heat_outputs),
        ("events", "GET"): ("events", _heat_events),
        ("resources", "GET"): ("resources", _heat_resources),
        ("template", "GET"): ("template", _heat_template),
        ("environment", "GET"): ("environment", _heat_environment),
        ("files", "GET"): ("template", _heat_files),
        ("preview", "PUT"): ("update", _heat_preview_update),
        ("preview", "PATCH"): ("update", _heat_preview_update),
        ("export", "GET"): ("show", _heat_abandon),
        ("abandon", "DELETE"): ("delete", _heat_abandon),
    }
    return table.get((sub, method)) or _not_allowed(method)


def _resource_route(method, rest):
    """.../resources/<name>[/metadata | /events[/<event id>]]."""
    n = len(rest)
    if n == 1:
        table = {"GET": ("resources", _heat_resource_show), "PATCH": ("resources", _heat_mark_unhealthy)}
        return table.get(method) or _not_allowed(method)
    if n == 2 and rest[1] == "signal":
        return ("resources", _heat_signal) if method == "POST" else _not_allowed(method)
    if n == 2 and rest[1] == "metadata":
        return ("resources", _heat_resource_metadata) if method == "GET" else _not_allowed(method)
    if rest[1] == "events" and n in (2, 3):
        return ("events", _heat_resource_events) if method == "GET" else _not_allowed(method)
    raise not_found(f"The resource could not be found: {method} /resources/{'/'.join(rest)}")


def _not_allowed(method):
    raise ApiError(405, "HTTPMethodNotAllowed", f"The method {method} is not allowed for this resource.")


# -- Keystone ------------------------------------------------------------------

def _keystone_version(h, segs, query, raw):
    if not segs:
        return 300, h.cloud.keystone.versions(h.cloud.base_url)
    return 200, h.cloud.keystone.version(h.cloud.base_url)


def _keystone_auth(h, segs, query, raw):
    token_id, body = h.cloud.keystone.authenticate(_json(raw))
    return 201, body, {"X-Subject-Token": token_id}


def _keystone_validate(h, segs, query, raw):
    h.token()
    subject = h.headers.get("X-Subject-Token")
    try:
        return 200, h.cloud.keystone.validate(subject), {"X-Subject-Token": subject}
    except ApiError as err:
        raise not_found(f"Could not find token: {subject}") from err


# -- Heat ----------------------------------------------------------------------

def _base(h, segs):
    return f"{h.cloud.base_url}/v1/{segs[1]}"


def _stack(h, segs):
    """The stack a /v1/<project>/stacks/<name>[/<id>]/... path names, token checked."""
    project = segs[1]
    h.token(project)
    rest = segs[3:]
    if len(rest) >= 2 and rest[1] not in STACK_SUBPATHS:
        return h.cloud.heat.get(project, rest[0], rest[1])
    return h.cloud.heat.find(project, rest[0])


def _heat_list(h, segs, query, raw):
    h.token(segs[1])
    stacks = h.cloud.heat.list(segs[1], query)
    return 200, {"stacks": [views.stack_body(s, _base(h, segs)) for s in stacks]}


def _heat_create(h, segs, query, raw):
    h.token(segs[1])
    stack = h.cloud.heat.create(segs[1], _json(raw))
    url = views.stack_url(_base(h, segs), stack)
    return 201, {"stack": {"id": stack.id, "links": [{"href": url, "rel": "self"}]}}, {"Location": url}


def _heat_preview(h, segs, query, raw):
    h.token(segs[1])
    stack = h.cloud.heat.preview_create(segs[1], _json(raw))
    return 200, {"stack": views.preview_body(stack, _base(h, segs))}


def _heat_preview_update(h, segs, query, raw):
    stack = _stack(h, segs)
    changes, plan = h.cloud.heat.preview_update(stack, _json(raw), patch=h.command == "PATCH")
    after = copy.copy(stack)
    after.resources, after.metadata, after.template = plan.resources, plan.metadata, plan.template.raw
    return 200, views.update_preview_body(stack, changes, after)


def _heat_abandon(h, segs, query, raw):
    """Abandon, and export (abandon's data without the abandoning): off in
    Heat's default configuration (enable_stack_abandon), so refused."""
    _stack(h, segs)
    raise bad_request("Stack Abandon is not supported.", "NotSupported")


def _heat_build_info(h, segs, query, raw):
    h.token(segs[1])
    try:
        revision = importlib.metadata.version("hastexo-lab-cloudsim")
    except importlib.metadata.PackageNotFoundError:
        revision = "unknown"  # what Heat says when none is configured
    return 200, {"api": {"revision": revision}, "engine": {"revision": revision}}


def _heat_lookup(h, segs, query, raw):
    stack = _stack(h, segs)
    location = views.stack_url(_base(h, segs), stack)
    if len(segs) > 4:
        location += "/" + "/".join(quote(s, safe="") for s in segs[4:])
    if query:
        location += "?" + urlencode(query, doseq=True)
    return 302, None, {"Location": location}


def _heat_show(h, segs, query, raw):
    stack = _stack(h, segs)
    resolve = extract_bool("resolve_outputs", query_value(query, "resolve_outputs") or "true")
    return 200, {"stack": views.stack_body(stack, _base(h, segs), full=True, resolve_outputs=resolve)}


def _heat_delete(h, segs, query, raw):
    h.cloud.heat.delete(_stack(h, segs))
    return 204, None


def _heat_action(h, segs, query, raw):
    body = _json(raw)
    if not isinstance(body, dict) or len(body) != 1:
        raise bad_request("Exactly one action must be given, e.g. {\"suspend\": null}", "HTTPBadRequest")
    h.cloud.heat.act(_stack(h, segs), next(iter(body)))
    return 200, None


def _heat_outputs(h, segs, query, raw):
    stack = _stack(h, segs)
    outputs = views.outputs(stack)
    if len(segs) > 6:
        key = segs[6]
        for out in outputs:
            if out["output_key"] == key:
                return 200, {"output": out}
        raise not_found(f"Specified output key {key} not found.", "NotFound")
    return 200, {"outputs": [{"output_key": o["output_key"], "description": o["description"]}
                             for o in outputs]}


def _heat_events(h, segs, query, raw):
    stack = _stack(h, segs)
    base = _base(h, segs)
    return 200, {"events": [views.event_body(e, stack, base) for e in h.cloud.heat.events(stack, query)]}


def _heat_resource_events(h, segs, query, raw):
    stack = _stack(h, segs)
    base = _base(h, segs)
    name = segs[6]
    if len(segs) == 9:
        return 200, {"event": views.event_body(h.cloud.heat.event(stack, name, segs[8]), stack, base)}
    events = h.cloud.heat.events(stack, query, resource_name=name)
    return 200, {"events": [views.event_body(e, stack, base) for e in events]}


def _heat_resources(h, segs, query, raw):
    stack = _stack(h, segs)
    names = h.cloud.heat.resource_names(stack, query)
    detail = extract_bool("with_detail", query_value(query, "with_detail") or "false")
    return 200, {"resources": views.resources_body(stack, _base(h, segs), names, detail)}


def _heat_resource_show(h, segs, query, raw):
    stack = _stack(h, segs)
    h.cloud.heat.resource(stack, segs[6])
    body = views.resource_body(stack, segs[6], _base(h, segs), detail=True, with_attr=query.get("with_attr") or ())
    return 200, {"resource": body}


def _heat_resource_metadata(h, segs, query, raw):
    stack = _stack(h, segs)
    h.cloud.heat.resource(stack, segs[6])
    return 200, {"metadata": stack.metadata.get(segs[6]) or {}}


def _heat_signal(h, segs, query, raw):
    stack = _stack(h, segs)
    details = _json(raw) if raw else None
    h.cloud.heat.signal(stack, segs[6], details)
    return 200, None


def _heat_mark_unhealthy(h, segs, query, raw):
    stack = _stack(h, segs)
    h.cloud.heat.mark_unhealthy(stack, segs[6], _json(raw))
    return 200, None


def _heat_update(h, segs, query, raw):
    stack = _stack(h, segs)
    h.cloud.heat.update(stack, _json(raw), patch=h.command == "PATCH")
    return 202, None


def _heat_validate(h, segs, query, raw):
    h.token(segs[1])
    if query_value(query, "show_nested") is not None:
        extract_bool("show_nested", query_value(query, "show_nested"))
    return 200, h.cloud.heat.validate(_json(raw))


def _heat_resource_types(h, segs, query, raw):
    h.token(segs[1])
    if len(segs) == 3:
        return 200, {"resource_types": h.cloud.heat.resource_types(query)}
    if len(segs) == 5:
        return 200, heat_engine.generate_template(segs[3], query_value(query, "template_type"))
    schema = dict(heat_engine.type_schema(segs[3]))
    if extract_bool("with_description", query_value(query, "with_description") or "false"):
        schema.setdefault("description", "")
    else:
        schema.pop("description", None)
    return 200, schema


def _heat_template_versions(h, segs, query, raw):
    h.token(segs[1])
    if len(segs) == 3:
        return 200, {"template_versions": heat_engine.template_versions()}
    with_condition = extract_bool("with_condition_func", query_value(query, "with_condition_func") or "false")
    return 200, {"template_functions": heat_engine.template_functions(segs[3], with_condition)}


def _heat_template(h, segs, query, raw):
    return 200, _stack(h, segs).template


def _heat_environment(h, segs, query, raw):
    return 200, _stack(h, segs).environment


def _heat_files(h, segs, query, raw):
    return 200, _stack(h, segs).files


# -- admin ---------------------------------------------------------------------

def _admin(cloud, method, segs, body):
    """The admin API: ``/admin/stats``, ``/admin/faults``, ``/admin/tokens/revoke``,
    ``/admin/durations``, ``/admin/machines``. Meant for a cloud bound to the
    loopback interface."""
    route = "/".join(segs)
    if route == "machines" and method == "GET":
        return 200, {"ssh_port": cloud.ssh_port, "machines": cloud.machines.describe() if cloud.machines else []}
    if route == "stats" and method == "GET":
        return 200, {"requests": cloud.request_counts(), "stacks": cloud.heat.stack_count()}
    if route == "stats" and method == "DELETE":
        cloud.reset_counts()
        return 204, None
    if route == "faults" and method == "GET":
        return 200, {"faults": cloud.faults.active()}
    if route == "faults" and method == "DELETE":
        cloud.faults.clear()
        return 204, None
    if route == "faults" and method == "POST":
        if not isinstance(body, dict):
            raise bad_request("A fault is a JSON object with op, effect and options.", "HTTPBadRequest")
        options = dict(body)
        try:
            fault = make_fault(str(options.pop("op", "")), str(options.pop("effect", "")), options)
        except ValueError as exc:
            raise bad_request(str(exc), "HTTPBadRequest")
        return 201, {"fault": cloud.faults.install(fault).as_dict()}
    if route == "tokens/revoke" and method == "POST":
        return 200, {"revoked": cloud.keystone.revoke_all()}
    if route == "durations" and method in ("GET", "PUT"):
        if method == "PUT":
            _set_durations(cloud.config.durations, body)
        return 200, {"durations": cloud.config.durations}
    raise not_found(f"No admin resource {method} /admin/{route}")


def _set_durations(durations, body):
    if not isinstance(body, dict):
        raise bad_request("Durations are a JSON object of operation: seconds.", "HTTPBadRequest")
    for op, seconds in body.items():
        if op not in durations:
            raise bad_request(f"Unknown operation {op!r}; use one of {', '.join(durations)}", "HTTPBadRequest")
        if not isinstance(seconds, (int, float)) or seconds < 0:
            raise bad_request(f"Duration of {op} must be a number of seconds >= 0", "HTTPBadRequest")
    durations.update(body)
