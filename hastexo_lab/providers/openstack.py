"""The OpenStack provider: Heat stacks over a keystoneauth1 session.

heatclient is used only here. Every call goes through :func:`_classified`,
which turns client exceptions into transient or permanent provider errors.
"""

import logging
import uuid
from contextlib import contextmanager

from heatclient import client as heat_client
from heatclient import exc as heat_exc
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import generic

from .. import metrics
from .base import (
    GONE,
    PermanentProviderError,
    Provider,
    StackConflict,
    StackInfo,
    StackNotFound,
    TransientProviderError,
)
from .openstack_config import OpenStackConfig

log = logging.getLogger(__name__)


class _WithoutBodies(logging.Filter):
    """keystoneauth logs whole response bodies at DEBUG, and Heat's hold a
    lab's outputs: its private key and password. Requests and response
    status lines still log; bodies never do."""

    def filter(self, record):
        return not str(record.msg).startswith("RESP BODY:")


# What keystoneauth logs about our HTTP calls goes here, not to its own logger.
http_log = logging.getLogger(__name__ + ".http")
http_log.addFilter(_WithoutBodies())

# How many stacks one list request asks for; Heat caps pages server-side too.
LIST_PAGE_SIZE = 500


def _is_transient_status(status):
    return status is not None and (status >= 500 or status in (408, 429))


def _heat_message(err):
    try:
        return err.error["error"]["message"]
    except (AttributeError, KeyError, TypeError):
        return str(err)


def classify(err, provider_name=""):
    """Map a heatclient/keystoneauth1 exception to a ProviderError subclass instance."""
    prefix = f"Provider {provider_name!r}: " if provider_name else ""
    if isinstance(err, heat_exc.HTTPException):
        status = err.code if isinstance(err.code, int) else None
        message = prefix + _heat_message(err)
        if _is_transient_status(status):
            return TransientProviderError(message, status)
        if status == 404:
            return StackNotFound(message, status)
        if status == 409:
            return StackConflict(message, status)
        if status == 401:
            message += " (the cloud refused a fresh token: check the provider credentials)"
        return PermanentProviderError(message, status)
    if isinstance(err, ks_exc.SSLError):
        return PermanentProviderError(f"{prefix}TLS verification failed: {err}")
    if isinstance(err, ks_exc.ConnectionError):
        return TransientProviderError(f"{prefix}cannot reach the cloud: {err}")
    if isinstance(err, ks_exc.HttpError):
        status = err.http_status
        if _is_transient_status(status):
            return TransientProviderError(f"{prefix}identity service error: {err}", status)
        if status == 401:
            return PermanentProviderError(
                f"{prefix}authentication failed: check os_username/os_user_id, os_password "
                f"or os_auth_token, the domains and the project ({err})", status)
        return PermanentProviderError(f"{prefix}identity service refused: {err}", status)
    if isinstance(err, ks_exc.DiscoveryFailure):
        cause = err.__cause__ or err.__context__
        if isinstance(cause, ks_exc.ConnectionError):
            return TransientProviderError(f"{prefix}cannot reach the identity service: {cause}")
        return PermanentProviderError(f"{prefix}os_auth_url does not lead to Keystone v3: {err}")
    if isinstance(err, (ks_exc.EndpointNotFound, ks_exc.EmptyCatalog)):
        return PermanentProviderError(
            f"{prefix}no orchestration (Heat) endpoint in the catalog for this region/interface: {err}")
    if isinstance(err, heat_exc.CommunicationError):
        return TransientProviderError(f"{prefix}{err}")
    return PermanentProviderError(f"{prefix}unexpected {type(err).__name__}: {err}")


class OpenStackProvider(Provider):
    """Heat behind Keystone v3. One session (and token) is shared by all calls."""

    type_name = "openstack"

    def __init__(self, name, config):
        super().__init__(name)
        self.config = OpenStackConfig.from_dict(name, config)
        self._heat = None

    @property
    def request_timeout(self):
        # A call may first fetch a token: two requests, each bounded by the
        # connect and read timeouts.
        return 2 * (self.config.connect_timeout + self.config.read_timeout)

    @property
    def heat(self):
        if self._heat is None:
            cfg = self.config
            # One logger, ours (split loggers would send bodies to a logger of keystoneauth's).
            session = ks_session.Session(auth=self._auth(), verify=cfg.verify, split_loggers=False)
            # requests takes (connect, read); keystoneauth passes the session's
            # timeout through unchanged.
            session.timeout = (cfg.connect_timeout, cfg.read_timeout)
            self._heat = heat_client.Client(
                "1", session=session, region_name=cfg.region_name or None, interface=cfg.interface,
                logger=http_log)
        return self._heat

    def _auth(self):
        cfg = self.config
        common = {
            "auth_url": cfg.auth_url,
            "project_id": cfg.project_id or None,
            "project_name": cfg.project_name or None,
            "project_domain_id": cfg.project_domain_id or None,
            "project_domain_name": cfg.project_domain_name or None,
        }
        if cfg.auth_token:
            return generic.Token(token=cfg.auth_token, **common)
        return generic.Password(
            username=cfg.username or None, user_id=cfg.user_id or None, password=cfg.password,
            user_domain_id=cfg.user_domain_id or None, user_domain_name=cfg.user_domain_name or None,
            **common)

    @contextmanager
    def _classified(self, what, expected=()):
        """Turn client errors into provider errors. Those in ``expected`` are
        answers the caller acts on (a 409 it adopts, a 404 that means a
        delete finished), logged as such rather than as failures."""
        try:
            yield
        except Exception as err:
            error = classify(err, self.name)
            if isinstance(error, expected):
                log.debug("provider %s: %s: %s", self.name, what, error.message)
            else:
                call, _, about = what.partition(" ")
                kind = metrics.provider_error(self.name, call, error)
                log.warning("provider %s: %s failed (%s): %s", self.name, what, kind, error.message,
                            extra={"hastexo_lab": {"event": "provider_error", "provider": self.name, "call": call,
                                                   "about": about, "kind": kind, "status": error.status,
                                                   "error": error.message}})
            raise error from err

    # -- the interface ----------------------------------------------------------

    def create_stack(self, name, template, environment=None, parameters=None, files=None,
                     timeout_mins=None):
        fields = {"stack_name": name, "template": template, "parameters": parameters or {},
                  "environment": environment or {}, "files": files or {}, "disable_rollback": True}
        if timeout_mins:
            fields["timeout_mins"] = int(timeout_mins)
        with self._classified(f"create {name}", expected=(StackConflict,)):
            body = self.heat.stacks.create(**fields)
        return StackInfo(name=name, id=body["stack"]["id"], status="CREATE_IN_PROGRESS")

    def validate_template(self, template, environment=None, files=None, parameters=None):
        fields = {"template": template, "environment": environment or {}, "files": files or {}}
        # A refusal is the answer asked for, not a failure of the call.
        with self._classified("validate template", expected=(PermanentProviderError,)):
            result = self.heat.stacks.validate(**fields)
        if parameters is not None:
            self._preview(dict(fields, parameters=parameters))
        return dict(result.get("Parameters") or {})

    def _preview(self, fields):
        """What a create with these fields would say, from Heat's create
        preview: it validates as a create does (every parameter needs a
        value, every property is resolved) and creates nothing. Heat
        refuses a preview named as a stack of the project, so the name is
        new each time."""
        name = f"template-check-{uuid.uuid4().hex[:12]}"
        try:
            with self._classified("preview template", expected=(PermanentProviderError,)):
                self.heat.stacks.preview(stack_name=name, disable_rollback=True, **fields)
        except PermanentProviderError as err:
            given = ", ".join(sorted(fields["parameters"])) or "none"
            heat_says = err.message.removeprefix(f"Provider {self.name!r}: ")
            raise PermanentProviderError(
                f"Provider {self.name!r}: a stack created from this template with the parameters a launch "
                f"passes ({given}) would fail: {heat_says}", err.status) from err

    def get_stack(self, ref):
        try:
            with self._classified(f"show {ref}", expected=(StackNotFound,)):
                stack = self.heat.stacks.get(ref)
        except StackNotFound:
            return StackInfo(name=ref.split("/")[0], id=None, status=GONE)
        outputs = {o["output_key"]: o.get("output_value") for o in (getattr(stack, "outputs", None) or [])}
        if stack.stack_status == "DELETE_COMPLETE":
            return StackInfo(name=stack.stack_name, id=stack.id, status=GONE)
        return StackInfo(name=stack.stack_name, id=stack.id, status=stack.stack_status,
                         reason=stack.stack_status_reason or "", outputs=outputs)

    def suspend_stack(self, ref):
        with self._classified(f"suspend {ref}", expected=(StackConflict,)):
            self.heat.actions.suspend(ref)

    def resume_stack(self, ref):
        with self._classified(f"resume {ref}", expected=(StackConflict,)):
            self.heat.actions.resume(ref)

    def delete_stack(self, ref):
        try:
            with self._classified(f"delete {ref}", expected=(StackNotFound,)):
                self.heat.stacks.delete(ref)
        except StackNotFound:
            log.info("provider %s: stack %s was already gone", self.name, ref)

    def resource_states(self, ref):
        with self._classified(f"list resources of {ref}"):
            return {r.resource_name: r.resource_status for r in self.heat.resources.list(ref)}

    def get_stacks(self, stack_ids):
        # Heat filters a list by id; chunks keep the URL short.
        found = {}
        ids = list(stack_ids)
        with self._classified("list stacks by id"):
            for start in range(0, len(ids), 100):
                for s in self.heat.stacks.list(filters={"id": ids[start:start + 100]}):
                    found[s.id] = StackInfo(name=s.stack_name, id=s.id, status=s.stack_status,
                                            reason=s.stack_status_reason or "")
        return found

    def list_stacks(self, prefix=""):
        found, marker = [], None
        with self._classified("list stacks"):
            while True:
                page = list(self.heat.stacks.list(limit=LIST_PAGE_SIZE, marker=marker))
                found.extend(page)
                if len(page) < LIST_PAGE_SIZE:
                    break
                marker = page[-1].id
        return [StackInfo(name=s.stack_name, id=s.id, status=s.stack_status,
                          reason=s.stack_status_reason or "")
                for s in found if s.stack_name.startswith(prefix)]
