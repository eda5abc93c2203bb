"""An operator's command acts at once, or says why it cannot: its tasks reach
the workers of another process (the demo's, through the demo's broker); with
a broker of its own process only it does the work itself and says so; a
broker that does not answer is an error before anything changed."""

import json
import os
import signal
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from hastexo_lab import clouds
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from .factories import make_stack
from .helpers import ROOT, sample_template, start_command, wait_until

# Well under the reconciler's shortest wait (reconcile_after, 60 s at least):
# a stack that gets there did not wait for the sweep to send its task again.
PROMPTLY = 20


def demo_manage(data_dir, *args):
    """``python -m hastexo_lab.demo.manage``: another process beside the demo."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run([sys.executable, "-m", "hastexo_lab.demo.manage", "--data-dir", str(data_dir), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def demo_status(data_dir, name):
    shown = demo_manage(data_dir, "hastexo_lab", "show", name, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)["status"]


def wait_in_demo(data_dir, name, status, timeout=PROMPTLY):
    began = time.monotonic()
    wait_until(lambda: demo_status(data_dir, name) == status, timeout, interval=0.5,
               what=f"{name} to reach {status} in the demo")
    return time.monotonic() - began


LAUNCH = """
from hastexo_lab import api
template = open({template!r}).read()
stack = api.launch("course-v1:Org+Demo+Run", "operator-test", [{{"name": "default", "capacity": -1,
                   "template": template, "environment": ""}}])
print(stack.name)
"""


def test_a_command_beside_the_demo_reaches_its_worker_at_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    data = tmp_path / "demo"
    proc, banner = start_command("demo", "--port", "0", "--data-dir", str(data), "--create-time", "0.2",
                                 timeout=60, env=env)
    try:
        launched = demo_manage(data, "shell", "-c", LAUNCH.format(template=os.path.join(ROOT, "samples", "hot",
                                                                                          "lab.yaml")))
        assert launched.returncode == 0, launched.stderr
        name = launched.stdout.split()[-1]
        wait_in_demo(data, name, lc.CREATE_COMPLETE)
        for action, status in (("suspend", lc.SUSPEND_COMPLETE), ("resume", lc.RESUME_COMPLETE),
                               ("delete", lc.DELETE_COMPLETE)):
            done = demo_manage(data, "hastexo_lab", action, name)
            assert done.returncode == 0, done.stderr
            assert f"{name}: queued" in done.stdout and "lives in this process" not in done.stderr
            wait_in_demo(data, name, status)
        assert any("hastexo_lab.demo.manage" in line for line in banner), "the banner says how to run commands"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_beside_no_demo_the_command_says_so(tmp_path):
    done = demo_manage(tmp_path / "nothing", "hastexo_lab", "list")
    assert done.returncode == 2 and "no demo has run on" in done.stderr


# -- a broker of this process only --------------------------------------------------


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("hastexo_lab", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def stack_at_cloud(provider_name="cloud-a", **fields):
    """A running stack at the fake cloud and its row, as a launch leaves them."""
    provider = clouds.get_provider(provider_name)
    stack = make_stack(lc.CREATE_COMPLETE, provider=provider_name, ip="127.0.0.1", **fields)
    info = provider.create_stack(stack.name, sample_template(), parameters={"run": stack.course_id})
    wait_until(lambda: provider.get_stack(info.identifier).status == "CREATE_COMPLETE", 10,
               what="the stack at the cloud")
    Stack.objects.filter(pk=stack.pk).update(provider_stack_id=info.id)
    stack.refresh_from_db()
    return stack


@pytest.mark.skipif(bool(os.environ.get("HASTEXO_LAB_TEST_BROKER")),
                    reason="needs the suite's own in-process broker (memory://); the embedded pass runs it")
@pytest.mark.django_db(transaction=True)
def test_with_a_broker_of_its_own_process_the_command_does_the_work_itself(lab_settings):
    stack = stack_at_cloud()
    out, err = run("suspend", stack.name)
    assert "(memory://) lives in this process only" in err and "Doing the work here" in err
    assert f"{stack.name}: suspend: {lc.SUSPEND_COMPLETE}" in out and "1 done here, 0 skipped." in out
    assert Stack.objects.get(pk=stack.pk).status == lc.SUSPEND_COMPLETE  # when the command returns

    run("reconcile", stack.name)
    assert Stack.objects.get(pk=stack.pk).status == lc.SUSPEND_COMPLETE, "its cloud still has it"
    done = json.loads(run("delete", stack.name, "--json")[0])
    assert done["done_here"] and done["results"] == [{"stack": stack.name, "status": lc.DELETE_COMPLETE,
                                                       "error": ""}]
    assert Stack.objects.get(pk=stack.pk).status == lc.DELETE_COMPLETE


@pytest.mark.skipif(bool(os.environ.get("HASTEXO_LAB_TEST_BROKER")),
                    reason="needs the suite's own in-process broker (memory://); the embedded pass runs it")
@pytest.mark.django_db(transaction=True)
def test_work_done_here_that_fails_is_an_error(lab_settings):
    stack = stack_at_cloud()
    Stack.objects.filter(pk=stack.pk).update(provider="nowhere")
    with pytest.raises(CommandError) as error:
        run("suspend", stack.name)
    status = Stack.objects.get(pk=stack.pk).status
    assert status in lc.FAILED and f"{stack.name} is {status}" in str(error.value)


# -- a broker that does not answer --------------------------------------------------

SETTINGS = """
from tests.project.settings import *  # noqa
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {db!r}}}}}
CELERY_BROKER_URL = "amqp://guest:a-broker-password@127.0.0.1:1//"
"""


def test_a_broker_that_does_not_answer_is_an_error_and_nothing_changes(tmp_path):
    (tmp_path / "unreachable_settings.py").write_text(SETTINGS.format(db=str(tmp_path / "db.sqlite3")))
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="unreachable_settings",
               PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]))

    def manage(*args):
        return subprocess.run([sys.executable, "-c", "import django, sys; django.setup(); "
                               "from hastexo_lab.celery import app; app.set_default(); "
                               "from django.core.management import execute_from_command_line; "
                               "execute_from_command_line(['manage.py', *sys.argv[1:]])", *args],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert manage("migrate", "--run-syncdb", "--verbosity", "0").returncode == 0
    made = manage("shell", "-c", "from tests.factories import make_stack; print(make_stack().name)")
    assert made.returncode == 0, made.stderr
    name = made.stdout.split()[-1]
    done = manage("hastexo_lab", "suspend", name)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "cannot reach the broker amqp://guest:**@127.0.0.1:1//" in done.stderr
    assert "a-broker-password" not in done.stderr + done.stdout
    shown = json.loads(manage("hastexo_lab", "show", name, "--json").stdout)
    assert shown["status"] == lc.CREATE_COMPLETE, "nothing changed"
