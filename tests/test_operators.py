"""Operators' tools: the admin's actions and filters, and ``manage.py hastexo_lab``."""

import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from hastexo_lab import api, crypto
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from .factories import make_stack
from .helpers import ROOT, heat_for, wait_for_gone, wait_until
from .test_commands_reach_workers import stack_at_cloud
from .test_tasks import providers, wait_ready, wait_status

CHANGELIST = "/admin/hastexo_lab/stack/"


def admin_action(client, action, stacks, confirmed=True):
    data = {"action": action, "_selected_action": [s.pk for s in stacks]}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(CHANGELIST, data, follow=confirmed)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@pytest.mark.django_db(transaction=True)
def test_admin_actions_queue_the_real_work_on_a_worker(admin_client, worker, cloud, lab_settings):
    stack = api.launch("course-v1:Org+Ceph+2026", "learner1", providers("cloud-a"))
    wait_ready(stack)

    # First a confirmation page that says what will be queued, and changes nothing.
    page = admin_action(admin_client, "suspend_stacks", [stack], confirmed=False)
    assert page.status_code == 200 and b"Yes, go ahead" in page.content
    assert stack.name.encode() in page.content and b"suspend" in page.content
    stack.refresh_from_db()
    assert stack.status == lc.CREATE_COMPLETE

    done = admin_action(admin_client, "suspend_stacks", [stack])
    assert messages_of(done) == [f"Suspend queued for 1 stack: {stack.name}."]
    wait_status(stack, lc.SUSPEND_COMPLETE)
    assert "suspend by operator admin" in stack.log.filter(to_status=lc.SUSPEND_PENDING).last().reason
    assert heat_for(cloud).stacks.get(stack.provider_ref).stack_status == "SUSPEND_COMPLETE"

    admin_action(admin_client, "resume_stacks", [stack])
    wait_ready(stack)

    # Gone at the cloud behind our back: a reconcile finds out at once.
    heat_for(cloud).stacks.delete(stack.provider_ref)
    wait_for_gone(heat_for(cloud), stack.provider_ref)
    done = admin_action(admin_client, "reconcile_stacks", [stack])
    assert messages_of(done) == [f"Reconcile queued for 1 stack: {stack.name}."]
    wait_status(stack, lc.VANISHED)

    done = admin_action(admin_client, "delete_stacks", [stack])
    wait_status(stack, lc.DELETE_COMPLETE)


@pytest.mark.django_db
def test_an_action_skips_stacks_it_does_not_apply_to_and_says_why(admin_client):
    running, suspended = make_stack(lc.CREATE_COMPLETE), make_stack(lc.SUSPEND_COMPLETE)
    page = admin_action(admin_client, "suspend_stacks", [running, suspended], confirmed=False)
    text = page.content.decode()
    assert "nothing to suspend in SUSPEND_COMPLETE" in text
    done = admin_action(admin_client, "suspend_stacks", [running, suspended])
    assert messages_of(done) == [f"Suspend queued for 1 stack: {running.name}.",
                                 f"{suspended.name}: skipped, nothing to suspend in SUSPEND_COMPLETE."]
    assert Stack.objects.get(pk=running.pk).status == lc.SUSPEND_PENDING
    assert Stack.objects.get(pk=suspended.pk).status == lc.SUSPEND_COMPLETE


@pytest.mark.django_db
def test_admin_filters_search_and_no_secrets(admin_client, django_user_model):
    user = django_user_model.objects.create_user("carol", "carol@example.com")
    gave_up = make_stack(lc.DELETE_FAILED, attempts=10, course_id="course-v1:A+B+C")
    failing = make_stack(lc.DELETE_FAILED, attempts=0)
    mine = make_stack(lc.CREATE_COMPLETE, learner=user, private_key_encrypted=crypto.encrypt("SECRET-KEY"))
    listing = admin_client.get(CHANGELIST, {"needs_operator": "yes"}).content.decode()
    assert gave_up.name in listing and failing.name not in listing and mine.name not in listing
    listing = admin_client.get(CHANGELIST, {"status": lc.CREATE_COMPLETE}).content.decode()
    assert mine.name in listing and gave_up.name not in listing
    listing = admin_client.get(CHANGELIST, {"q": "carol"}).content.decode()
    assert mine.name in listing and gave_up.name not in listing
    listing = admin_client.get(CHANGELIST, {"course_id": "course-v1:A+B+C"}).content.decode()
    assert gave_up.name in listing and mine.name not in listing
    page = admin_client.get(f"{CHANGELIST}{mine.pk}/change/").content.decode()
    assert "SECRET" not in page and mine.private_key_encrypted not in page
    assert "made by a test" in page  # the log, inline and read-only
    assert 'name="log-0-reason"' not in page


# -- the command -------------------------------------------------------------------


def run(*args):
    out = StringIO()
    call_command("hastexo_lab", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_list_and_show(django_user_model):
    running = make_stack(lc.CREATE_COMPLETE, course_id="course-v1:X+Y+Z", provider="cloud-a")
    suspended = make_stack(lc.SUSPEND_COMPLETE)
    listed = json.loads(run("list", "--status", lc.CREATE_COMPLETE, "--json"))
    assert [row["name"] for row in listed] == [running.name]
    assert "private_key" not in json.dumps(listed) and "password" not in json.dumps(listed)
    assert running.name in run("list", "--course", "course-v1:X+Y+Z")
    assert suspended.name not in run("list", "--course", "course-v1:X+Y+Z")
    assert run("list", "--learner", "nobody") == "No stacks match.\n"
    shown = json.loads(run("show", running.name, "--json"))
    assert shown["status"] == lc.CREATE_COMPLETE and shown["log"][0]["reason"] == "made by a test"
    assert "NEW -> CREATE_COMPLETE" in run("show", running.name)


@pytest.mark.django_db
@pytest.mark.parametrize("args, message", [
    (("show", "hxl-nope"), "no stack named 'hxl-nope'"),
    (("list", "--status", "RUNNING"), "unknown status 'RUNNING'"),
    (("list", "--status", "CREATE_COMPLET"), "(did you mean CREATE_COMPLETE?)"),
    (("list", "--provider", "nowhere"), "unknown provider 'nowhere'"),
    (("list", "--limit", "-1"), "--limit must be 0 or more"),
    (("suspend",), "suspend: name the stacks, give a filter, or say --all"),
    (("delete", "hxl-nope"), "no stack named 'hxl-nope'"),
    (("usage", "--since", "yesterday"), "--since: 'yesterday' is not a date"),
    (("usage", "--since", "2026-12-01", "--until", "2026-11-01"), "since"),
    (("usage", "--days", "0"), "--days must be at least 1"),
])
def test_bad_input_is_a_clear_error(args, message):
    with pytest.raises(CommandError) as error:
        run(*args)
    assert message in str(error.value)


def test_a_failing_command_exits_non_zero_with_the_message():
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.project.settings", PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-m", "django", "hastexo_lab", "resume"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "resume: name the stacks, give a filter, or say --all" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(bool(os.environ.get("HASTEXO_LAB_TEST_BROKER")),
                    reason="needs the suite's own in-process broker (memory://); the embedded pass runs it")
@pytest.mark.django_db(transaction=True)
def test_actions_by_name_and_by_filter_with_a_dry_run(lab_settings):
    one, two = stack_at_cloud(course_id="c1"), stack_at_cloud(course_id="c1")
    other = stack_at_cloud(course_id="c2")
    planned = json.loads(run("suspend", "--course", "c1", "--dry-run", "--json"))
    assert planned["dry_run"] and sorted(q["stack"] for q in planned["queued"]) == sorted([one.name, two.name])
    assert Stack.objects.filter(status=lc.SUSPEND_PENDING).count() == 0
    # The suite's broker is this process's own: the command does the work itself.
    assert f"{one.name}: suspend: {lc.SUSPEND_COMPLETE}" in run("suspend", one.name)
    done = json.loads(run("suspend", "--course", "c1", "--json"))
    assert [q["stack"] for q in done["queued"]] == [two.name]
    assert done["skipped"] == [{"stack": one.name, "why": f"nothing to suspend in {lc.SUSPEND_COMPLETE}"}]
    assert Stack.objects.get(pk=other.pk).status == lc.CREATE_COMPLETE
    deleted = json.loads(run("delete", "--all", "--json"))
    assert len(deleted["queued"]) == 3


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [(), ("--dry-run",)])
def test_a_stack_named_that_the_action_does_not_apply_to_is_an_error(dry_run):
    suspended = make_stack(lc.SUSPEND_COMPLETE)
    with pytest.raises(CommandError) as error:
        run("suspend", suspended.name, *dry_run)
    assert f"{suspended.name} was skipped (nothing to suspend in {lc.SUSPEND_COMPLETE})" in str(error.value)
    assert Stack.objects.get(pk=suspended.pk).status == lc.SUSPEND_COMPLETE


@pytest.mark.django_db
def test_reconcile_retries_a_failed_delete_at_once_with_its_tries_afresh(settings):
    stuck = make_stack(lc.DELETE_FAILED, attempts=10)
    assert "try the delete again" in run("reconcile", "--needs-operator", "--dry-run")
    from hastexo_lab import sweeps
    sent = []
    sweeps.reconcile_stacks([stuck.pk], send=sent.extend, who="an operator")
    stuck.refresh_from_db()
    assert stuck.status == lc.DELETE_PENDING and stuck.attempts == 0
    assert [(f.kind, f.stack_id) for f in sent] == [("delete", stuck.pk)]


@pytest.mark.django_db(transaction=True)
def test_zombies_listed_and_deleted(cloud, lab_settings):
    from hastexo_lab import clouds
    provider = clouds.get_provider("cloud-a")
    provider.create_stack("hxl-zombie-1", "heat_template_version: 2016-10-14\n")
    found = json.loads(run("zombies", "--json"))
    assert {"provider": "cloud-a", "stack": "hxl-zombie-1", "deleted": False} in found
    assert "hxl-zombie-1" in run("zombies", "--delete")
    wait_until(lambda: not [s for s in provider.list_stacks(prefix="hxl-") if s.name == "hxl-zombie-1"
                            and not (s.action == "DELETE" and s.in_progress)], 10, what="the zombie to go")


@pytest.mark.django_db(transaction=True)
def test_zombies_at_a_cloud_that_does_not_answer_are_an_error_not_none(cloud, lab_settings):
    from hastexo_lab import clouds
    clouds.get_provider("cloud-a").create_stack("hxl-zombie-2", "heat_template_version: 2016-10-14\n")
    down = dict(cloud.provider_config(), os_auth_url="http://127.0.0.1:1/v3")
    lab_settings.XBLOCK_SETTINGS = {"hastexo_lab": dict(lab_settings.XBLOCK_SETTINGS["hastexo_lab"], providers={
        **lab_settings.XBLOCK_SETTINGS["hastexo_lab"]["providers"], "cloud-down": down})}
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("hastexo_lab", "zombies", stdout=out, stderr=StringIO())
    assert "cannot list the stacks at cloud-down" in str(error.value)
    assert "cloud-a  hxl-zombie-2" in out.getvalue(), "what the clouds that answered have is still said"
    assert "zombie stacks at the clouds that answered" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_zombie_the_cloud_would_not_delete_is_an_error(cloud, lab_settings):
    from hastexo_lab import clouds
    provider = clouds.get_provider("cloud-a")
    provider.create_stack("hxl-zombie-3", "heat_template_version: 2016-10-14\n")
    cloud.faults.add("delete", "error", status=409, count=10)
    with pytest.raises(CommandError) as error:
        run("zombies", "--delete")
    assert "could not delete hxl-zombie-3 at cloud-a" in str(error.value)


@pytest.mark.django_db
def test_view_only_staff_see_stacks_but_cannot_act(client, django_user_model):
    from django.contrib.auth.models import Permission
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_stack"))
    client.force_login(viewer)
    running = make_stack(lc.CREATE_COMPLETE)
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200 and running.name in listing.content.decode()
    assert "suspend_stacks" not in listing.content.decode()
    client.post(CHANGELIST, {"action": "suspend_stacks", "_selected_action": [running.pk], "confirmed": "yes"})
    assert Stack.objects.get(pk=running.pk).status == lc.CREATE_COMPLETE


@pytest.mark.django_db
def test_all_the_changelists_stacks_at_once_carry_the_filter_not_the_ids(admin_client):
    chosen = [make_stack(lc.CREATE_COMPLETE, course_id="big") for _ in range(3)]
    other = make_stack(lc.CREATE_COMPLETE, course_id="small")
    url = f"{CHANGELIST}?course_id=big"
    data = {"action": "suspend_stacks", "_selected_action": [chosen[0].pk], "select_across": "1", "index": "0"}
    page = admin_client.post(url, data).content.decode()
    assert 'name="select_across" value="1"' in page and page.count('name="_selected_action"') == 1
    admin_client.post(url, {"action": "suspend_stacks", "select_across": "1", "_selected_action": [chosen[0].pk],
                            "confirmed": "yes"})
    assert {s.status for s in Stack.objects.filter(course_id="big")} == {lc.SUSPEND_PENDING}
    assert Stack.objects.get(pk=other.pk).status == lc.CREATE_COMPLETE
