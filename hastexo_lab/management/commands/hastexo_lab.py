"""``manage.py hastexo_lab``: operators' view of the labs, and their levers.

    list      stacks by filter              show NAME   one stack and its log
    suspend | resume | delete | reconcile   one stack by name, or all by filter (--dry-run)
    zombies   stacks at a cloud that no row accounts for (--delete)
    usage     hours running and suspended, launches, resumes, cost and saving (CSV, JSON)

``--json`` prints what a script would read. Whatever could not be done (a
broker or a cloud that does not answer, a stack named that was skipped, work
done here that failed) is said and exits non-zero.

An action's tasks go to the workers through the broker. A broker that lives
in this process only (``memory://``) reaches no worker: then the command
says so, runs the tasks itself, and returns once they are done.
"""

import io
import json
from datetime import UTC, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ... import conf, ops, usage
from ...models import Stack
from ...providers import ProviderConfigError

# How long the command waits for work it does itself (a broker of this
# process only) before it says what is not done yet: a launch's own timeout.
WAIT_HERE = 900
HERE = ("The broker ({transport}://) lives in this process only: no worker would receive these tasks. "
        "Doing the work here; this returns once it is done.")


def _filters(parser):
    parser.add_argument("--course", help="a course run id")
    parser.add_argument("--learner", help="an anonymous learner id or a username")
    parser.add_argument("--status", action="append", default=[], help="a stack status (repeatable)")
    parser.add_argument("--provider", help="a provider name")
    parser.add_argument("--needs-operator", action="store_true", help="stacks the sweeps gave up on")


def _when(value, name):
    """An ISO 8601 date or date and time (UTC unless it says otherwise)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{name}: {value!r} is not a date (2026-11-01) or a date and time "
                           "(2026-11-01T08:00)") from None
    if len(value) <= 10:
        moment = datetime.combine(moment.date(), time.min)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "List, inspect and act on hastexo_lab stacks; zombies; the usage and cost report."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        listing = sub.add_parser("list", help="stacks by filter")
        _filters(listing)
        listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100; 0: all)")
        listing.add_argument("--json", action="store_true")
        show = sub.add_parser("show", help="one stack and its log")
        show.add_argument("name")
        show.add_argument("--json", action="store_true")
        for action in ops.ACTIONS:
            acting = sub.add_parser(action, help=f"{action} stacks, by name or by filter")
            acting.add_argument("names", nargs="*", metavar="NAME")
            _filters(acting)
            acting.add_argument("--all", action="store_true", help="every stack (when no name or filter is given)")
            acting.add_argument("--dry-run", action="store_true", help="say what would be done, do nothing")
            acting.add_argument("--json", action="store_true")
        zombies = sub.add_parser("zombies", help="stacks at a cloud no row accounts for")
        zombies.add_argument("--delete", action="store_true", help="delete them at their cloud")
        zombies.add_argument("--json", action="store_true")
        report = sub.add_parser("usage", help="the usage and cost report")
        report.add_argument("--by", choices=("learner", "course"), default="course")
        report.add_argument("--since", help="from this date (default: --days before --until)")
        report.add_argument("--until", help="until this date (default: now)")
        report.add_argument("--days", type=int, default=30, help="the window's length when --since is not given")
        report.add_argument("--course", help="one course run only")
        report.add_argument("--format", choices=("csv", "json"), default="csv")
        report.add_argument("--output", help="write to this file instead of the standard output")

    def handle(self, *args, subcommand, **options):
        try:
            return getattr(self, "_" + subcommand)(**options) or None
        except (ops.FilterError, ops.BrokerError, ProviderConfigError) as exc:
            raise CommandError(str(exc)) from None

    # -- looking --------------------------------------------------------------

    def _select(self, options, names=()):
        return ops.select(names=names, course=options.get("course"), learner=options.get("learner"),
                          status=options.get("status") or (), provider=options.get("provider"),
                          needs_operator_only=options.get("needs_operator", False))

    def _list(self, limit, **options):
        if limit < 0:
            raise CommandError(f"--limit must be 0 or more, not {limit}")
        stacks = self._select(options).select_related("learner")
        stacks = stacks[:limit] if limit else stacks
        rows = [ops.describe(s) for s in stacks]
        if options["json"]:
            return self._json(rows)
        if not rows:
            self.stdout.write("No stacks match.")
        for row in rows:
            self.stdout.write(f"{row['name']}  {row['status']}  {row['provider'] or '-'}  {row['course_id']}  "
                              f"{row['learner']}  since {row['status_changed_at']}")

    def _show(self, name, **options):
        stack = Stack.objects.select_related("learner").filter(name=name).first()
        if stack is None:
            raise CommandError(f"no stack named {name!r}")
        data = ops.describe(stack)
        data["log"] = ops.history(stack)
        if options["json"]:
            return self._json(data)
        for key, value in data.items():
            if key != "log":
                self.stdout.write(f"{key:18} {value if value not in (None, '') else '-'}")
        self.stdout.write("log:")
        for entry in data["log"]:
            self.stdout.write(f"  {entry['at']}  {entry['from'] or 'NEW'} -> {entry['to']}  {entry['reason']}")

    # -- acting ---------------------------------------------------------------

    def _act(self, action, names, options):
        filtered = any(options.get(k) for k in ("course", "learner", "status", "provider", "needs_operator"))
        if not names and not filtered and not options["all"]:
            raise CommandError(f"{action}: name the stacks, give a filter, or say --all")
        stacks = list(self._select(options, names))
        who = "manage.py hastexo_lab"
        here = not options["dry_run"] and ops.check_broker()
        if here:
            self.stderr.write(HERE.format(transport=here))
            with ops.WorkerHere() as worker:
                outcome = ops.act(action, stacks, who=who)
                finished = worker.wait(WAIT_HERE)
            done = ops.results(outcome)
        else:
            outcome = ops.act(action, stacks, who=who, dry_run=options["dry_run"])
        if options["json"]:
            data = {**outcome.as_dict(), "done_here": bool(here)}
            if here:
                data["results"] = [{"stack": n, "status": st, "error": e} for n, st, e in done]
            self._json(data)
        elif here:
            for name, status, error in done:
                self.stdout.write(f"{name}: {action}: {status}" + (f" ({error})" if error else ""))
        else:
            verb = "would" if outcome.dry_run else "queued:"
            for name, what in outcome.queued:
                self.stdout.write(f"{name}: {verb} {what}")
        if not options["json"]:
            for name, why in outcome.skipped:
                self.stdout.write(f"{name}: skipped, {why}")
            acted = "would be acted on" if outcome.dry_run else "done here" if here else "queued"
            self.stdout.write(f"{len(outcome.queued)} {acted}, {len(outcome.skipped)} skipped.")
        problems = [f"{name} was skipped ({why})" for name, why in outcome.skipped if name in names]
        if here:
            undone = [f"{n} is {st}" + (f" ({e})" if e else "") for n, st, e in done if st in ops.UNDONE]
            if not finished:
                problems.append(f"the work was not done within {WAIT_HERE} s: " + ", ".join(undone))
            else:
                problems += undone
        if problems:
            raise CommandError(f"{action}: " + "; ".join(problems))

    def _suspend(self, names, **options):
        return self._act("suspend", names, options)

    def _resume(self, names, **options):
        return self._act("resume", names, options)

    def _delete(self, names, **options):
        return self._act("delete", names, options)

    def _reconcile(self, names, **options):
        return self._act("reconcile", names, options)

    def _zombies(self, delete, **options):
        result = ops.zombies(delete=delete)
        left = {(p, n) for p, n, _ in result.not_deleted}
        if options["json"]:
            self._json([{"provider": p, "stack": n, "deleted": delete and (p, n) not in left}
                        for p, n in result.found])
        else:
            for provider, name in result.found:
                self.stdout.write(f"{provider}  {name}" + ("  (deleting)" if delete and (provider, name) not in left
                                                           else ""))
            where = " at the clouds that answered" if result.unreachable else ""
            self.stdout.write(f"{len(result.found)} zombie stacks{where}"
                              + (", being deleted." if delete and result.found else "."))
        problems = [f"cannot list the stacks at {p}: {why}" for p, why in result.unreachable]
        problems += [f"could not delete {n} at {p} (it is {status})" for p, n, status in result.not_deleted]
        if problems:
            raise CommandError("zombies: " + "; ".join(problems))

    # -- reporting ------------------------------------------------------------

    def _usage(self, by, since, until, days, course, format, output, **options):
        until_at = _when(until, "--until") or timezone.now()
        if days <= 0:
            raise CommandError(f"--days must be at least 1, not {days}")
        since_at = _when(since, "--since") or until_at - timedelta(days=days)
        settings = conf.get_settings()
        try:
            rows = usage.report(by, since_at, until_at, prices=settings.hourly_prices, course_id=course,
                                currency=settings.currency)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        text = io.StringIO()
        if format == "json":
            text.write(usage.to_json(rows) + "\n")
        else:
            usage.write_csv(rows, text)
        if not output:
            self.stdout.write(text.getvalue(), ending="")
            return
        try:
            with open(output, "w", newline="", encoding="utf-8") as handle:
                handle.write(text.getvalue())
        except OSError as exc:
            raise CommandError(f"--output: cannot write {output}: {exc.strerror}") from None
        self.stderr.write(f"{len(rows)} rows written to {output}")

    def _json(self, data):
        self.stdout.write(json.dumps(data, indent=2, sort_keys=True))

