"""The lab XBlock: fields, views and handlers. Thin by design: handlers parse
and check input, call ``api``, and shape the reply."""

import json
import logging

from django.utils.translation import gettext_noop
from web_fragments.fragment import Fragment
from xblock.core import XBlock
from xblock.exceptions import JsonHandlerError
from xblock.fields import Boolean, Float, Integer, List, Scope, String
from xblock.utils.resources import ResourceLoader
from xblock.utils.studio_editable import StudioEditableXBlockMixin
from xblock.validation import ValidationMessage

from . import api, authoring, clouds, conf, handlers, i18n, page, viewers
from .block_grading import LabGradingMixin
from .block_olx import LabOlxMixin
from .providers import ProviderConfigError, ProviderError

log = logging.getLogger(__name__)
loader = ResourceLoader(__name__)
_ = gettext_noop


@XBlock.wants("user")
@XBlock.wants("i18n")
class LabBlock(LabGradingMixin, LabOlxMixin, StudioEditableXBlockMixin, XBlock):
    """A per-learner lab: a Heat stack reached through a terminal in the page.
    Graded and completed as ``grading`` says (``LabGradingMixin``)."""

    # No children: a lab can live in a content library (v2), which refuses
    # blocks with children. Its instructions are its own content.
    has_children = False
    icon_class = "problem"
    # The browser's translations define this namespace (i18n.py); the platform
    # compiles the catalogs it pulls for the block under it too.
    i18n_js_namespace = i18n.JS_NAMESPACE

    display_name = String(display_name=_("Display name"), default=_("Lab"), scope=Scope.settings)
    weight = Float(display_name=_("Weight"), default=1.0, scope=Scope.settings,
                   help=_("The maximum score of the lab's progress checks."))
    instructions = String(display_name=_("Instructions"), default="", scope=Scope.content,
                          multiline_editor="html", help=_("Shown above the lab."))
    stack_user_name = String(display_name=_("Stack user name"), default="", scope=Scope.settings,
                             help=_("The account learners log in as (required)."))
    stack_protocol = String(display_name=_("Protocol"), default="ssh", values=authoring.PROTOCOLS,
                            scope=Scope.settings, help=_("ssh for a terminal, rdp or vnc for a desktop."))
    stack_template_path = String(display_name=_("Template path"), default="", scope=Scope.settings,
                                 help=_("The Heat template in the course's files (unless every provider has one)."))
    shared_environment = String(
        display_name=_("Shared environment"), default="", scope=Scope.settings,
        help=_("Labs of a course with the same name here share each learner's lab. Empty: labs with the same "
               "template and providers share it, and a lab with another template gets a lab of its own."))
    providers = List(display_name=_("Providers"), default=[], scope=Scope.settings,
                     help=_('In order of preference: [{"name": "default", "capacity": -1, "template": "...", '
                            '"environment": "..."}]. Capacity -1 is unlimited, 0 disables.'))
    ports = List(display_name=_("Ports"), default=[], scope=Scope.settings,
                 help=_('Connections learners can choose: [{"name": "server1", "number": 22}].'))
    launch_timeout = Integer(display_name=_("Launch timeout"), default=None, scope=Scope.settings,
                             help=_("Seconds; empty: the platform's setting."))
    suspend_timeout = Integer(display_name=_("Suspend timeout"), default=None, scope=Scope.settings,
                              help=_("Seconds without activity before the lab is suspended; empty: the platform's."))
    delete_age = Integer(display_name=_("Delete age"), default=None, scope=Scope.settings,
                         help=_("Seconds unused before the lab is deleted; 0: never; empty: the platform's."))
    read_only = Boolean(display_name=_("Read only"), default=False, scope=Scope.settings,
                        help=_("Learners watch the terminal but cannot type."))
    hidden = Boolean(display_name=_("Hidden"), default=False, scope=Scope.settings,
                     help=_("Launch the lab in the background without showing the terminal."))
    progress_check_label = String(display_name=_("Progress check label"), default=_("Check Progress"),
                                  scope=Scope.settings)
    tests = List(display_name=_("Progress checks"), default=[], scope=Scope.content,
                 help=_("Scripts run on the lab; each passes with exit status 0."))
    show_feedback = Boolean(display_name=_("Show feedback"), default=True, scope=Scope.settings,
                            help=_("Show how many progress checks passed."))
    show_hints_on_error = Boolean(display_name=_("Show hints"), default=True, scope=Scope.settings,
                                  help=_("Show what failed checks printed, as hints."))
    progress_check_result_heading = String(display_name=_("Progress check result heading"),
                                           default=_("Progress check result"), scope=Scope.settings)
    enable_fullscreen = String(display_name=_("Full screen"), default="inherit",
                               values=("true", "false", "inherit"), scope=Scope.settings,
                               help=_("Offer a full-screen terminal: true, false, or the platform's setting."))
    stack_key_type = String(display_name=_("Key type"), default="", values=("", "rsa", "ed25519"),
                            scope=Scope.settings,
                            help=_("Kept from hastexo XBlock courses; the template creates the key pair."))
    # What an OLX import left out or could not honour, shown to authors in Studio.
    import_warnings = List(default=[], scope=Scope.settings)
    port = Integer(default=None, scope=Scope.user_state)

    editable_fields = ("display_name", "weight", "instructions", "stack_user_name", "stack_protocol",
                       "stack_template_path", "shared_environment", "providers", "ports", "launch_timeout",
                       "suspend_timeout", "delete_age", "read_only", "hidden", "progress_check_label", "tests",
                       "show_feedback", "show_hints_on_error", "progress_check_result_heading",
                       "enable_fullscreen")

    # -- who and where ----------------------------------------------------------

    @property
    def course_key(self):
        """The course's key as the platform hands it (a CourseKey; a library's
        key for a lab in a library), which its course files are kept under;
        None outside a course."""
        return authoring.course_key_from(*self._course_ids())

    @property
    def course_run(self):
        """The course run as a string, for stack names and the stacks'
        course_id (the usage id where there is no course)."""
        return authoring.course_run_from(*self._course_ids(), default=self.scope_ids.usage_id)

    def _course_ids(self):
        """The LMS has the course on the usage key (and the runtime); the
        workbench sets ``course_id`` on the block itself."""
        return (getattr(self.scope_ids.usage_id, "context_key", None), getattr(self.runtime, "course_id", None),
                self.__dict__.get("course_id"))

    @property
    def learner_id(self):
        """The learner's anonymous id (the user service's, else the runtime's user id)."""
        user_service = self.runtime.service(self, "user")
        if user_service is not None:
            user = user_service.get_current_user()
            anonymous = user.opt_attrs.get("edx-platform.anonymous_user_id")
            if anonymous:
                return str(anonymous)
        return str(self.scope_ids.user_id)

    @property
    def observing(self):
        """Staff looking at this unit as a specific learner: they see the
        learner's lab, and change nothing of it (``viewers``)."""
        return viewers.is_masquerading(self.runtime.service(self, "user"))

    def _observed(self):
        reply = api.status_for(api.find(self.stack_name))
        reply.pop("terminal_url", None)
        reply.update(observer=True, message=str(self._i18n(_(
            "You are viewing this lab as the learner sees it: {state} Nothing is started, kept or changed for "
            "them from this view.")).format(state=reply.get("message", ""))))
        return reply

    def _may_author(self):
        """Studio (its preview runtime is in author mode) and course staff in
        the LMS. Outside the platform (the workbench, the demo) there are no
        roles: whoever edits the lab may."""
        if getattr(self.runtime, "is_author_mode", False):
            return True
        service = self.runtime.service(self, "user")
        attrs = service.get_current_user().opt_attrs if service is not None else {}
        if "edx-platform.user_is_staff" not in attrs:
            return True
        return bool(attrs["edx-platform.user_is_staff"])

    def _refuse_learners(self):
        if not self._may_author():
            raise JsonHandlerError(403, "only the course team may do this")

    @XBlock.handler
    def fallback_handler(self, handler_name, request, suffix=""):
        """A handler this block does not have: 404, not a server error."""
        from webob import Response
        return Response(status=404, content_type="text/plain", charset="utf-8",
                        body=f"this lab has no handler {handler_name[:80]!r}".encode())

    def _refuse_observers(self):
        if self.observing:
            raise JsonHandlerError(403, "staff viewing as a learner cannot act on the learner's lab")

    @property
    def stack_name(self):
        return api.stack_name(self.course_run, self.learner_id, self.environment_key)

    @property
    def environment_key(self):
        """Which of the learner's labs in this course this block opens.

        The hastexo XBlock gave a learner one lab per course, and courses
        written for it expect their labs to share it; they still do where the
        blocks mean the same environment: the same shared environment name,
        or (without one) the same template and providers. A block that means
        another environment gets its own stack. Read-only, protocol and ports
        are the block's own, never the stack's.
        """
        if self.shared_environment:
            return self.shared_environment
        return api.environment_digest(self.stack_template_path, self.providers)

    def _lab_options(self):
        settings = conf.get_settings()
        return {
            "suspend_timeout": self.suspend_timeout or settings.suspend_timeout,
            "delete_age": settings.delete_age if self.delete_age is None else self.delete_age,
            "launch_timeout": self.launch_timeout or settings.launch_timeout,
        }

    def _selected_port(self):
        numbers = [p["number"] for p in self.ports if isinstance(p, dict)]
        if self.port in numbers:
            return self.port
        return numbers[0] if numbers else authoring.DEFAULT_PORTS.get(self.stack_protocol, 22)

    # -- views ------------------------------------------------------------------

    def student_view(self, context=None):
        settings = conf.get_settings()
        frag = Fragment()
        frag.add_content(loader.render_django_template("templates/lab.html", {"block": self},
                                                       i18n_service=self.runtime.service(self, "i18n")))
        frag.add_css(loader.load_unicode("static/css/lab.css"))
        i18n.add_javascript_catalog(frag, self, self.runtime.service(self, "i18n"))
        frag.add_javascript(loader.load_unicode("static/js/lab.js"))
        timeouts = settings.js_timeouts
        frag.initialize_js("HastexoLabBlock", {
            "timeouts": {"status": timeouts.status, "keepalive": timeouts.keepalive, "idle": timeouts.idle,
                         "check": timeouts.check},
            "hidden": self.hidden,
            "read_only": self.read_only,
            "ports": [p for p in self.ports if isinstance(p, dict)],
            "port": self._selected_port(),
            "terminal_url": self._terminal_url(),
            "terminal": settings.terminal,
            "checks": bool(self.tests),
            "fullscreen": self.enable_fullscreen != "false",
            "observer": self.observing,
            "suspend_timeout": self._lab_options()["suspend_timeout"],
        })
        return frag

    # -- handlers ---------------------------------------------------------------

    @handlers.json_handler
    def status(self, data, suffix=""):
        """The lab's phase; with ``{"launch": true}`` it also launches or resumes it."""
        data = _object(data)
        launch = data.get("launch", False)
        if not isinstance(launch, bool):
            raise JsonHandlerError(400, "launch must be true or false")
        if launch and self.observing:
            return self._observed()
        if launch:
            problems = authoring.check_lab(self._author_values())
            if problems:
                log.warning("lab %s is misconfigured: %s", self.scope_ids.usage_id, problems)
                return {"phase": api.FAILED, "message": str(self._i18n(
                    _("This lab is misconfigured; please tell the course team.")))}
            try:
                candidates = self._launch_candidates()
            except authoring.TemplateNotFound as exc:
                log.error("lab %s: template not found: %s", self.scope_ids.usage_id, exc)
                return {"phase": api.FAILED, "message": str(self._i18n(
                    _("This lab's template could not be found; please tell the course team.")))}
            reply = api.launch_within_limit(self.course_run, self.learner_id, candidates,
                                            learner=self._django_user(), lab=self.environment_key,
                                            protocol=self.stack_protocol, port=self._selected_port(),
                                            username=self.stack_user_name, **self._lab_options())
            return self._shaped(reply, api.find(self.stack_name))
        stack = api.find(self.stack_name)
        return self._shaped(api.status_for(stack), stack)

    @handlers.json_handler
    def keepalive(self, data, suffix=""):
        _object(data)
        if self.observing:
            return self._observed()
        options = self._lab_options()
        reply = api.keepalive_by_name(self.stack_name, options["suspend_timeout"], options["delete_age"])
        if reply["phase"] == api.READY:
            self.note_use(self.stack_name)
        return self._shaped(reply, api.find(self.stack_name))

    def _shaped(self, reply, stack):
        """A status reply with the lab's clock, and a ready lab's terminal address."""
        reply.update(page.times(stack))
        if reply["phase"] == api.READY and not self.hidden:
            reply["terminal_url"] = self._terminal_url()
        return reply

    @XBlock.handler
    def leave(self, request, suffix=""):
        """The page is going away: the lab may be suspended sooner. Never
        launches, resumes or keeps a lab alive, so a forged request (an image
        in a forum post, another site's form) can at most do that much, and
        only a POST of the page's own JSON body is taken."""
        from webob import Response
        if request.method != "POST":
            return Response(status=405, headerlist=[("Allow", "POST")], content_type="text/plain",
                            charset="utf-8", body=b"leave takes a POST")
        try:
            body = json.loads(request.body) if request.content_type == "application/json" else None
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict) or body.get("leaving") is not True:
            return Response(status=400, content_type="text/plain", charset="utf-8",
                            body=b'leave takes the JSON body {"leaving": true}')
        if not self.observing:
            api.leave(self.stack_name)
        return Response(status=204)

    @handlers.json_handler
    def reset(self, data, suffix=""):
        """Throw the learner's lab away; the next launch builds a fresh one."""
        if _object(data).get("confirm") is not True:
            raise JsonHandlerError(400, "reset needs {\"confirm\": true}")
        self._refuse_observers()
        stack = api.find(self.stack_name)
        if stack is not None:
            # Over a blocking usage limit the lab is removed, not built again.
            api.delete(stack, reason="reset by the learner", relaunch=api.blocking_verdict(stack) is None)
            stack.refresh_from_db()
        return self._shaped(api.status_for(stack), stack)

    @handlers.json_handler
    def set_port(self, data, suffix=""):
        self._refuse_observers()
        port = _object(data).get("port")
        numbers = [p.get("number") for p in self.ports if isinstance(p, dict)]
        if not isinstance(port, int) or isinstance(port, bool) or port not in numbers:
            raise JsonHandlerError(400, f"port must be one of {numbers}")
        self.port = port
        return {"port": port, "terminal_url": self._terminal_url()}

    @XBlock.handler
    def terminal_ticket(self, request, suffix=""):
        """A single-use ticket for the terminal gateway, for this learner's
        ready lab, with this block's port, protocol and read-only setting.
        Bound to the browser by an HttpOnly cookie (set here when missing;
        over HTTPS partitioned, for the learning MFE's frame on another site)."""
        from webob import Response

        from .terminal import tickets
        if request.method != "POST":
            return Response(status=405, headerlist=[("Allow", "POST")], content_type="text/plain",
                            charset="utf-8", body=b"terminal_ticket takes a POST")
        if self.observing:  # staff viewing as a learner get no way into the learner's lab
            return Response(status=403, content_type="text/plain", charset="utf-8", body=b"viewing as a learner")
        if conf.get_settings().terminal == "guacamole":
            return self._guacamole_url()
        browser_key = request.cookies.get(tickets.BROWSER_COOKIE, "")
        fresh_key = not tickets.valid_browser_key(browser_key)
        if fresh_key:
            browser_key = tickets.new_browser_key()
        reply = {"ticket": None}
        if self.hidden:
            reply["message"] = str(self._i18n(_("This lab has no terminal.")))
        elif self.stack_protocol != "ssh" and conf.get_settings().terminal == "builtin":
            reply["message"] = str(self._i18n(_("This lab's desktop needs Guacamole, which this site does not "
                                                "offer; please tell the course team.")))
            reply["final"] = True
        else:
            stack = api.find(self.stack_name)
            reply["ticket"] = tickets.mint(
                stack, anonymous_student_id=self.learner_id, browser_key=browser_key,
                username=self.stack_user_name, port=self._selected_port(), protocol=self.stack_protocol,
                read_only=self.read_only, ttl=conf.get_settings().terminal_ticket_ttl)
            if reply["ticket"] is None:
                reply.update(api.status_for(stack))
        response = page.private_json(reply)
        if fresh_key:
            # Written out: webob knows no Partitioned, which HTTPS needs (browser_cookie says why).
            cookie = tickets.browser_cookie(browser_key, https=page.is_https(request))
            response.headerlist.append(("Set-Cookie", cookie))
        return response

    @handlers.json_handler
    def check_progress(self, data, suffix=""):
        """Run the progress checks on the learner's lab (resuming it first if
        it is suspended); a second click while one runs gets that one."""
        from . import checks, tasks
        from . import lifecycle as lc
        _object(data)
        self._refuse_observers()
        if not self.tests:
            return {"status": "none", "message": str(self._i18n(_("This lab has no progress checks.")))}
        stack = api.find(self.stack_name)
        if stack is None or stack.status in lc.ABSENT or stack.status in lc.FAILED:
            return {"status": "failed", "message": str(self._i18n(_("Start your lab first, then check it.")))}
        if stack.status not in lc.UP:
            verdict = api.blocking_verdict(stack) if stack.status in api.NEEDS_A_NEW_RUN else None
            if verdict is not None:
                return {"status": "failed", "message": verdict.message()}
            api.bring_up(stack)
            stack.refresh_from_db()
        check, created = checks.start(stack, anonymous_student_id=self.learner_id,
                                      usage_id=str(self.scope_ids.usage_id), total=len(self.tests))
        if created:
            tasks.enqueue_check(check.pk, self.tests, self.stack_user_name)
        return self._check_reply(check)

    @handlers.json_handler
    def check_result(self, data, suffix=""):
        """The learner's last check in this lab unit (running or finished)."""
        from . import checks
        _object(data)
        return self._check_reply(checks.latest(self.learner_id, str(self.scope_ids.usage_id)))

    def _check_reply(self, check):
        from . import checks
        if check is None:
            return {"status": "none"}
        reply = {"status": check.status, "heading": str(self._i18n(self.progress_check_result_heading))}
        if check.status == check.RUNNING:
            reply["message"] = str(self._i18n(_("Your lab is being started for the check...") if check.resumed_lab
                                              else _("Checking your progress...")))
            return reply
        if check.status == check.FAILED:
            reply["message"] = str(self._i18n(_(check.message)))
            return reply
        if checks.claim_publication(check):
            self.publish_check_result()
        if self.show_feedback:
            reply.update(passed=check.passed, total=check.total)
            reply["message"] = str(self._i18n(_("{passed} of {total} checks passed."))).format(
                passed=check.passed, total=check.total)
            score = page.score(self.get_score(), self._best_check(), self.weight, len(self.tests))
            if score is not None:
                reply["score"] = score
        else:
            reply["message"] = str(self._i18n(_("Your progress was checked.")))
        if self.show_hints_on_error and check.hints:
            reply["hints"] = list(check.hints)
        return reply

    def _guacamole_url(self):
        """Guacamole's address with a fresh blob for this learner's ready lab."""
        from webob import Response

        from .terminal import guacamole, tickets
        reply = {"url": None}
        stack = api.find(self.stack_name)
        if self.hidden:
            reply["message"] = str(self._i18n(_("This lab has no terminal.")))
        elif stack is not None and stack.anonymous_student_id != self.learner_id:
            return Response(status=403, content_type="text/plain", charset="utf-8", body=b"not your lab")
        elif not tickets.is_open(stack, self.learner_id):
            reply.update(api.status_for(stack))
        else:
            try:
                reply["url"] = guacamole.open_url(
                    conf.get_settings(), stack, learner_id=self.learner_id, username=self.stack_user_name,
                    port=self._selected_port(), protocol=self.stack_protocol, read_only=self.read_only,
                    connection_name=self.display_name or "Lab")
            except guacamole.GuacamoleUnavailable as exc:
                log.error("lab %s: %s", self.scope_ids.usage_id, exc)
                reply["message"] = str(self._i18n(_("The lab's remote desktop service is not answering. "
                                                    "Please try again in a moment.")))
        return page.private_json(reply)

    # -- helpers ----------------------------------------------------------------

    def _terminal_url(self):
        """Where the terminal page is: the same for every lab and learner (it
        names no stack); what it opens comes with a ticket (or, for
        Guacamole, a fresh blob from ``terminal_ticket``)."""
        settings = conf.get_settings()
        return settings.guacamole_url if settings.terminal == "guacamole" else settings.terminal_url

    def _author_values(self):
        return {name: getattr(self, name) for name in self.editable_fields}

    def _launch_candidates(self):
        candidates, course_key = [], self.course_key
        for entry in self.providers or [{"name": name} for name in conf.get_settings().providers][:1]:
            template_path = entry.get("template") or self.stack_template_path
            candidates.append({
                "name": entry["name"],
                "capacity": entry.get("capacity", -1),
                "template": authoring.load_course_file(course_key, template_path),
                "environment": authoring.load_course_file(course_key, entry.get("environment", "")),
            })
        return candidates

    def _django_user(self):
        user_service = self.runtime.service(self, "user")
        user_id = None
        if user_service is not None:
            user_id = user_service.get_current_user().opt_attrs.get("edx-platform.user_id")
        if user_id is None:
            return None
        from django.contrib.auth import get_user_model
        return get_user_model().objects.filter(pk=user_id).first()

    def _i18n(self, text):
        service = self.runtime.service(self, "i18n")
        return service.gettext(text) if service is not None else text

    # -- Studio -----------------------------------------------------------------

    def author_view(self, context=None):
        """Studio's view of the unit (and the authoring MFE's, which frames
        it): the lab's summary, what is wrong with it, a check of its
        template at the cloud. No lab is started for an author."""
        values = self._author_values()
        try:
            known = set(conf.get_settings().providers) or None
        except ProviderConfigError:
            known = None
        problems = authoring.check_lab(values, known) or authoring.check_files(values, self.course_key)
        summary = authoring.summary(values)
        summary["problems"] = [f"{self.fields[field].display_name}: {message}" for field, message in problems]
        summary["warnings"] = [str(self._i18n(_("Imported: {warning}"))).format(warning=warning)
                               for warning in self.import_warnings]
        frag = Fragment()
        frag.add_content(loader.render_django_template("templates/author.html", {"summary": summary},
                                                       i18n_service=self.runtime.service(self, "i18n")))
        frag.add_css(loader.load_unicode("static/css/author.css"))
        i18n.add_javascript_catalog(frag, self, self.runtime.service(self, "i18n"))
        frag.add_javascript(loader.load_unicode("static/js/author.js"))
        frag.initialize_js("HastexoLabAuthor")
        return frag

    def studio_view(self, context=None):
        """The xblock-utils editor, wrapped: errors next to their fields, and
        a save that works where the runtime is not Studio's (the demo)."""
        frag = super().studio_view(context)
        frag.add_css(loader.load_unicode("static/css/studio.css"))
        i18n.add_javascript_catalog(frag, self, self.runtime.service(self, "i18n"))
        frag.add_javascript(loader.load_unicode("static/js/studio.js"))
        frag.initialize_js("HastexoLabStudio")
        return frag

    @handlers.json_handler
    def check_template(self, data, suffix=""):
        """Studio: ask each of the lab's clouds what it thinks of the lab's
        template (Heat's own validation), before any learner launches it."""
        _object(data)
        self._refuse_learners()
        try:
            candidates = self._launch_candidates()
        except authoring.TemplateNotFound as exc:
            return {"results": [{"provider": "", "ok": False, "message": str(exc)}]}
        results = []
        for candidate in candidates:
            result = {"provider": candidate["name"], "ok": False}
            try:
                provider = clouds.get_provider(candidate["name"])
                parameters = provider.validate_template(candidate["template"], _yaml_or_empty(candidate["environment"]),
                                                        parameters=api.launch_parameters(self.course_run))
                result.update(ok=True, message=str(self._i18n(_("Accepted. Parameters: {names}"))).format(
                    names=", ".join(sorted(parameters)) or "-"))
            except (ProviderError, ProviderConfigError) as exc:
                result["message"] = getattr(exc, "message", None) or str(exc)
            results.append(result)
        return {"results": results}

    @handlers.json_handler(any_content_type=True)
    def submit_studio_edits(self, data, suffix=""):
        """Studio's Save: values of the wrong type are a 400 naming the field, not a 500."""
        self._refuse_learners()
        values = _object(data).get("values")
        if not isinstance(values, dict) or not isinstance(data.get("defaults", []), list):
            raise JsonHandlerError(400, "expected {\"values\": {...}, \"defaults\": [...]}")
        data.setdefault("defaults", [])
        for name, value in values.items():
            if name not in self.editable_fields:
                continue
            field = self.fields[name]
            try:
                if isinstance(field, Boolean) and not isinstance(value, bool):
                    raise ValueError(value)  # from_json would take "maybe" for False
                field.from_json(value)
            except (TypeError, ValueError):
                raise JsonHandlerError(400, {"messages": [{"type": "error", "text": str(self._i18n(
                    _("{field}: not a valid value")).format(field=field.display_name))}]})
        return StudioEditableXBlockMixin.submit_studio_edits.__wrapped__(self, data, suffix)

    def validate_field_data(self, validation, data):
        values = {name: getattr(data, name) for name in self.editable_fields}
        try:
            known = set(conf.get_settings().providers) or None
        except ProviderConfigError:
            known = None
        problems = authoring.check_lab(values, known)
        if not problems:
            problems = authoring.check_files(values, self.course_key)
        for field, message in problems:
            validation.add(ValidationMessage(ValidationMessage.ERROR, f"{self.fields[field].display_name}: {message}"))
        for warning in self.import_warnings:
            validation.add(ValidationMessage(ValidationMessage.WARNING, str(self._i18n(_("Imported: {warning}")))
                                             .format(warning=warning)))

    @staticmethod
    def workbench_scenarios():
        from .scenarios import SCENARIOS
        return SCENARIOS


def _yaml_or_empty(text):
    """An environment file's text as a mapping (Heat's client sends it parsed)."""
    import yaml
    try:
        value = yaml.safe_load(text or "") or {}
    except yaml.YAMLError:
        return {}
    return value if isinstance(value, dict) else {}


def _object(data):
    if not isinstance(data, dict):
        raise JsonHandlerError(400, "the request body must be a JSON object")
    return data
