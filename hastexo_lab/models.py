"""The stack of each learner, and the append-only log of its state changes.

Only ``lifecycle.transition()`` and ``lifecycle.create()`` write ``status``.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import crypto, lifecycle

PROTOCOLS = (("ssh", "SSH"), ("rdp", "RDP"), ("vnc", "VNC"))


class StackQuerySet(models.QuerySet):
    def holding(self, provider):
        """Stacks that take a slot of ``provider``'s capacity: all but the absent ones."""
        return self.filter(provider=provider).exclude(status__in=list(lifecycle.ABSENT))


class Stack(models.Model):
    name = models.CharField(_("stack name"), max_length=255, unique=True,
                            help_text=_("The stack's name at the provider (Heat)."))
    course_id = models.CharField(_("course run"), max_length=255)
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="hastexo_lab_stacks", verbose_name=_("learner"))
    anonymous_student_id = models.CharField(_("anonymous learner id"), max_length=64)

    status = models.CharField(_("status"), max_length=32)
    previous_status = models.CharField(_("previous status"), max_length=32, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"))
    status_reason = models.TextField(_("reason for the status"), blank=True)
    error_message = models.TextField(_("error message"), blank=True,
                                     help_text=_("What went wrong, in words a learner or operator can act on."))

    provider = models.CharField(_("provider"), max_length=64, blank=True)
    provider_stack_id = models.CharField(_("stack id at the provider"), max_length=64, blank=True)
    # The launch candidates, in order: [{"name", "capacity", "template", "environment"}].
    providers = models.JSONField(_("providers to try"), default=list, blank=True)
    providers_tried = models.JSONField(_("providers tried"), default=list, blank=True)
    parameters = models.JSONField(_("stack parameters"), default=dict, blank=True)
    template = models.TextField(_("template used at launch"), blank=True)
    environment = models.TextField(_("environment used at launch"), blank=True)

    protocol = models.CharField(_("protocol"), max_length=8, choices=PROTOCOLS, default="ssh")
    port = models.PositiveIntegerField(_("port"), null=True, blank=True)
    ip = models.CharField(_("IP address or host name"), max_length=255, blank=True)
    private_key_encrypted = models.TextField(_("private key (encrypted)"), blank=True, editable=False)
    password_encrypted = models.TextField(_("password (encrypted)"), blank=True, editable=False)

    launch_timeout = models.PositiveIntegerField(_("launch timeout (s)"), default=900)
    suspend_timeout = models.PositiveIntegerField(_("suspend timeout (s)"), default=120)
    delete_age = models.PositiveIntegerField(_("delete age (s)"), default=14 * 86400,
                                             help_text=_("0: never delete."))
    suspend_by = models.DateTimeField(_("suspend after"), null=True, blank=True,
                                      help_text=_("Moved forward by every keepalive."))
    last_activity = models.DateTimeField(_("last activity"), null=True, blank=True)
    reachable_at = models.DateTimeField(_("accepting connections since"), null=True, blank=True,
                                        help_text=_("Empty while the lab is up but not yet answering."))
    delete_by = models.DateTimeField(_("delete after"), null=True, blank=True)
    resume_requested = models.BooleanField(_("resume when suspended"), default=False)
    poll_seq = models.PositiveIntegerField(default=0, editable=False)
    # When a poll last looked; the reconciler restarts chains that went quiet.
    polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The task that claimed the current launch; only it (retried or
    # redelivered) may call create for a stack that has no provider id yet.
    launch_task_id = models.CharField(max_length=64, blank=True, editable=False)
    # Set while that task's create request is on its way to the cloud: until
    # then a redelivered copy of the task does not create again, and a delete
    # does not take "not found" for "gone", since the create may still land.
    create_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts at the current operation"), default=0)
    # The lab's SSH host key as first seen ("type base64"); later connections
    # must find the same one. A new stack (a launch, a reset) starts afresh.
    host_key = models.TextField(_("SSH host key"), blank=True, editable=False)
    # A reset: once the delete is done, the fresh lab is launched at once.
    relaunch_after_delete = models.BooleanField(_("relaunch when deleted"), default=False)
    # The user learners log in as (the block's); readiness logs in as them.
    username = models.CharField(_("user on the lab"), max_length=64, blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = StackQuerySet.as_manager()

    class Meta:
        verbose_name = _("stack")
        verbose_name_plural = _("stacks")
        indexes = [
            # suspender: running stacks whose deadline passed
            models.Index(fields=["status", "suspend_by"], name="hxl_stack_suspend_idx"),
            # reaper: unused stacks
            models.Index(fields=["status", "delete_by"], name="hxl_stack_delete_idx"),
            # reconciler: stacks stuck in a state, or whose watcher went quiet
            models.Index(fields=["status", "status_changed_at"], name="hxl_stack_stuck_idx"),
            models.Index(fields=["status", "polled_at"], name="hxl_stack_polled_idx"),
            # capacity counts
            models.Index(fields=["provider", "status"], name="hxl_stack_provider_idx"),
            # usage reports, the learner's stacks in a course
            models.Index(fields=["course_id", "anonymous_student_id"], name="hxl_stack_learner_idx"),
        ]

    def __str__(self):
        return f"{self.name} ({self.status})"

    @property
    def provider_ref(self):
        """How the provider finds this stack: name/id when the id is known."""
        return f"{self.name}/{self.provider_stack_id}" if self.provider_stack_id else self.name

    def secrets(self):
        """The decrypted private key and password; for the server side only."""
        return {"private_key": crypto.decrypt(self.private_key_encrypted),
                "password": crypto.decrypt(self.password_encrypted)}


class StackLog(models.Model):
    """One row per status change of a stack. Rows are never changed."""

    stack = models.ForeignKey(Stack, on_delete=models.CASCADE, related_name="log", verbose_name=_("stack"))
    from_status = models.CharField(_("from"), max_length=32, blank=True)
    to_status = models.CharField(_("to"), max_length=32)
    reason = models.TextField(_("reason"), blank=True)
    task_id = models.CharField(_("task id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("when"))

    class Meta:
        verbose_name = _("stack log entry")
        verbose_name_plural = _("stack log")
        ordering = ["stack", "created_at", "id"]
        # A stack's story in order; with to_status in it, the usage report's
        # window over the whole log reads the index alone (no sort, no table).
        indexes = [models.Index(fields=["stack", "created_at", "id", "to_status"], name="hxl_log_usage_idx")]

    def __str__(self):
        return f"{self.stack_id}: {self.from_status or 'NEW'} -> {self.to_status}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("StackLog rows are append-only")
        super().save(*args, **kwargs)


class ProviderUsage(models.Model):
    """One row per provider; launches lock it while they count its stacks, so
    concurrent launches cannot exceed a provider's capacity."""

    name = models.CharField(_("provider"), max_length=64, unique=True)
    launches = models.PositiveBigIntegerField(_("launches placed"), default=0)

    class Meta:
        verbose_name = _("provider usage")
        verbose_name_plural = _("provider usage")

    def __str__(self):
        return self.name


class TerminalTicket(models.Model):
    """The right to open one terminal session, once, for a few seconds.

    Minted by the block for a learner who owns a ready stack, redeemed by the
    terminal gateway. Only a hash of the ticket is stored, and of the
    browser key (a cookie) it is bound to: a ticket that leaks from the page
    is of no use in another browser.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    browser_hash = models.CharField(max_length=64)
    stack = models.ForeignKey(Stack, on_delete=models.CASCADE, related_name="terminal_tickets")
    anonymous_student_id = models.CharField(_("anonymous learner id"), max_length=64)
    username = models.CharField(_("user on the lab"), max_length=64)
    protocol = models.CharField(_("protocol"), max_length=8, choices=PROTOCOLS, default="ssh")
    port = models.PositiveIntegerField(_("port"))
    read_only = models.BooleanField(_("read-only"), default=False)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)

    class Meta:
        verbose_name = _("terminal ticket")
        verbose_name_plural = _("terminal tickets")
        indexes = [models.Index(fields=["expires_at"], name="hxl_ticket_expires_idx")]

    def __str__(self):
        return f"ticket for {self.stack_id} ({'redeemed' if self.redeemed_at else 'open'})"


class ProgressCheck(models.Model):
    """One run of a lab's progress checks for one learner, and its result.

    At most one is running per learner and lab unit (a second click gets the
    running one). ``published`` says the grade went to the LMS.
    """

    RUNNING, DONE, FAILED = "running", "done", "failed"
    STATUSES = ((RUNNING, _("running")), (DONE, _("done")), (FAILED, _("could not run")))

    stack = models.ForeignKey(Stack, on_delete=models.CASCADE, related_name="checks")
    anonymous_student_id = models.CharField(_("anonymous learner id"), max_length=64)
    usage_id = models.CharField(_("lab unit"), max_length=255)
    status = models.CharField(_("status"), max_length=16, choices=STATUSES, default=RUNNING)
    # True while the check runs, NULL once it ended. With the learner and the
    # unit it is unique, and NULLs never collide, so there is at most one
    # running check per learner and unit on every database: MySQL has no
    # partial unique indexes, and a unique constraint with a condition would
    # be silently left out there (Django's models.W036).
    running = models.BooleanField(null=True, default=True, editable=False)
    passed = models.PositiveIntegerField(_("passed"), default=0)
    total = models.PositiveIntegerField(_("checks"), default=0)
    hints = models.JSONField(_("hints"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    resumed_lab = models.BooleanField(_("resumed the lab first"), default=False)
    published = models.BooleanField(_("grade published"), default=False)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("progress check")
        verbose_name_plural = _("progress checks")
        indexes = [models.Index(fields=["anonymous_student_id", "usage_id", "started_at"], name="hxl_check_idx")]
        constraints = [models.UniqueConstraint(fields=["anonymous_student_id", "usage_id", "running"],
                                               name="hxl_one_running_check")]

    def __str__(self):
        return f"check {self.pk} of {self.stack_id}: {self.status} {self.passed}/{self.total}"
