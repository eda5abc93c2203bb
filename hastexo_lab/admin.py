"""Operators see every stack and its log; they change stacks only through the API."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import api
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


@admin.register(Stack)
class StackAdmin(admin.ModelAdmin):
    list_display = ("name", "course_id", "anonymous_student_id", "status", "provider", "status_changed_at",
                    "suspend_by", "last_activity")
    list_filter = ("status", "provider")
    search_fields = ("name", "course_id", "anonymous_student_id", "learner__username", "ip")
    exclude = ("private_key_encrypted", "password_encrypted", "template", "environment")
    inlines = [StackLogInline]
    actions = ["suspend_stacks", "delete_stacks"]
    list_select_related = ("learner",)
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Suspend the selected stacks"))
    def suspend_stacks(self, request, queryset):
        done = sum(api.suspend(stack, reason=f"suspended by {request.user}") for stack in queryset)
        self.message_user(request, ngettext("%d stack is being suspended.", "%d stacks are being suspended.",
                                            done) % done, messages.SUCCESS)

    @admin.action(description=_("Delete the selected stacks at the cloud"))
    def delete_stacks(self, request, queryset):
        done = sum(api.delete(stack, reason=f"deleted by {request.user}") for stack in queryset)
        self.message_user(request, ngettext("%d stack is being deleted.", "%d stacks are being deleted.",
                                            done) % done, messages.SUCCESS)


@admin.register(ProviderUsage)
class ProviderUsageAdmin(admin.ModelAdmin):
    list_display = ("name", "launches")
    readonly_fields = ("name", "launches")
