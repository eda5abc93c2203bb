"""Progress checks against a learner who fights back: the scripts never land
on the lab's disk (nothing there to read or swap), a lab's output is dropped
as it streams, a lab that refuses to run anything is logged into once, one
that cannot be reached a few times, and a check whose worker died ends."""

import threading
import time

import psutil
import pytest
from django.utils import timezone

from hastexo_lab import api, checks
from hastexo_lab.models import ProgressCheck

from .factories import make_stack
from .hostile_lab import DROP, FLOOD, REFUSE, HostileLab, stack_for
from .test_checks import run_check
from .test_tasks import providers, wait_ready
from .test_terminal import run_on_lab

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lab(worker, lab_settings):
    lab_settings.XBLOCK_SETTINGS["hastexo_lab"].update(remote_exec_timeout=5, check_timeout=20)
    lab_settings.XBLOCK_SETTINGS = dict(lab_settings.XBLOCK_SETTINGS)
    return wait_ready(api.launch("course-v1:Org+Lab+2026", "alice", providers("cloud-a")), timeout=15)


# The learner's loop: every file that shows up in the home (or a folder in it)
# becomes a script that passes, and is noted in ~/.faked. Builtins only, no
# sleep: it wins any race against an upload.
FAKER = r"""
cat > ~/.faker <<'EOF'
while :; do
  for f in ~/* ~/.[!.]* ~/*/* ~/.[!.]*/*; do
    case "$f" in */.faker|*/.faked) continue;; esac
    [ -f "$f" ] || continue
    { read -r first; read -r second; } < "$f"
    [ "$second" = "# faked" ] && continue
    printf '#!/bin/sh\n# faked\nexit 0\n' > "$f" && echo "$f" >> ~/.faked
  done
done
EOF
nohup bash ~/.faker >/dev/null 2>&1 </dev/null &
echo $!
"""
SECRET = "the-authors-answer-4711"


def test_a_learner_can_neither_swap_nor_read_the_scripts(lab):
    faker = run_on_lab(lab, FAKER).strip()
    assert faker.isdigit()
    try:
        failing = [f"#!/bin/sh\n# {SECRET}\necho 'not yet {n}' >&2\nexit 1\n" for n in range(4)]
        not_a_file = "#!/bin/sh\nif [ -f \"$0\" ]; then echo \"I am a file: $0\" >&2; exit 1; fi\n"
        check = run_check(lab, [*failing, not_a_file])
        assert check.status == "done", check.message
        assert check.hints == [f"not yet {n}" for n in range(4)], "a failing script failed"
        assert check.passed == 1, "the script is no file on the lab's disk"
        assert run_on_lab(lab, "cat ~/.faked 2>/dev/null") == "", "the learner's loop never saw a script"
        assert sorted(run_on_lab(lab, "ls -A ~").split()) == [".faker"], "nothing left in the home"
        assert run_on_lab(lab, f"grep -rl {SECRET} ~ 2>/dev/null") == ""
    finally:
        run_on_lab(lab, f"kill {faker}")


def test_the_interpreter_of_the_hash_bang_line_runs_the_script_with_nothing_on_its_stdin(lab):
    check = run_check(lab, [
        "#!/usr/bin/env python3\nimport sys\nsys.exit(0 if sys.stdin.read() == '' else 1)\n",
        "#!/bin/sh -e\nfalse\nexit 0\n",  # the line's argument is given: -e stops at false
        "#!/bin/bash\nif read -r line; then echo \"read: $line\" >&2; exit 1; fi\necho fine\n",
        "#!/no/such/interpreter\nexit 0\n",
        "[ -n \"$BASH_VERSION\" ]\n",  # no #!: bash
    ])
    assert check.status == "done", check.message
    assert check.passed == 3, check.hints
    assert len(check.hints) == 1 and "/no/such/interpreter" in check.hints[0]


@pytest.fixture
def quick_checks(worker, settings):
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"remote_exec_timeout": 20, "check_timeout": 30}}
    return settings


class PeakMemory:
    """The most this process's resident memory grew over its baseline, sampled."""

    def __init__(self):
        self.process = psutil.Process()
        self.baseline = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.running = False
        self.thread.join()

    @property
    def growth(self):
        return self.peak - self.baseline


def test_a_flood_of_output_is_dropped_as_it_streams(quick_checks):
    flood = 200 * 1024 * 1024
    with HostileLab(FLOOD, flood_bytes=flood) as hostile:
        stack = stack_for(hostile)
        with PeakMemory() as memory:
            check = run_check(stack, ["#!/bin/sh\nexit 1\n"], timeout=60)
    assert memory.growth < 50 * 1024 * 1024, f"the worker grew by {memory.growth / 2**20:.0f} MB"
    assert check.status == "done" and check.passed == 0, check.message
    assert check.hints == ["x" * checks.HINT_LIMIT], "the hint is cut"
    assert hostile.commands == 1


def test_a_lab_that_refuses_to_run_anything_is_logged_into_once(quick_checks):
    with HostileLab(REFUSE) as hostile:
        check = run_check(stack_for(hostile), ["#!/bin/sh\nexit 0\n"], timeout=60)
    assert hostile.logins == 1
    assert check.status == "failed" and "did not let the check run" in check.message


def test_a_lab_that_cannot_be_reached_is_tried_a_few_times(quick_checks):
    with HostileLab(DROP) as hostile:
        began = time.monotonic()
        check = run_check(stack_for(hostile), ["#!/bin/sh\nexit 0\n"], timeout=60)
    assert hostile.connections == 3, "three tries"
    assert checks.CONNECT_ATTEMPTS == 3
    assert check.status == "failed" and "could not be reached" in check.message
    assert time.monotonic() - began < 15, "with short pauses in between, not until check_timeout"


def test_a_check_whose_worker_died_ends_when_the_learner_looks(settings, db):
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"check_timeout": 60}}
    stack = make_stack()
    long_ago = timezone.now() - timezone.timedelta(minutes=10)  # check_timeout and a margin ago
    lost = ProgressCheck.objects.create(stack=stack, anonymous_student_id="alice", usage_id="unit", total=2,
                                        started_at=long_ago)
    slow = ProgressCheck.objects.create(stack=stack, anonymous_student_id="alice", usage_id="other", total=2,
                                        started_at=timezone.now() - timezone.timedelta(seconds=60))
    # The result the learner asks for: ended, and says why.
    seen = checks.latest("alice", "unit")
    assert (seen.pk, seen.status) == (lost.pk, "failed") and "interrupted" in seen.message
    assert checks.latest("alice", "other").status == "running", "a slow check is not a lost one"
    # Another click starts a new check instead of handing out the lost one forever.
    ProgressCheck.objects.filter(pk=lost.pk).update(status="running", running=True, message="")
    check, created = checks.start(stack, anonymous_student_id="alice", usage_id="unit", total=2)
    assert created and check.pk != lost.pk
    lost.refresh_from_db()
    assert lost.status == "failed"
    # Its task, delivered again at last, ends it rather than running it.
    ProgressCheck.objects.filter(pk=slow.pk).update(started_at=long_ago)
    assert checks.run(slow.pk, ["#!/bin/sh\nexit 0\n"], "training") is None
    slow.refresh_from_db()
    assert slow.status == "failed" and "interrupted" in slow.message
