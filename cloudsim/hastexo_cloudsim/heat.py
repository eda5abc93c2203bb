"""The fake Heat engine: stacks, their state machine, and their events.

Time is evaluated lazily: an operation records when it started and when it
will end, and every read first advances the stack to the present. No thread
runs in the background, and tests can drive the whole thing with a fake clock.

Templates are parsed, checked against Heat's limits and built *outside* the
engine's lock: one slow or hostile template never stalls the other clients.
"""

import copy
import itertools
import re
import secrets
import threading
import uuid

import yaml

from . import hot, schemas, signals, stack_actions
from .errors import ApiError, bad_request, conflict, extract_bool, extract_int, int_like, not_found
from .hot import Resolver, Template, parse_environment
from .keystone import isotime
from .registry import Registry
from .resources import BuildContext, register

# fullmatch: "$" would also match before a trailing newline.
NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9_.-]{0,254}")

# Heat's own limits (heat.common.config), with its defaults.
MAX_TEMPLATE_SIZE = 524288
MAX_RESOURCES_PER_STACK = 1000
MAX_NESTED_STACK_DEPTH = 5
MAX_STACKS_PER_TENANT = 512
MAX_JSON_BODY_SIZE = 1048576
# Not Heat's: bounds on what one YAML or JSON document may expand to (YAML
# aliases make a few hundred bytes describe billions of nodes) and how deep it
# may nest, so that a hostile template is refused at once.
MAX_DOCUMENT_NODES = 262144
MAX_DOCUMENT_DEPTH = 200
# Heat keeps timeout_mins in a 32-bit integer column.
MAX_TIMEOUT_MINS = 2 ** 31 - 1

# Which states an action may start from (suspend and resume: stack_actions).
ACTION_FROM = {
    **stack_actions.STARTS_FROM,
    # Heat's stack check: every resource checked (CHECK_COMPLETE), a mark of
    # unhealthy cleared. Here only of a stack that is up (its machines stay
    # so): not suspended, and not one whose create failed.
    "check": {"CREATE_COMPLETE", "UPDATE_COMPLETE", "RESUME_COMPLETE", "CHECK_COMPLETE", "CHECK_FAILED",
              "UPDATE_FAILED"},
}

# Keys of a create or update body that are not "args" (Heat's InstantiationData.PARAMS).
BODY_KEYS = ("stack_name", "template", "template_url", "parameters", "environment", "files",
             "environment_files", "files_container")
SUPPORT_STATUSES = ("UNKNOWN", "SUPPORTED", "DEPRECATED", "UNSUPPORTED", "HIDDEN")
# Heat's release code names for HOT versions (its template version aliases).
VERSION_ALIASES = {"newton": "2016-10-14", "ocata": "2017-02-24", "pike": "2017-09-01", "queens": "2018-03-02",
                   "rocky": "2018-08-31", "wallaby": "2021-04-16"}


def limit_exceeded(message):
    """Heat's RequestLimitExceeded: a 400."""
    return bad_request(f"Request limit exceeded: {message}", "RequestLimitExceeded")


def query_value(query, name):
    """The single value of a query parameter (the last one given), or None."""
    values = query.get(name)
    return values[-1] if values else None


# -- documents: bounded parsing -------------------------------------------------

class _BoundedLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """hot.py's YAML dialect (dates stay strings), on libyaml where available."""


_BoundedLoader.yaml_implicit_resolvers = hot._Loader.yaml_implicit_resolvers


def _too_big(what, why):
    return bad_request(f"Error parsing {what}: {why}", "InvalidTemplate")


def _check_nodes(root, what):
    """Count what a composed YAML node graph expands to (an alias counts as
    its whole target, every time), without expanding it."""
    sizes = {}
    stack = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        if depth > MAX_DOCUMENT_DEPTH:
            raise _too_big(what, f"it nests deeper than {MAX_DOCUMENT_DEPTH} levels")
        key = id(node)
        if key in sizes and not done:
            continue
        children = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        if not done:
            sizes[key] = None  # being counted; a cycle cannot be built by the composer
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(child)) or 0 for child in children)
        if total > MAX_DOCUMENT_NODES:
            raise _too_big(what, f"it expands to more than {MAX_DOCUMENT_NODES} nodes (YAML aliases?)")
        sizes[key] = total


def _check_object(data, what):
    """The same bounds for a document that came as JSON (a dict already)."""
    count = 0
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_DOCUMENT_NODES:
            raise _too_big(what, f"it has more than {MAX_DOCUMENT_NODES} nodes")
        if depth > MAX_DOCUMENT_DEPTH:
            raise _too_big(what, f"it nests deeper than {MAX_DOCUMENT_DEPTH} levels")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def load_document(source, what):
    """A template or environment (YAML or JSON text, or a mapping) as a dict,
    within the bounds above; errors are hot.py's (and so Heat's) 400s."""
    if isinstance(source, dict):
        _check_object(source, what)
        return source
    if not isinstance(source, str):
        return hot.load_yaml(source, what)  # its own 400 for what is not text
    loader = _BoundedLoader(source)
    try:
        node = loader.get_single_node()
        if node is None:
            return hot.load_yaml(source, what)
        _check_nodes(node, what)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own bound, far past ours
            raise _too_big(what, f"it nests deeper than {MAX_DOCUMENT_DEPTH} levels")
        # The pure-Python parser words the error as hot.py (and Heat) do.
        return hot.load_yaml(source, what)
    except RecursionError:
        raise _too_big(what, f"it nests deeper than {MAX_DOCUMENT_DEPTH} levels")
    finally:
        loader.dispose()
    return hot.load_yaml(data, what) if isinstance(data, dict) else hot.load_yaml(source, what)


def check_template_size(source):
    """Heat's max_template_size, measured as Heat measures it (the text, or
    the str() of a mapping)."""
    size = len(source) if isinstance(source, str) else len(str(source))
    if size > MAX_TEMPLATE_SIZE:
        raise limit_exceeded(f"Template size ({size} bytes) exceeds maximum allowed size "
                             f"({MAX_TEMPLATE_SIZE} bytes).")


def _nested_types(tmpl, env):
    """Resource types of a template that name another template (Heat's
    template resources): a file of the request, directly or through the
    environment's resource_registry."""
    registry = Registry((env or {}).get("resource_registry"))
    resources = (tmpl.get("resources") if isinstance(tmpl, dict) else None) or {}
    return [registry.target(decl["type"], name) for name, decl in resources.items()
            if isinstance(decl, dict) and isinstance(decl.get("type"), str)]


def check_nesting(tmpl, env, files):
    """Heat's max_nested_stack_depth, for templates that use the request's files
    as nested stacks (directly or through the resource_registry); each nested
    template is bounded as a template is, and parsed once however often used."""
    heights = {}

    def height(name, active):
        if name in heights:
            return heights[name]
        if name in active or len(active) >= MAX_NESTED_STACK_DEPTH:
            raise limit_exceeded(f"Recursion depth exceeds {MAX_NESTED_STACK_DEPTH}.")
        check_template_size(files[name])
        child = load_document(files[name], "template")
        heights[name] = 1 + max((height(t, active | {name}) for t in _nested_types(child, env)
                                 if isinstance(files.get(t), str)), default=0)
        return heights[name]

    for rtype in _nested_types(tmpl, env):
        if isinstance(files.get(rtype), str) and height(rtype, frozenset()) > MAX_NESTED_STACK_DEPTH:
            raise limit_exceeded(f"Recursion depth exceeds {MAX_NESTED_STACK_DEPTH}.")


# -- a request's template, environment, files and parameters ---------------------

class Plan:
    """A create, update or validate request, parsed and checked, built with
    the stack's resources; made without the engine's lock."""

    def __init__(self, template, environment, files, given):
        self.template = template
        self.environment = environment
        self.files = files
        self.given = given  # the parameters of the request (and environment)
        self.params = {}
        self.resources = {}
        self.outputs = []
        self.metadata = {}
        # Resources of the stack it updates that it leaves as they are: their
        # metadata (a wait handle's signals) is kept too.
        self.kept = ()


def _mapping(body, key, what):
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request(f'"{key}" must be a mapping of {what}, not {type(value).__name__}.', "HTTPBadRequest")
    return value


def read_files(body):
    files = _mapping(body, "files", "names to contents")
    for name, content in files.items():
        if not isinstance(content, str):
            raise bad_request(f'The content of file "{name}" in "files" must be a string.', "HTTPBadRequest")
    return files


def read_template(source, environment, files):
    """Parse and check a template as Heat does before it builds anything."""
    check_template_size(source)
    raw = load_document(source, "template")
    check_nesting(raw, environment, files)
    try:
        template = Template(raw, (environment or {}).get("resource_registry"), files)
    except RecursionError:
        raise _too_big("template", f"it nests deeper than {MAX_DOCUMENT_DEPTH} levels")
    if len(template.resources) > MAX_RESOURCES_PER_STACK:
        raise limit_exceeded("Maximum resources per stack exceeded.")
    return template


def read_environment(source):
    if isinstance(source, str):
        source = load_document(source, "environment")
    elif isinstance(source, dict):
        _check_object(source, "environment")
    return parse_environment(source)


def read_args(body):
    """timeout_mins, disable_rollback and tags as Heat's prepare_args and
    extract_args read them: 400 for what Heat refuses."""
    args = {}
    if "timeout_mins" in body and body["timeout_mins"] is not None:
        value = body["timeout_mins"]
        if isinstance(value, bool) or not int_like(value):
            raise bad_request(f"Invalid timeout value {value!r}: only integer is acceptable by 'timeout_mins'.",
                              "HTTPBadRequest")
        minutes = int(value)
        if minutes < 0 or minutes > MAX_TIMEOUT_MINS:
            raise bad_request(f"Invalid timeout value {value!r}: it must be 0 (none) to {MAX_TIMEOUT_MINS} "
                              "minutes.", "HTTPBadRequest")
        args["timeout_mins"] = minutes or None
    if "disable_rollback" in body and body["disable_rollback"] is not None:
        args["disable_rollback"] = extract_bool("disable_rollback", body["disable_rollback"])
    if "tags" in body and body["tags"] is not None:
        tags = body["tags"]
        if isinstance(tags, str):
            tags = tags.split(",") if tags else []
        if not isinstance(tags, list):
            raise bad_request(f"Invalid tags, not a list: {tags}", "HTTPBadRequest")
        for tag in tags:
            if not isinstance(tag, str):
                raise bad_request(f'Invalid tag, "{tag}" is not a string', "HTTPBadRequest")
            if len(tag) > 80:
                raise bad_request(f'Invalid tag, "{tag}" is longer than 80 characters', "HTTPBadRequest")
        args["tags"] = tags
    return args


def _references(node, kind):
    """Names a template snippet refers to: "param" (get_param), "resource"
    (get_resource, get_attr) or "file" (get_file)."""
    found = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if len(item) == 1:
                (fn, arg), = item.items()
                target = arg[0] if isinstance(arg, list) and arg else arg
                if isinstance(target, str) and (
                        (kind == "param" and fn == "get_param")
                        or (kind == "resource" and fn in ("get_resource", "get_attr"))
                        or (kind == "file" and fn == "get_file")):
                    found.add(target)
            stack.extend(item.values())
    return found


def dependencies(decl):
    """The resources one resource declaration needs (references and depends_on)."""
    deps = _references({k: v for k, v in decl.items() if k != "depends_on"}, "resource")
    extra = decl.get("depends_on")
    deps |= {d for d in (extra if isinstance(extra, list) else [extra]) if isinstance(d, str)}
    return deps


class FakeStack:
    def __init__(self, name, project_id, index, now):
        self.id = str(uuid.uuid4())
        self.name = name
        self.project_id = project_id
        self.index = index
        self.created = now
        self.updated = None
        self.deleted_at = None
        self.action, self.status, self.reason = "CREATE", "IN_PROGRESS", "Stack CREATE started"
        self.operation = None
        self.events = []
        self.template = {}
        self.environment = {}
        self.files = {}
        self.parameters = {}
        self.given = {}
        self.hidden = set()
        self.timeout_mins = None
        self.disable_rollback = True
        self.description = ""
        self.resources = {}
        self.metadata = {}
        # name -> [action, status, reason, since] of each resource
        self.resource_states = {}
        self.outputs = []
        self.tags = None
        # When the last operation ended; whether it has machines (the machine
        # host says so), which keep a deleted stack known until they are gone.
        self.settled_at = now
        self.had_machines = False
        # Counts the changes of what the stack is built of (for the machines).
        self.generation = 0
        # Scaling group -> when its cooldown ends (the latest any resize set).
        self.cooldown_end = {}
        # A create a refused suspend left running, and the machines' state a
        # refused action kept (stack_actions).
        self.background = None
        self.kept_machines = None

    @property
    def state(self):
        return f"{self.action}_{self.status}"

    @property
    def identifier(self):
        return f"{self.name}/{self.id}"

    def apply(self, plan):
        self.template = plan.template.raw
        self.description = plan.template.description
        self.environment = plan.environment
        self.files = plan.files
        self.parameters = plan.params
        self.given = plan.given
        self.hidden = {k for k, d in plan.template.parameters.items() if d.get("hidden")}
        self.resources = plan.resources
        self.outputs = plan.outputs
        self.metadata = {**plan.metadata, **{n: self.metadata[n] for n in plan.kept if n in self.metadata}}
        self.generation += 1

    def resource_state(self, name):
        """(action, status, reason, since) of one resource: its own, once an
        operation has touched it, else the stack's."""
        state = self.resource_states.get(name)
        if state is None:
            return self.action, self.status, "state changed", self.updated or self.created
        return tuple(state)

    def required_by(self, name):
        decls = (self.template.get("resources") or {}) if isinstance(self.template, dict) else {}
        return sorted(other for other, decl in decls.items()
                      if isinstance(decl, dict) and name in dependencies(decl))


class Operation:
    __slots__ = ("action", "started", "ends", "failed", "reason", "plan", "changes")

    def __init__(self, action, started, ends, failed, reason, plan=None, changes=None):
        self.action = action  # CREATE, UPDATE, SUSPEND, RESUME, DELETE
        self.started = started
        self.ends = ends  # None: never (a hang)
        self.failed = failed
        self.reason = reason
        self.plan = plan  # UPDATE: what the stack becomes
        self.changes = changes  # [(resource name, action)] that the operation touches


# From a random start in each process: the fake clouds of several processes
# on one computer (a test run, the demo, a benchmark) rarely give two stacks
# the same floating IP, where only one of their machines could listen.
_STACK_NUMBERS = itertools.count(1 + secrets.randbelow(254 * 256 * 254))
# How long a deleted stack can still be shown (DELETE_COMPLETE) by its id;
# then it is forgotten, and its memory freed.
DELETED_RETENTION = 60.0


class HeatEngine:
    """All stacks of one fake cloud, with the rules Heat applies to them."""

    def __init__(self, config, clock, faults):
        self.config = config
        self.clock = clock
        self.faults = faults
        self.max_stacks_per_tenant = MAX_STACKS_PER_TENANT
        self._stacks = {}  # id -> FakeStack, deleted ones included
        self._by_name = {}  # (project, name) -> live FakeStack
        self._lock = threading.RLock()
        # Shared by every cloud of the process: stack numbers (and so the
        # stacks' loopback addresses, where their machines listen) never repeat.
        self._index = _STACK_NUMBERS
        self._event_ids = itertools.count(1)

    # -- planning (no lock) -----------------------------------------------------

    def _plan(self, template_source, environment, files, given):
        given = _check_given(given)
        template = read_template(template_source, environment, files)
        plan = Plan(template, environment, files, given)
        plan.params = template.resolve_parameters(plan.given, environment)
        return plan

    def _build(self, plan, name, stack_id, index, project_id, keep=None, resize=None, updating=None):
        """Build every resource (which checks every reference, as Heat's
        validation does), its outputs and metadata; ``keep``: resources of
        the stack being updated that do not change; ``updating``: those that
        may change (one updated in place stays itself: its id, its machine);
        ``resize``: (scaling group, new size, its members until now)."""
        ctx = BuildContext(name, stack_id, index, project_id)
        resolver = Resolver(plan.template, plan.params, plan.files, ctx)
        resolver.updating = dict(updating or {})
        if resize is not None:
            group, size, previous = resize
            resolver.sizes[group], resolver.previous[group] = size, previous
        enabled = getattr(resolver, "definitions", plan.template.resources)
        for res_name, built in (keep or {}).items():
            if res_name not in enabled:
                continue
            register(ctx, built)
            resolver.built[res_name] = built
        try:
            plan.resources = resolver.build_all()
            plan.outputs = resolver.outputs()
            plan.metadata = {n: resolver.resolve(d.get("metadata") or {}, f"resource {n}")
                             for n, d in plan.template.resources.items()}
        except RecursionError:
            raise _too_big("template", "its functions nest too deeply")
        return plan

    # -- creating -------------------------------------------------------------

    def _read_new(self, body):
        """A create (or create preview) request's name, args, files and
        environment, checked as Heat checks them."""
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.", "HTTPBadRequest")
        name = body.get("stack_name")
        if "stack_name" not in body:
            raise bad_request("No stack name specified", "HTTPBadRequest")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise bad_request(
                f'Invalid stack name {name!r}: it must start with a letter and contain only '
                'alphanumeric characters, "_", "-" or "." (at most 255).', "StackValidationFailed")
        if "template" not in body:
            raise bad_request("No template specified", "HTTPBadRequest")
        return name, read_args(body), read_files(body), read_environment(body.get("environment"))

    def create(self, project_id, body):
        name, args, files, environment = self._read_new(body)
        with self._lock:
            self._check_new(project_id, name, self.clock())
        # The slow part, outside the lock: parse, check and build.
        plan = self._plan(body["template"], environment, files, body.get("parameters"))
        stack = FakeStack(name, project_id, next(self._index), self.clock())
        self._build(plan, name, stack.id, stack.index, project_id)
        stack.apply(plan)
        stack.timeout_mins = args.get("timeout_mins")
        stack.disable_rollback = args.get("disable_rollback", True)
        stack.tags = args.get("tags")

        with self._lock:
            now = self.clock()
            self._check_new(project_id, name, now)
            stack.created = stack.settled_at = now
            # Started before it is known: if starting fails, no stack is left
            # CREATE_IN_PROGRESS for good.
            self._start(stack, "CREATE", now)
            self._stacks[stack.id] = stack
            self._by_name[(project_id, name)] = stack
            return stack

    def _check_new(self, project_id, name, now):
        self._forget_deleted(now)
        existing = self._by_name.get((project_id, name))
        if existing is not None:
            self._advance(existing, now)
            if (project_id, name) in self._by_name:
                raise conflict(f"The Stack ({name}) already exists.", "StackExists")
        limit = self.max_stacks_per_tenant
        if limit >= 0:
            live = sum(1 for s in self._stacks.values() if s.project_id == project_id and s.deleted_at is None)
            if live >= limit:
                raise limit_exceeded(f"You have reached the maximum stacks per tenant, {limit}. "
                                     "Please delete some stacks.")

    # -- updating -------------------------------------------------------------

    def update(self, stack, body, patch=False):
        """PUT (a new template, parameters and environment) or PATCH (Heat's
        ``existing``: what is not given is kept; ``clear_parameters`` drops
        kept parameters). 202 in Heat; the stack goes UPDATE_IN_PROGRESS."""
        args, plan, changes = self._update_plan(stack, body, patch)
        with self._lock:
            now = self.clock()
            self._advance(stack, now)
            self._check_updatable(stack)
            if "timeout_mins" in args:
                stack.timeout_mins = args["timeout_mins"]
            if "disable_rollback" in args:
                stack.disable_rollback = args["disable_rollback"]
            if "tags" in args or not (patch or body.get("existing")):
                stack.tags = args.get("tags")
            self._start(stack, "UPDATE", now, plan=plan, changes=changes)

    def preview_update(self, stack, body, patch=False):
        """Heat's update preview (``openstack stack update --dry-run``): the
        resources an update would add, delete, replace, update in place or
        leave alone; nothing changes."""
        _, plan, changes = self._update_plan(stack, body, patch)
        old = stack.resources
        result = {"added": [], "deleted": [], "replaced": [], "updated": [], "unchanged": []}
        acted = dict(changes)
        marked = signals.unhealthy(stack)
        for name in plan.resources:
            if name not in acted:
                result["unchanged"].append(name)
            elif acted[name] == "CREATE" and name in old:
                result["replaced"].append(name)  # another type: a new resource
            elif acted[name] == "CREATE":
                result["added"].append(name)
            elif name not in marked and schemas.in_place(plan.template.target(plan.resources[name]["type"], name),
                                                         old[name].get("properties"),
                                                         plan.resources[name].get("properties")):
                result["updated"].append(name)
            else:
                result["replaced"].append(name)
        result["deleted"] = [n for n, action in changes if action == "DELETE"]
        return result, plan

    def _update_plan(self, stack, body, patch):
        """What an update (or its preview) asks for, checked: (args, plan
        built, [(resource, action)])."""
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.", "HTTPBadRequest")
        # What Heat's API refuses comes first; then the engine's state checks.
        args = read_args(body)
        files = read_files(body)
        _check_given(body.get("parameters"))
        with self._lock:
            self._advance(stack, self.clock())
            self._check_updatable(stack)
            current = (stack.template, stack.environment, stack.files, stack.given, dict(stack.resources))
        old_template, old_env, old_files, old_given, old_resources = current
        if patch or body.get("existing"):
            source = body["template"] if body.get("template") is not None else copy.deepcopy(old_template)
            files = dict(old_files, **files)
            environment = read_environment(body.get("environment")) if body.get("environment") else None
            clear = body.get("clear_parameters") or []
            if not isinstance(clear, list):
                raise bad_request('"clear_parameters" must be a list of parameter names.', "HTTPBadRequest")
            given = {k: v for k, v in old_given.items() if k not in clear}
            given.update(_check_given(body.get("parameters")))
            if environment is None:
                environment = copy.deepcopy(old_env)
                environment["parameters"] = {k: v for k, v in (old_env.get("parameters") or {}).items()
                                             if k not in clear}
            template = read_template(source, environment, files)
            # Kept parameters the new template no longer declares are dropped, as Heat does.
            given = {k: v for k, v in given.items() if k in template.parameters}
            environment["parameters"] = {k: v for k, v in (environment.get("parameters") or {}).items()
                                         if k in template.parameters}
            plan = Plan(template, environment, files, given)
            plan.params = template.resolve_parameters(given, environment)
        else:
            if body.get("template") is None:
                raise bad_request("No template specified", "HTTPBadRequest")
            environment = read_environment(body.get("environment"))
            plan = self._plan(body["template"], environment, files, body.get("parameters"))
        # Replaced whatever changes: what is marked unhealthy, and the handle
        # whose point is to be new (and unsignalled) after every update.
        registry = Registry(old_env.get("resource_registry"))
        replace = signals.unhealthy(stack) | {
            n for n, b in old_resources.items()
            if registry.target(b["type"], n) == "OS::Heat::UpdateWaitConditionHandle"}
        keep = _unchanged(old_template, old_files, stack.parameters, old_resources, plan, replace=replace)
        updating = {n: b for n, b in old_resources.items() if n not in keep and n not in replace}
        self._build(plan, stack.name, stack.id, stack.index, stack.project_id, keep, updating=updating)
        plan.kept = set(keep)
        return args, plan, _changes(old_template, old_resources, plan, keep)

    def preview_create(self, project_id, body):
        """Heat's create preview (``openstack stack create --dry-run``): the
        stack and its resources as they would be, nothing created."""
        name, args, files, environment = self._read_new(body)
        with self._lock:
            self._check_new(project_id, name, self.clock())  # as a create would: the name free, room left
        plan = self._plan(body["template"], environment, files, body.get("parameters"))
        stack = FakeStack(name, project_id, 0, self.clock())
        self._build(plan, name, "None", 0, project_id)
        stack.apply(plan)
        stack.id = "None"
        stack.timeout_mins = args.get("timeout_mins")
        stack.disable_rollback = args.get("disable_rollback", True)
        stack.tags = args.get("tags")
        return stack

    def _check_updatable(self, stack):
        if stack.status == "IN_PROGRESS":
            raise conflict(f"Stack {stack.name} already has an action ({stack.action}) in progress.",
                           "ActionInProgress")
        if stack.action == "SUSPEND":
            raise bad_request("Updating a stack when it is suspended is not supported.", "NotSupported")
        if stack.action == "DELETE":
            raise bad_request("Updating a stack when it is deleting is not supported.", "NotSupported")

    # -- validating -----------------------------------------------------------

    def validate(self, body):
        """Heat's template-validate: Description, Parameters, ParameterGroups
        and Environment, or a 400 naming the problem."""
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.", "HTTPBadRequest")
        if body.get("template") is None:
            raise bad_request("No template specified", "HTTPBadRequest")
        files = read_files(body)
        environment = read_environment(body.get("environment"))
        given = _check_given(body.get("parameters"))
        try:
            template = read_template(body["template"], environment, files)
        except ApiError as err:
            raise _validation_error(err)
        env_params = dict(environment.get("parameters") or {}, **given)
        for pname in env_params:
            if pname not in template.parameters:
                raise bad_request(f"The Parameter ({pname}) was not defined in template.", "UnknownUserParameter")
        defaults = dict(environment.get("parameter_defaults") or {})
        try:
            plan = Plan(template, environment, files, given)
            plan.params = _validation_parameters(template, env_params, defaults)
            _check_structure(plan)
        except ApiError as err:
            raise _validation_error(err)
        result = {"Description": template.description,
                  "Parameters": {n: _validate_parameter(n, d, env_params.get(n))
                                 for n, d in template.parameters.items()}}
        if template.raw.get("parameter_groups"):
            result["ParameterGroups"] = template.raw["parameter_groups"]
        result["Environment"] = {
            "parameters": env_params,
            "parameter_defaults": defaults,
            "resource_registry": dict(environment.get("resource_registry") or {}, resources={}),
            "encrypted_param_names": [],
            "event_sinks": [],
        }
        return result

    # -- finding --------------------------------------------------------------

    def find(self, project_id, name_or_id):
        """A live stack by name or id, advanced to now; 404 otherwise."""
        with self._lock:
            stack = self._by_name.get((project_id, name_or_id)) or self._stacks.get(name_or_id)
            if stack is not None:
                self._advance(stack, self.clock())
            if stack is None or stack.deleted_at is not None or stack.project_id != project_id:
                raise not_found(f"The Stack ({name_or_id}) could not be found.")
            return stack

    def get(self, project_id, name, stack_id):
        stack = self.find(project_id, stack_id)
        if stack.name != name:
            raise not_found(f"The Stack ({name}/{stack_id}) could not be found.")
        return stack

    def list(self, project_id, query):
        """Stacks of a project, with the filters, sorting and paging heatclient sends."""
        show_deleted = extract_bool("show_deleted", query_value(query, "show_deleted") or "false")
        limit = extract_int("limit", query_value(query, "limit"))
        with self._lock:
            now = self.clock()
            for stack in list(self._stacks.values()):
                self._advance(stack, now)
            stacks = [s for s in self._stacks.values() if s.project_id == project_id
                      and (show_deleted or s.deleted_at is None)]
        filters = {
            "name": lambda s: s.name, "id": lambda s: s.id, "status": lambda s: s.status,
            "action": lambda s: s.action, "stack_status": lambda s: s.state,
        }
        for key, getter in filters.items():
            if key in query:
                wanted = set(query[key])
                stacks = [s for s in stacks if getter(s) in wanted]
        # Tags, as Heat reads them: all of these, any, not all, none.
        tag_tests = {"tags": lambda have, want: want <= have, "tags_any": lambda have, want: bool(want & have),
                     "not_tags": lambda have, want: not want <= have,
                     "not_tags_any": lambda have, want: not want & have}
        for key, test in tag_tests.items():
            if query_value(query, key):
                want = {t for t in query_value(query, key).split(",") if t}
                stacks = [s for s in stacks if test(set(s.tags or []), want)]
        sort_keys = {"stack_name": lambda s: s.name, "stack_status": lambda s: s.state,
                     "creation_time": lambda s: s.created, "updated_time": lambda s: s.updated or 0}
        key = (query.get("sort_keys") or ["creation_time"])[0]
        if key not in sort_keys:
            raise bad_request(f"Invalid sort key {key!r}; use one of {', '.join(sort_keys)}", "HTTPBadRequest")
        reverse = _sort_dir(query, "desc") == "desc"
        stacks.sort(key=lambda s: (sort_keys[key](s), s.index), reverse=reverse)
        if "marker" in query:
            ids = [s.id for s in stacks]
            marker = query["marker"][0]
            if marker not in ids:
                raise not_found(f"The Stack ({marker}) could not be found.")
            stacks = stacks[ids.index(marker) + 1:]
        if limit is not None:
            stacks = stacks[:limit]
        return stacks

    # -- resources ------------------------------------------------------------

    def resource_names(self, stack, query):
        """The resources of a stack, filtered as Heat's resource-list filters."""
        allowed = {"type", "status", "name", "action", "id", "physical_resource_id", "nested_depth", "with_detail"}
        invalid = sorted(set(query) - allowed)
        if invalid:
            raise bad_request(f"Invalid filter parameters {invalid}", "HTTPBadRequest")
        extract_int("nested_depth", query_value(query, "nested_depth"))
        if query_value(query, "with_detail") is not None:
            extract_bool("with_detail", query_value(query, "with_detail"))
        with self._lock:
            self._advance(stack, self.clock())
            names = list(stack.resources)
            states = {n: stack.resource_state(n) for n in names}
        getters = {"type": lambda n: stack.resources[n]["type"], "name": lambda n: n,
                   "action": lambda n: states[n][0], "status": lambda n: states[n][1],
                   "id": lambda n: stack.resources[n]["reference"],
                   "physical_resource_id": lambda n: stack.resources[n]["reference"]}
        for key, getter in getters.items():
            if key in query:
                wanted = set(query[key])
                names = [n for n in names if getter(n) in wanted
                         or (key == "status" and f"{states[n][0]}_{states[n][1]}" in wanted)]
        return names

    def resource(self, stack, name):
        with self._lock:
            self._advance(stack, self.clock())
            if name not in stack.resources:
                raise not_found(f"The Resource ({name}) could not be found.")
            return stack.resources[name]

    # -- signals and health ---------------------------------------------------

    def signal(self, stack, name, details):
        with self._lock:
            now = self.clock()
            self._advance(stack, now)
            signals.signal(self, stack, name, details, now)

    def mark_unhealthy(self, stack, name, body):
        with self._lock:
            now = self.clock()
            self._advance(stack, now)
            signals.mark_unhealthy(self, stack, name, body, now)

    def _current_plan(self, stack):
        template = Template(stack.template, (stack.environment or {}).get("resource_registry"), stack.files)
        plan = Plan(template, stack.environment, stack.files, stack.given)
        plan.params = stack.parameters
        return plan

    def _refresh_outputs(self, stack):
        """The outputs again, from the resources as they are now."""
        plan = self._build(self._current_plan(stack), stack.name, stack.id, stack.index, stack.project_id,
                           keep=stack.resources)
        stack.outputs = plan.outputs

    def _resize(self, stack, group, size, now):
        """A scaling group to ``size``: its kept members and the other
        resources stay as they are; those that refer to the group follow."""
        plan = self._current_plan(stack)
        keep = _closed(set(stack.resources) - {group}, plan.template.resources)
        old = stack.resources[group]
        previous = {m[len(group) + 1:]: entry for m, entry in ((old.get("hidden") or {}).get("members") or {}).items()}
        self._build(plan, stack.name, stack.id, stack.index, stack.project_id,
                    keep={n: stack.resources[n] for n in keep}, resize=(group, size, previous),
                    updating={n: b for n, b in stack.resources.items() if n not in keep})
        plan.kept = keep
        changes = [n for n in plan.resources if n not in keep]
        for name in changes:
            self._resource_event(stack, name, "UPDATE", "IN_PROGRESS", "state changed", now, plan)
        stack.apply(plan)
        stack.settled_at = now  # the new members boot from now
        for name in changes:
            self._resource_event(stack, name, "UPDATE", "COMPLETE", "state changed", now, plan)

    # -- acting ---------------------------------------------------------------

    def act(self, stack, action):
        """Start a suspend, resume or check; 409 when the stack is in the wrong
        state. A suspend or resume its resources refuse is accepted, and fails."""
        if action not in ACTION_FROM:
            raise bad_request(f"Invalid action {action}", "HTTPBadRequest")
        with self._lock:
            now = self.clock()
            self._advance(stack, now)
            beside = stack.state in stack_actions.RUNS_BESIDE.get(action, ())
            if stack.status == "IN_PROGRESS" and not beside:
                raise conflict(f"Stack {stack.name} already has an action ({stack.action}) in progress.",
                               "ActionInProgress")
            if stack.state not in ACTION_FROM[action] and not beside:
                raise conflict(f"Stack {stack.name} is {stack.state}; it cannot {action} now.",
                               "ActionNotAllowed")
            refused = stack_actions.refusal(stack, action.upper()) if action != "check" else None
            if refused:
                stack_actions.set_aside(stack)
            self._start(stack, action.upper(), now, refused=refused)

    def delete(self, stack):
        """Start deleting, from any state; deleting twice is harmless, as in Heat."""
        with self._lock:
            now = self.clock()
            self._advance(stack, now)
            if stack.state == "DELETE_IN_PROGRESS":
                return
            self._start(stack, "DELETE", now)

    def events(self, stack, query, resource_name=None):
        """Events of a stack: its own and its resources' (Heat's stack event
        list), or one resource's (by path); the filters, sorting and paging
        heatclient sends."""
        limit = extract_int("limit", query_value(query, "limit"))
        extract_int("nested_depth", query_value(query, "nested_depth"))
        direction = _sort_dir(query, "asc")
        with self._lock:
            self._advance(stack, self.clock())
            events = list(stack.events)
        if resource_name is not None:
            events = [e for e in events if e["resource_name"] == resource_name and not e["_stack"]]
        for key in ("resource_action", "resource_status", "resource_name", "resource_type"):
            if key in query:
                wanted = set(query[key])
                events = [e for e in events if e[key] in wanted
                          or (key == "resource_status" and f"{e['resource_action']}_{e[key]}" in wanted)]
        if direction == "desc":
            events.reverse()
        if "marker" in query:
            ids = [e["id"] for e in events]
            if query["marker"][0] in ids:
                events = events[ids.index(query["marker"][0]) + 1:]
        if limit is not None:
            events = events[:limit]
        if resource_name is not None and not events:
            raise not_found(f"No events found for resource {resource_name}", "HTTPNotFound")
        return events

    def event(self, stack, resource_name, event_id):
        with self._lock:
            self._advance(stack, self.clock())
            for event in stack.events:
                if event["id"] == event_id and event["resource_name"] == resource_name:
                    return event
        raise not_found(f"No event {event_id} found", "HTTPNotFound")

    def stack_count(self):
        """Live stacks (in any state but deleted), across projects."""
        with self._lock:
            now = self.clock()
            for stack in list(self._stacks.values()):
                self._advance(stack, now)
            return sum(1 for s in self._stacks.values() if s.deleted_at is None)

    def _forget_deleted(self, now):
        for stack_id, stack in list(self._stacks.items()):
            self._advance(stack, now)
            if stack.deleted_at is not None and now - stack.deleted_at > DELETED_RETENTION and not stack.had_machines:
                del self._stacks[stack_id]

    def known(self):
        """How many stacks the engine holds, deleted ones it still shows included."""
        with self._lock:
            return len(self._stacks)

    def machine_states(self, now):
        """(stack, state, since) for every stack whose machines may need to
        change: state is "up" (created, updated or resumed, since when), "frozen"
        (suspending, suspended or resuming), "gone" (deleting or deleted) or
        "pending" (being created, or failed)."""
        with self._lock:
            result = []
            for stack in list(self._stacks.values()):
                if stack.deleted_at is not None and not stack.had_machines:
                    continue
                self._advance(stack, now)
                result.append((stack, stack_actions.machine_state(stack), stack.settled_at))
            return result

    # -- the state machine ----------------------------------------------------

    def _start(self, stack, action, now, plan=None, changes=None, refused=None):
        """Start ``action``; one its resources ``refused`` (Heat's reason)
        fails at once and touches none of them."""
        op = action.lower()
        durations = self.config.durations
        duration = durations[op] if op in durations else durations.get("resume" if op == "check" else "create", 0.0)
        fault = None if refused else self.faults.for_operation(op)
        failed, reason = False, f"Stack {action} completed successfully"
        ends = now + duration
        if refused:
            ends, failed, reason, changes = now, True, refused, []
        else:
            stack_actions.forget(stack)
        if fault is not None and fault.effect == "hang":
            ends = None
        elif fault is not None:
            failed, reason = True, f"Resource {action} failed: {fault.reason}"
        if action in ("CREATE", "UPDATE") and stack.timeout_mins:
            limit = now + stack.timeout_mins * 60
            if ends is None or ends > limit:
                ends, failed, reason = limit, True, f"{action.capitalize()} timed out"
        if changes is None:
            names = list(stack.resources)
            changes = [(n, action) for n in (reversed(names) if action == "DELETE" else names)]
        stack.operation = Operation(action, now, ends, failed, reason, plan, changes)
        stack.action, stack.status = action, "IN_PROGRESS"
        stack.reason = f"Stack {action} started"
        if action != "CREATE":
            stack.updated = now
        self._event(stack, now)
        for name, res_action in changes:
            self._resource_event(stack, name, res_action, "IN_PROGRESS", "state changed", now, plan)
        self._advance(stack, now)

    def _advance(self, stack, now):
        stack_actions.finish_background(stack, now, lambda *event: self._resource_event(stack, *event))
        op = stack.operation
        if op is None or op.ends is None or now < op.ends:
            return
        stack.operation = None
        stack.settled_at = op.ends
        status = "FAILED" if op.failed else "COMPLETE"
        for name, res_action in op.changes or []:
            self._resource_event(stack, name, res_action, status,
                                 op.reason if op.failed else "state changed", op.ends, op.plan)
        if op.plan is not None and not op.failed:
            stack.apply(op.plan)
        for name in list(stack.resource_states):
            if name not in stack.resources:
                del stack.resource_states[name]
        for name in list(stack.cooldown_end):
            if name not in stack.resources:
                del stack.cooldown_end[name]
        stack.status = status
        stack.reason = op.reason
        if op.action != "CREATE":
            stack.updated = op.ends
        self._event(stack, op.ends)
        if op.action == "DELETE" and not op.failed:
            stack.deleted_at = op.ends
            if self._by_name.get((stack.project_id, stack.name)) is stack:
                del self._by_name[(stack.project_id, stack.name)]

    def _event(self, stack, when):
        stack.events.append(self._event_body(stack.name, stack.id, "OS::Heat::Stack", stack.action,
                                             stack.status, stack.reason, when, True))

    def _resource_event(self, stack, name, action, status, reason, when, plan, record_state=True):
        """An event of a resource; with ``record_state``, also its new state
        (not for what Heat only reports, such as a signal)."""
        source = plan.resources if plan is not None and name in plan.resources else stack.resources
        built = source.get(name) or stack.resources.get(name) or {}
        stack.events.append(self._event_body(name, built.get("reference", ""), built.get("type", ""), action,
                                             status, reason, when, False, built.get("properties") or {}))
        if record_state:
            stack.resource_states[name] = [action, status, reason, when]

    def _event_body(self, name, physical_id, rtype, action, status, reason, when, stack_level, props=None):
        return {
            "id": f"{next(self._event_ids):08d}-0000-4000-8000-000000000000",
            "event_time": isotime(when),
            "resource_name": name,
            "logical_resource_id": name,
            "physical_resource_id": physical_id,
            "resource_action": action,
            "resource_status": status,
            "resource_status_reason": reason,
            "resource_type": rtype,
            "resource_properties": props or {},
            "_stack": stack_level,
        }

    # -- what the cloud supports ----------------------------------------------

    def resource_types(self, query):
        status = query_value(query, "support_status")
        if status is not None and status not in SUPPORT_STATUSES:
            raise bad_request(f"Data supplied was not valid: Invalid support status and should be one of "
                              f"{list(SUPPORT_STATUSES)}", "Invalid")
        with_description = extract_bool("with_description", query_value(query, "with_description") or "false")
        name = query_value(query, "name")
        version = query_value(query, "version")
        try:
            pattern = re.compile(name) if name is not None else None
        except (re.error, RecursionError, OverflowError):
            return []
        result = []
        for rtype in _supported_types():
            if pattern is not None and not pattern.match(rtype):
                continue
            schema = type_schema(rtype)
            support = schema.get("support_status") or {}
            if status is not None and support.get("status", "SUPPORTED") != status:
                continue
            if version is not None and support.get("version") != version:
                continue
            result.append({"resource_type": rtype, "description": schema.get("description", "")}
                          if with_description else rtype)
        return result


def _sort_dir(query, default):
    direction = (query_value(query, "sort_dir") or default).lower()
    if direction not in ("asc", "desc"):
        raise bad_request(f"Unknown sort direction, must be one of: asc, desc (not {direction!r})",
                          "HTTPBadRequest")
    return direction


def _unchanged(old_template, old_files, old_params, old_resources, plan, replace=()):
    """Resources an update leaves alone: same declaration, same parameters
    and files, and only other unchanged resources referred to; not those
    to ``replace`` (marked unhealthy)."""
    old_decls = (old_template.get("resources") or {}) if isinstance(old_template, dict) else {}
    new_decls = plan.template.resources
    candidates = set()
    for name, decl in new_decls.items():
        if name not in old_resources or old_decls.get(name) != decl or name in replace:
            continue
        if any(old_params.get(p) != plan.params.get(p) for p in _references(decl, "param")):
            continue
        if any(old_files.get(f) != plan.files.get(f) for f in _references(decl, "file")):
            continue
        candidates.add(name)
    candidates = _closed(candidates, new_decls)
    return {name: old_resources[name] for name in new_decls if name in candidates}


def _closed(names, decls):
    """The names whose declarations (in ``decls``) refer to none but others
    of them, directly or not: what stays when the rest changes."""
    names = {n for n in names if n in decls}
    while True:
        left = {n for n in names if not dependencies(decls[n]) - names}
        if left == names:
            return names
        names = left


def _changes(old_template, old_resources, plan, keep):
    """(resource, action) an update performs: CREATE new ones, UPDATE changed
    ones (of the same type), DELETE removed ones (and replaced ones' old selves)."""
    changes = []
    for name, built in plan.resources.items():
        if name in keep:
            continue
        old = old_resources.get(name)
        changes.append((name, "UPDATE" if old is not None and old["type"] == built["type"] else "CREATE"))
    for name in reversed(list(old_resources)):
        if name not in plan.resources:
            changes.append((name, "DELETE"))
    return changes


def _check_given(given):
    """The parameters of a request: a mapping (Heat merges them into one)."""
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise bad_request("dictionary update sequence element #0 has length 1; 2 is required", "ValueError")
    return dict(given)


def _check_structure(plan):
    """What Heat's template-validate checks of the resources (no values are
    needed, none are judged): the functions and conditions, each resource
    type found, and no property the type (or the nested template) does not
    have."""
    from . import schemas
    from .hot import Resolver
    resolver = Resolver(plan.template, plan.params, plan.files, BuildContext("validate", str(uuid.uuid4()), 0, ""))
    for name, decl in resolver.definitions.items():
        given = decl.get("properties")
        if not isinstance(given, dict):
            continue
        target = plan.template.target(decl["type"], name)
        if isinstance(plan.files.get(target), str):
            known = set(load_document(plan.files[target], "template").get("parameters") or {})
        elif schemas.takes_anything(target) or not schemas.is_offered(target):
            continue
        else:
            known = set(schemas.TYPES_SCHEMA[target].properties)
        for key in given:
            if key not in known:
                raise bad_request(f"Property error: resources.{name}.properties: Unknown Property {key}",
                                  "StackValidationFailed")


def _validation_parameters(template, user, defaults):
    """Parameter values for validating: a default, checked; a stand-in for
    what has none. Heat's validate needs no values and judges none given
    (it validates with strict_validate off): a create judges those."""
    values = {}
    for name, schema in template.schemas.items():
        default = defaults.get(name, schema.default)
        values[name] = _stand_in(schema.type) if default is None else schema.value(None, default)
        if user.get(name) is not None:
            try:
                values[name] = schema.value(user[name], default)
            except ApiError:
                pass  # a value a create would refuse: the stand-in (or the default) stays
    check_groups = getattr(template, "_check_parameter_groups", None)
    if check_groups is not None:
        check_groups()
    else:
        _check_parameter_groups(template)
    return values


def _stand_in(ptype):
    return {"number": 0, "json": {}, "comma_delimited_list": [], "boolean": False}.get(ptype, "")


def _validation_error(err):
    """Heat's validate answers what its engine finds as a plain HTTPBadRequest."""
    if err.status != 400 or err.error_type in ("InvalidTemplateVersion", "UnknownUserParameter",
                                                "RequestLimitExceeded", "HTTPBadRequest"):
        return err
    return bad_request(err.message, "HTTPBadRequest")


def _check_parameter_groups(template):
    groups = template.raw.get("parameter_groups")
    if groups is None:
        return
    if not isinstance(groups, list):
        raise bad_request("Parameter Groups error: parameter_groups: The parameter_groups should be a list.")
    seen = set()
    for group in groups:
        label = group.get("label", "") if isinstance(group, dict) else ""
        params = group.get("parameters") if isinstance(group, dict) else None
        where = f"Parameter Groups error: parameter_groups.{label}"
        if params is None:
            raise bad_request(f"{where}: The parameters must be provided for each parameter group.")
        if not isinstance(params, list):
            raise bad_request(f"{where}: The parameters of parameter group should be a list.")
        for param in params:
            if param in seen:
                raise bad_request(f"{where}: The {param} parameter must be assigned to one parameter group only.")
            seen.add(param)
            if param not in template.parameters:
                raise bad_request(f"{where}: The grouped parameter {param} does not reference a valid parameter.")


_API_TYPES = {"string": "String", "number": "Number", "comma_delimited_list": "CommaDelimitedList",
              "json": "Json", "boolean": "Boolean"}


def _validate_parameter(name, decl, value):
    """One parameter as Heat's validate shows it (format_validate_parameter)."""
    res = {"Type": _API_TYPES.get(decl.get("type"), decl.get("type")),
           "Description": decl.get("description") or "",
           "NoEcho": "true" if decl.get("hidden") else "false",
           "Label": decl.get("label") or name}
    if decl.get("default") is not None:
        res["Default"] = decl["default"]
    if value is not None:
        res["Value"] = value
    if decl.get("tags"):
        res["Tags"] = decl["tags"]
    descriptions = []
    for constraint in decl.get("constraints") or []:
        if not isinstance(constraint, dict):
            continue
        for key, low, high in (("length", "MinLength", "MaxLength"), ("range", "MinValue", "MaxValue")):
            bounds = constraint.get(key)
            if isinstance(bounds, dict):
                if bounds.get("min") is not None:
                    res[low] = bounds["min"]
                if bounds.get("max") is not None:
                    res[high] = bounds["max"]
        if "allowed_values" in constraint:
            res["AllowedValues"] = list(constraint["allowed_values"] or [])
        if "allowed_pattern" in constraint:
            res["AllowedPattern"] = constraint["allowed_pattern"]
        if "custom_constraint" in constraint:
            res["CustomConstraint"] = constraint["custom_constraint"]
        if constraint.get("description"):
            descriptions.append(str(constraint["description"]))
    if descriptions:
        res["ConstraintDescription"] = " ".join(descriptions)
    return res


# -- resource types and template versions (schemas.py and functions.py when there) --

def _optional(module):
    try:
        return __import__(f"{__package__}.{module}", fromlist=[module])
    except ImportError:
        return None


def _supported_types():
    from . import schemas
    return schemas.supported_types()


def type_schema(resource_type):
    """Heat's resource-type-show JSON for a type; 404 for one it lacks, 400
    for one it keeps only for old templates."""
    from . import schemas
    return schemas.type_schema(resource_type)


_PROPERTY_TO_PARAMETER = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean",
                          "list": "comma_delimited_list", "map": "json"}


def generate_template(resource_type, template_type):
    """Heat's resource-type template: a provider template whose parameters
    are the type's properties and whose outputs are its attributes."""
    template_type = (template_type or "cfn").lower()
    if template_type not in ("cfn", "hot"):
        raise bad_request(f'Template type is not supported: Invalid template type "{template_type}", valid types '
                          'are: cfn, hot.', "HTTPBadRequest")
    schema = type_schema(resource_type)
    res_name = resource_type.split("::")[-1]
    hot_type = template_type == "hot"
    params, props, outputs = {}, {}, {}
    for name, prop in sorted((schema.get("properties") or {}).items()):
        prop = prop if isinstance(prop, dict) else {}
        ptype = _PROPERTY_TO_PARAMETER.get(str(prop.get("type", "string")).lower(), "string")
        param = {"type": ptype if hot_type else _API_TYPES[ptype], "description": prop.get("description", "")}
        if prop.get("default") is not None:
            param["default"] = prop["default"]
        params[name] = param if hot_type else {k.capitalize(): v for k, v in param.items()}
        props[name] = {"get_param": name} if hot_type else {"Ref": name}
    for name, attr in sorted((schema.get("attributes") or {}).items()):
        attr = attr if isinstance(attr, dict) else {}
        if hot_type:
            outputs[name] = {"description": attr.get("description", ""), "value": {"get_attr": [res_name, name]}}
        else:
            outputs[name] = {"Description": attr.get("description", ""), "Value": {"Fn::GetAtt": [res_name, name]}}
    description = f"Initial template of {res_name}"
    if hot_type:
        return {"heat_template_version": "2016-10-14", "description": description, "parameters": params,
                "resources": {res_name: {"type": resource_type, "properties": props}}, "outputs": outputs}
    return {"HeatTemplateFormatVersion": "2012-12-12", "Description": description, "Parameters": params,
            "Resources": {res_name: {"Type": resource_type, "Properties": props}}, "Outputs": outputs}


def template_versions():
    """Heat's template-version list: [{version, type, aliases}]."""
    functions = _optional("functions")
    if functions is not None and hasattr(functions, "template_versions"):
        return functions.template_versions()
    dates = sorted(v for v in hot.VERSIONS if re.fullmatch(r"\d{4}-\d\d-\d\d", str(v)))
    result = {d: {"version": f"heat_template_version.{d}", "type": "hot", "aliases": []} for d in dates}
    for alias in sorted(set(hot.VERSIONS) - set(dates)):
        target = VERSION_ALIASES.get(alias)
        if target in result:
            result[target]["aliases"].append(f"heat_template_version.{alias}")
    return list(result.values())


def template_functions(version, with_condition=False):
    """Heat's template-function list for a version: [{functions, description}]."""
    functions = _optional("functions")
    if functions is not None and hasattr(functions, "template_functions"):
        return functions.template_functions(version, with_condition)
    known = {v["version"] for v in template_versions()}
    known |= {a for v in template_versions() for a in v["aliases"]}
    if version not in known:
        raise not_found(f"Template with version {version} not found", "NotFound")
    table = getattr(functions, "VERSIONS", None) or {}
    spec = table.get(version.partition(".")[2])
    if spec is None or not isinstance(getattr(spec, "functions", None), dict):
        return []
    supported = dict(spec.functions)
    if with_condition:
        skip = tuple(c for c in (getattr(functions, "Invalid", None),) if c is not None)
        supported.update({n: f for n, f in (getattr(spec, "condition_functions", None) or {}).items()
                          if not (skip and f in skip)})
    removed = getattr(functions, "Removed", None)
    result = []
    for name, func in supported.items():
        if removed is not None and func is removed:
            continue
        doc = (getattr(func, "__doc__", None) or "").strip()
        result.append({"functions": name, "description": doc.split("\n\n")[0].replace("\n", " ").strip()})
    return result


def outputs_visible(stack):
    """Outputs resolve only once resources exist: after a completed create
    (also one a refused suspend left running)."""
    return (not (stack.action == "CREATE" and stack.status != "COMPLETE") and stack.action != "DELETE"
            and stack.background is None)


__all__ = ["ApiError", "FakeStack", "HeatEngine", "outputs_visible"]
