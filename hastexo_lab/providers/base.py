"""What every cloud provider offers the lab lifecycle, with no Django inside.

A provider creates, inspects, suspends, resumes, deletes and lists stacks.
Its failures are sorted into two kinds, so that callers retry only what can
succeed: :class:`TransientProviderError` (the cloud is unreachable, slow or
overloaded: retry with backoff) and :class:`PermanentProviderError` (the
request is wrong or not allowed: retrying cannot help).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

# The status a provider reports for a stack that does not exist (any more).
GONE = "GONE"


class ProviderConfigError(ValueError):
    """A provider's settings are missing or wrong; the message names the key."""


class ProviderError(Exception):
    """A provider call failed. ``status`` is the HTTP status, when there was one."""

    transient = False

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        self.status = status


class TransientProviderError(ProviderError):
    """The call may succeed if repeated later (connection, timeout, 5xx, 429)."""

    transient = True


class PermanentProviderError(ProviderError):
    """The call cannot succeed as it is (400, 401 after re-auth, 403, 404, 409)."""


class StackNotFound(PermanentProviderError):
    """The stack does not exist at the provider."""


class StackConflict(PermanentProviderError):
    """The stack exists already, or is in a state that does not allow the action."""


@dataclass(frozen=True)
class StackInfo:
    """A stack as the provider sees it. ``outputs`` may hold secrets, so repr hides them."""

    name: str
    id: str | None
    status: str
    reason: str = ""
    outputs: dict = field(default_factory=dict, repr=False)

    @property
    def identifier(self):
        """``name/id`` when the id is known (one request less for Heat), else the name."""
        return f"{self.name}/{self.id}" if self.id else self.name

    @property
    def gone(self):
        return self.status == GONE

    @property
    def action(self):
        return self.status.split("_", 1)[0]

    @property
    def in_progress(self):
        return self.status.endswith("_IN_PROGRESS")

    @property
    def failed(self):
        return self.status.endswith("_FAILED")


class Provider(ABC):
    """A cloud that runs lab stacks. ``ref`` is a stack name, or ``name/id``."""

    type_name = ""
    # The longest one call of ours to the cloud can take, in seconds: how long
    # a create that has not answered may still land.
    request_timeout = 150.0
    # Where this cloud's labs answer SSH (their port 22): another port where
    # the cloud forwards it (the ``ssh_port`` of the provider's settings).
    ssh_port = 22

    def __init__(self, name):
        self.name = name

    @abstractmethod
    def create_stack(self, name, template, environment=None, parameters=None, files=None,
                     timeout_mins=None):
        """Start creating a stack; returns its StackInfo (usually CREATE_IN_PROGRESS)."""

    @abstractmethod
    def get_stack(self, ref):
        """The stack's status, reason and outputs; status GONE if it does not exist."""

    @abstractmethod
    def suspend_stack(self, ref):
        """Start suspending; StackNotFound if it does not exist."""

    @abstractmethod
    def resume_stack(self, ref):
        """Start resuming; StackNotFound if it does not exist."""

    @abstractmethod
    def delete_stack(self, ref):
        """Start deleting; a stack that is already gone is not an error."""

    def resource_states(self, ref):
        """The state of each of the stack's resources, as {name: "CREATE_COMPLETE"};
        None where the provider cannot tell. Heat's own status can say an
        action failed that never touched a resource (it accepts a resume of a
        running stack, and fails it): these say what the stack really is."""
        return None

    def get_stacks(self, stack_ids):
        """Many stacks by id, as {id: StackInfo} without outputs; a stack that
        does not exist is missing from the result. Providers with a query by
        id override this; the default lists all stacks once."""
        wanted = set(stack_ids)
        return {info.id: info for info in self.list_stacks() if info.id in wanted}

    def validate_template(self, template, environment=None, files=None, parameters=None):
        """The cloud's own judgement of a template: its parameters as a dict;
        PermanentProviderError with the cloud's message where it would refuse
        the template.

        Heat's template-validate judges no parameter values: a template whose
        every create fails (a parameter nobody gives a value, a ``get_param``
        of a parameter the template does not declare) passes it. With
        ``parameters`` (those a launch passes), the template is also judged
        as a create with them would be, and nothing is created."""
        raise PermanentProviderError(f"provider {self.name} cannot validate templates")

    @abstractmethod
    def list_stacks(self, prefix=""):
        """Our stacks (name starting with ``prefix``) as StackInfo, without outputs."""
