"""The fake Heat engine: stacks, their state machine, and their events.

Time is evaluated lazily: an operation records when it started and when it
will end, and every read first advances the stack to the present. No thread
runs in the background, and tests can drive the whole thing with a fake clock.
"""

import itertools
import re
import threading
import uuid

from .errors import ApiError, bad_request, conflict, not_found
from .hot import Resolver, Template, parse_environment
from .keystone import isotime
from .resources import BuildContext

NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$")

# Which states an action may start from; anything *_IN_PROGRESS is refused first.
ACTION_FROM = {
    "suspend": {"CREATE_COMPLETE", "RESUME_COMPLETE", "SUSPEND_FAILED", "RESUME_FAILED", "CHECK_COMPLETE"},
    "resume": {"SUSPEND_COMPLETE", "SUSPEND_FAILED", "RESUME_FAILED"},
}


class Operation:
    __slots__ = ("action", "started", "ends", "failed", "reason")

    def __init__(self, action, started, ends, failed, reason):
        self.action = action  # CREATE, SUSPEND, RESUME, DELETE
        self.started = started
        self.ends = ends  # None: never (a hang)
        self.failed = failed
        self.reason = reason


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
        self.hidden = set()
        self.timeout_mins = None
        self.disable_rollback = True
        self.description = ""
        self.resources = {}
        self.outputs = []
        self.tags = None
        # When the last operation ended; whether it has machines (the machine
        # host says so), which keep a deleted stack known until they are gone.
        self.settled_at = now
        self.had_machines = False

    @property
    def state(self):
        return f"{self.action}_{self.status}"

    @property
    def identifier(self):
        return f"{self.name}/{self.id}"


_STACK_NUMBERS = itertools.count(1)
# How long a deleted stack can still be shown (DELETE_COMPLETE) by its id;
# then it is forgotten, and its memory freed.
DELETED_RETENTION = 60.0


class HeatEngine:
    """All stacks of one fake cloud, with the rules Heat applies to them."""

    def __init__(self, config, clock, faults):
        self.config = config
        self.clock = clock
        self.faults = faults
        self._stacks = {}  # id -> FakeStack, deleted ones included
        self._by_name = {}  # (project, name) -> live FakeStack
        self._lock = threading.RLock()
        # Shared by every cloud of the process: stack numbers (and so the
        # stacks' loopback addresses, where their machines listen) never repeat.
        self._index = _STACK_NUMBERS
        self._event_ids = itertools.count(1)

    # -- creating -------------------------------------------------------------

    def create(self, project_id, body):
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.", "HTTPBadRequest")
        name = body.get("stack_name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise bad_request(
                f'Invalid stack name {name!r}: it must start with a letter and contain only '
                'alphanumeric characters, "_", "-" or "." (at most 255).', "StackValidationFailed")
        if "template" not in body:
            raise bad_request("No template specified", "HTTPBadRequest")
        template = Template(body["template"])
        environment = parse_environment(body.get("environment"))
        files = body.get("files") or {}
        if not isinstance(files, dict):
            raise bad_request('"files" must be a mapping of names to contents.', "HTTPBadRequest")
        params = template.resolve_parameters(body.get("parameters"), environment)
        timeout = body.get("timeout_mins")
        if timeout is not None:
            try:
                timeout = int(timeout)
                if timeout <= 0:
                    raise ValueError
            except (TypeError, ValueError):
                raise bad_request(f"Invalid timeout value {body.get('timeout_mins')!r}", "HTTPBadRequest")

        with self._lock:
            now = self.clock()
            self._forget_deleted(now)
            existing = self._by_name.get((project_id, name))
            if existing is not None:
                self._advance(existing, now)
                if (project_id, name) in self._by_name:
                    raise conflict(f"The Stack ({name}) already exists.", "StackExists")
            stack = FakeStack(name, project_id, next(self._index), now)
            resolver = Resolver(template, params, files,
                                BuildContext(name, stack.id, stack.index, project_id))
            # Building everything now validates every reference, as Heat's
            # validation does before it accepts a create.
            stack.resources = resolver.build_all()
            stack.outputs = resolver.outputs()
            stack.template = template.raw
            stack.description = template.description
            stack.environment = environment
            stack.files = files
            stack.parameters = params
            stack.hidden = {k for k, d in template.parameters.items() if d.get("hidden")}
            stack.timeout_mins = timeout
            stack.disable_rollback = bool(body.get("disable_rollback", True))
            stack.tags = body.get("tags")
            self._stacks[stack.id] = stack
            self._by_name[(project_id, name)] = stack
            self._start(stack, "CREATE", now)
            return stack

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
        with self._lock:
            now = self.clock()
            for stack in list(self._stacks.values()):
                self._advance(stack, now)
            show_deleted = _truthy(query.get("show_deleted"))
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
        sort_keys = {"stack_name": lambda s: s.name, "stack_status": lambda s: s.state,
                     "creation_time": lambda s: s.created, "updated_time": lambda s: s.updated or 0}
        key = (query.get("sort_keys") or ["creation_time"])[0]
        if key not in sort_keys:
            raise bad_request(f"Invalid sort key {key!r}; use one of {', '.join(sort_keys)}", "HTTPBadRequest")
        reverse = (query.get("sort_dir") or ["desc"])[0] == "desc"
        stacks.sort(key=lambda s: (sort_keys[key](s), s.index), reverse=reverse)
        if "marker" in query:
            ids = [s.id for s in stacks]
            marker = query["marker"][0]
            if marker not in ids:
                raise not_found(f"The Stack ({marker}) could not be found.")
            stacks = stacks[ids.index(marker) + 1:]
        if "limit" in query:
            try:
                stacks = stacks[: max(0, int(query["limit"][0]))]
            except ValueError:
                raise bad_request(f"Invalid limit {query['limit'][0]!r}", "HTTPBadRequest")
        return stacks

    # -- acting ---------------------------------------------------------------

    def act(self, stack, action):
        """Start a suspend or resume; 409 when the stack is in the wrong state."""
        if action not in ACTION_FROM:
            raise bad_request(f"Invalid action {action}", "HTTPBadRequest")
        with self._lock:
            now = self.clock()
            self._advance(stack, now)
            if stack.status == "IN_PROGRESS":
                raise conflict(f"Stack {stack.name} already has an action ({stack.action}) in progress.",
                               "ActionInProgress")
            if stack.state not in ACTION_FROM[action]:
                raise conflict(f"Stack {stack.name} is {stack.state}; it cannot {action} now.",
                               "ActionNotAllowed")
            self._start(stack, action.upper(), now)

    def delete(self, stack):
        """Start deleting, from any state; deleting twice is harmless, as in Heat."""
        with self._lock:
            now = self.clock()
            self._advance(stack, now)
            if stack.state == "DELETE_IN_PROGRESS":
                return
            self._start(stack, "DELETE", now)

    def events(self, stack, query):
        with self._lock:
            self._advance(stack, self.clock())
            events = list(stack.events)
        for key in ("resource_action", "resource_status", "resource_name"):
            if key in query:
                wanted = set(query[key])
                events = [e for e in events if e[key] in wanted]
        if (query.get("sort_dir") or ["asc"])[0] == "desc":
            events.reverse()
        if "marker" in query:
            ids = [e["id"] for e in events]
            if query["marker"][0] in ids:
                events = events[ids.index(query["marker"][0]) + 1:]
        if "limit" in query:
            events = events[: int(query["limit"][0])]
        return events

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
        change: state is "up" (created or resumed, since when), "frozen"
        (suspending, suspended or resuming), "gone" (deleting or deleted) or
        "pending" (being created, or failed)."""
        with self._lock:
            result = []
            for stack in list(self._stacks.values()):
                if stack.deleted_at is not None and not stack.had_machines:
                    continue
                self._advance(stack, now)
                if stack.action == "DELETE" or stack.deleted_at is not None:
                    state = "gone"
                elif stack.action in ("SUSPEND", "RESUME") and stack.state != "RESUME_COMPLETE":
                    state = "frozen"
                elif stack.state in ("CREATE_COMPLETE", "RESUME_COMPLETE"):
                    state = "up"
                else:
                    state = "pending"
                result.append((stack, state, stack.settled_at))
            return result

    # -- the state machine ----------------------------------------------------

    def _start(self, stack, action, now):
        op = action.lower()
        duration = self.config.durations[op]
        fault = self.faults.for_operation(op)
        failed, reason = False, f"Stack {action} completed successfully"
        ends = now + duration
        if fault is not None and fault.effect == "hang":
            ends = None
        elif fault is not None:
            failed, reason = True, f"Resource {action} failed: {fault.reason}"
        if action == "CREATE" and stack.timeout_mins:
            limit = now + stack.timeout_mins * 60
            if ends is None or ends > limit:
                ends, failed, reason = limit, True, "Create timed out"
        stack.operation = Operation(action, now, ends, failed, reason)
        stack.action, stack.status = action, "IN_PROGRESS"
        stack.reason = f"Stack {action} started"
        if action != "CREATE":
            stack.updated = now
        self._event(stack, now)
        self._advance(stack, now)

    def _advance(self, stack, now):
        op = stack.operation
        if op is None or op.ends is None or now < op.ends:
            return
        stack.operation = None
        stack.settled_at = op.ends
        stack.status = "FAILED" if op.failed else "COMPLETE"
        stack.reason = op.reason
        if op.action != "CREATE":
            stack.updated = op.ends
        self._event(stack, op.ends)
        if op.action == "DELETE" and not op.failed:
            stack.deleted_at = op.ends
            if self._by_name.get((stack.project_id, stack.name)) is stack:
                del self._by_name[(stack.project_id, stack.name)]

    def _event(self, stack, when):
        event_id = f"{next(self._event_ids):08d}-0000-4000-8000-000000000000"
        stack.events.append({
            "id": event_id,
            "event_time": isotime(when),
            "resource_name": stack.name,
            "logical_resource_id": stack.name,
            "physical_resource_id": stack.id,
            "resource_action": stack.action,
            "resource_status": stack.status,
            "resource_status_reason": stack.reason,
        })


def _truthy(values):
    return bool(values) and str(values[0]).lower() in ("1", "true", "yes", "on")


def outputs_visible(stack):
    """Outputs resolve only once resources exist: after a completed create."""
    return not (stack.action == "CREATE" and stack.status != "COMPLETE") and stack.action != "DELETE"


__all__ = ["ApiError", "FakeStack", "HeatEngine", "outputs_visible"]
