"""Operators see every stack and its story, never its secrets, and act on
stacks only through the lifecycle: an action queues the real suspend,
resume, delete or reconcile (``ops``), after a confirmation page."""

import hashlib

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import lifecycle as lc
from . import ops, sweeps
from .models import ProviderUsage, Stack, StackLog


class StackLogInline(admin.TabularInline):
    model = StackLog
    fields = ("created_at", "from_status", "to_status", "reason", "task_id")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-created_at", "-id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NeedsOperatorFilter(admin.SimpleListFilter):
    title = _("needs an operator")
    parameter_name = "needs_operator"

    def lookups(self, request, model_admin):
        return (("yes", _("Yes: the sweeps gave up")),)

    def queryset(self, request, queryset):
        return queryset.filter(sweeps.gave_up()) if self.value() == "yes" else queryset


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(state, state) for state in lc.STATES]

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


# Fields never shown: the lab's secrets, and what the author wrote (large).
SECRET_FIELDS = ("private_key_encrypted", "password_encrypted")
# The launch candidates carry each provider's template and environment: shown
# as names and digests instead (``launch_candidates``).
AUTHORED_FIELDS = ("template", "environment", "providers")


def digest(text):
    """A short digest that tells two templates apart without showing either."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12] if text else "-"


@admin.register(Stack)
class StackAdmin(admin.ModelAdmin):
    list_display = ("name", "course_id", "anonymous_student_id", "status", "provider", "status_changed_at",
                    "suspend_by", "last_activity", "attempts")
    list_filter = (StatusFilter, "provider", NeedsOperatorFilter, "course_id")
    search_fields = ("name", "course_id", "anonymous_student_id", "learner__username", "learner__email", "ip")
    exclude = (*SECRET_FIELDS, *AUTHORED_FIELDS)
    inlines = [StackLogInline]
    actions = ["suspend_stacks", "resume_stacks", "delete_stacks", "reconcile_stacks"]
    list_select_related = ("learner",)
    show_full_result_count = False
    date_hierarchy = "status_changed_at"

    def get_readonly_fields(self, request, obj=None):
        return [*(f.name for f in self.model._meta.fields if f.name not in self.exclude), "launch_candidates"]

    @admin.display(description=_("providers to try"))
    def launch_candidates(self, obj):
        """The providers a launch tries, in order, each with its capacity and
        the digests of its template and environment (never their text)."""
        candidates = [p for p in obj.providers or [] if isinstance(p, dict)]
        if not candidates:
            return "-"
        return "; ".join(
            _("%(name)s (capacity %(capacity)s, template %(template)s, environment %(environment)s)") % {
                "name": p.get("name", "?"), "capacity": p.get("capacity", "-"),
                "template": digest(p.get("template") or ""), "environment": digest(p.get("environment") or "")}
            for p in candidates)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _act(self, request, queryset, action, title):
        """Confirm first (a page listing what will be done), then queue the
        action for each stack it applies to and say what was queued."""
        stacks = list(queryset.order_by("name"))
        if request.POST.get("confirmed") != "yes":
            plan = ops.act(action, stacks, who=str(request.user), dry_run=True)
            context = {
                **self.admin_site.each_context(request), "title": title, "opts": self.model._meta,
                "action": request.POST.get("action"), "plan": plan, "stacks": stacks,
                # All the changelist's stacks: the confirmation carries the
                # filters (the URL) instead of every id.
                "select_across": request.POST.get("select_across") == "1",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/hastexo_lab/stack/confirm_action.html", context)
        outcome = ops.act(action, stacks, who=str(request.user))
        if outcome.queued:
            self.message_user(request, ngettext(
                "%(action)s queued for %(count)d stack: %(names)s.",
                "%(action)s queued for %(count)d stacks: %(names)s.", len(outcome.queued)) % {
                    "action": action.capitalize(), "count": len(outcome.queued),
                    "names": ", ".join(name for name, _ in outcome.queued[:20])
                    + (" ..." if len(outcome.queued) > 20 else "")}, messages.SUCCESS)
        for name, why in outcome.skipped[:20]:
            self.message_user(request, _("%(name)s: skipped, %(why)s.") % {"name": name, "why": why},
                              messages.WARNING)
        if len(outcome.skipped) > 20:
            self.message_user(request, _("%(count)d more skipped.") % {"count": len(outcome.skipped) - 20},
                              messages.WARNING)
        return None

    @admin.action(description=_("Suspend the selected stacks"), permissions=["change"])
    def suspend_stacks(self, request, queryset):
        return self._act(request, queryset, "suspend", _("Suspend these stacks?"))

    @admin.action(description=_("Resume the selected stacks"), permissions=["change"])
    def resume_stacks(self, request, queryset):
        return self._act(request, queryset, "resume", _("Resume these stacks?"))

    @admin.action(description=_("Delete the selected stacks at the cloud"), permissions=["change"])
    def delete_stacks(self, request, queryset):
        return self._act(request, queryset, "delete", _("Delete these stacks at their cloud?"))

    @admin.action(description=_("Reconcile the selected stacks with the cloud"), permissions=["change"])
    def reconcile_stacks(self, request, queryset):
        return self._act(request, queryset, "reconcile", _("Reconcile these stacks?"))


@admin.register(ProviderUsage)
class ProviderUsageAdmin(admin.ModelAdmin):
    list_display = ("name", "launches")
    readonly_fields = ("name", "launches")
