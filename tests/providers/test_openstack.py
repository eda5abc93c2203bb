"""The OpenStack provider against the fake cloud, through heatclient and keystoneauth1."""

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from hastexo_lab.providers import (
    GONE,
    PermanentProviderError,
    StackConflict,
    StackNotFound,
    TransientProviderError,
    make_provider,
)
from hastexo_lab.providers import openstack as openstack_module

from ..helpers import wait_until


def wait_status(provider, ref, status, timeout=5.0):
    return wait_until(lambda: (s := provider.get_stack(ref)).status == status and s,
                      timeout, what=f"{ref} to reach {status}")


def test_lifecycle_of_the_sample_template(provider, template):
    info = provider.create_stack("lab-learner1", template, parameters={"run": "run1"})
    assert info.status == "CREATE_IN_PROGRESS" and info.id
    ready = wait_status(provider, info.identifier, "CREATE_COMPLETE")
    assert set(ready.outputs) == {"public_ip", "private_key", "password"}
    assert ready.outputs["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert "private_key" not in repr(ready) and ready.outputs["password"] not in repr(ready)

    provider.suspend_stack(ready.identifier)
    wait_status(provider, ready.identifier, "SUSPEND_COMPLETE")
    provider.resume_stack(ready.identifier)
    assert wait_status(provider, ready.identifier, "RESUME_COMPLETE").outputs == ready.outputs

    provider.delete_stack(ready.identifier)
    wait_status(provider, ready.identifier, GONE)
    assert provider.get_stack("lab-learner1").gone


def test_list_by_prefix_pages_through_everything(provider, monkeypatch):
    monkeypatch.setattr(openstack_module, "LIST_PAGE_SIZE", 3)
    template = "heat_template_version: 2016-10-14\n"
    for i in range(7):
        provider.create_stack(f"hxl-{i}", template)
    provider.create_stack("other-1", template)
    names = sorted(s.name for s in provider.list_stacks("hxl-"))
    assert names == [f"hxl-{i}" for i in range(7)]
    assert len(provider.list_stacks()) == 8
    assert all(s.outputs == {} for s in provider.list_stacks())


def test_unknown_stacks(provider):
    assert provider.get_stack("nope").status == GONE
    provider.delete_stack("nope/00000000-0000-0000-0000-000000000000")
    with pytest.raises(StackNotFound) as err:
        provider.suspend_stack("nope")
    assert not err.value.transient and err.value.status == 404
    with pytest.raises(StackNotFound):
        provider.resume_stack("nope")


def test_conflicts_are_permanent(clocked_cloud):
    # The cloud's clock stands still: the create stays in progress, and a
    # resume then is refused as Heat refuses it (a suspend would be taken, and
    # fail later, as on Heat).
    provider = make_provider("test", clocked_cloud.provider_config())
    template = "heat_template_version: 2016-10-14\n"
    provider.create_stack("dup", template)
    with pytest.raises(StackConflict) as err:
        provider.create_stack("dup", template)
    assert err.value.status == 409 and "already exists" in err.value.message
    with pytest.raises(StackConflict):
        provider.resume_stack("dup")


def test_bad_template_is_permanent_and_says_why(provider, template):
    with pytest.raises(PermanentProviderError) as err:
        provider.create_stack("lab", template)
    assert err.value.status == 400
    assert "The Parameter (run) was not provided." in err.value.message
    assert "Provider 'test'" in err.value.message


@pytest.mark.parametrize("status, transient", [
    (500, True), (502, True), (503, True), (504, True), (429, True), (408, True),
    (400, False), (403, False), (404, False), (409, False),
])
def test_http_errors_are_classified(cloud, provider, status, transient):
    cloud.faults.add("create", "error", status=status)
    with pytest.raises(TransientProviderError if transient else PermanentProviderError) as err:
        provider.create_stack("lab", "heat_template_version: 2016-10-14\n")
    assert err.value.transient is transient
    assert err.value.status == status


def test_one_401_is_healed_by_reauthentication(cloud, provider):
    provider.list_stacks()
    cloud.faults.add("list", "error", status=401)
    assert provider.list_stacks() == []
    assert cloud.request_counts()["auth"] == 2


def test_401_after_reauthentication_is_permanent(cloud, provider):
    provider.list_stacks()
    cloud.faults.add("list", "error", status=401, count=2)
    with pytest.raises(PermanentProviderError) as err:
        provider.list_stacks()
    assert err.value.status == 401 and "credentials" in err.value.message


def test_bad_credentials_are_permanent(cloud):
    provider = make_provider("p", dict(cloud.provider_config(), os_password="wrong"))
    with pytest.raises(PermanentProviderError) as err:
        provider.list_stacks()
    assert "authentication failed" in err.value.message
    assert err.value.status == 401


def test_identity_outage_is_transient(cloud, provider):
    cloud.faults.add("auth", "error", status=503)
    with pytest.raises(TransientProviderError):
        provider.list_stacks()
    assert provider.list_stacks() == []


def test_unreachable_cloud_is_transient(cloud):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = dict(cloud.provider_config(), os_auth_url=f"http://127.0.0.1:{port}/v3", connect_timeout=1)
    with pytest.raises(TransientProviderError) as err:
        make_provider("p", config).list_stacks()
    assert "cannot reach" in err.value.message
    unversioned = dict(config, os_auth_url=f"http://127.0.0.1:{port}")
    with pytest.raises(TransientProviderError):
        make_provider("p", unversioned).list_stacks()


def test_dropped_connection_is_transient(cloud, provider):
    cloud.faults.add("create", "drop")
    with pytest.raises(TransientProviderError):
        provider.create_stack("lab", "heat_template_version: 2016-10-14\n")


def test_read_timeout_is_transient(cloud):
    provider = make_provider("p", dict(cloud.provider_config(), read_timeout=0.2))
    provider.list_stacks()
    cloud.faults.add("list", "slow", delay=1.0)
    with pytest.raises(TransientProviderError):
        provider.list_stacks()


def test_injected_failures_show_in_status(cloud, provider):
    cloud.faults.add("create", "fail", reason="No valid host was found")
    provider.create_stack("lab", "heat_template_version: 2016-10-14\n")
    failed = wait_status(provider, "lab", "CREATE_FAILED")
    assert failed.failed and "No valid host" in failed.reason


def test_token_authentication(cloud):
    cfg = cloud.config
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": cfg.user_id, "password": cfg.password}}}}}
    token = requests.post(cloud.auth_url + "/auth/tokens", json=body).headers["X-Subject-Token"]
    provider = make_provider("p", {"os_auth_url": cloud.auth_url, "os_auth_token": token,
                                   "os_project_id": cfg.project_id})
    assert provider.list_stacks() == []


def test_unversioned_auth_url_and_user_id(cloud):
    cfg = cloud.config
    provider = make_provider("p", {"type": "openstack", "os_auth_url": cloud.base_url,
                                   "os_user_id": cfg.user_id, "os_password": cfg.password,
                                   "os_project_id": cfg.project_id})
    assert provider.list_stacks() == []


def test_wrong_region_is_a_permanent_configuration_error(cloud):
    provider = make_provider("p", dict(cloud.provider_config(), os_region_name="Mars"))
    with pytest.raises(PermanentProviderError) as err:
        provider.list_stacks()
    assert "no orchestration (Heat) endpoint" in err.value.message


def test_concurrent_calls_share_one_session(cloud, provider):
    template = "heat_template_version: 2016-10-14\n"

    def one(i):
        provider.create_stack(f"c-{i}", template)
        return provider.get_stack(f"c-{i}").status

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(one, range(30)))
    assert set(statuses) <= {"CREATE_IN_PROGRESS", "CREATE_COMPLETE"}
    assert cloud.request_counts()["create"] == 30


def test_get_stacks_by_id_in_bulk(cloud, provider, monkeypatch):
    template = "heat_template_version: 2016-10-14\n"
    ids = [provider.create_stack(f"bulk-{i}", template).id for i in range(5)]
    cloud.reset_counts()
    found = provider.get_stacks(ids + ["00000000-0000-0000-0000-000000000000"])
    assert set(found) == set(ids)
    assert {info.name for info in found.values()} == {f"bulk-{i}" for i in range(5)}
    assert cloud.request_counts() == {"list": 1}


def test_answers_the_caller_acts_on_are_not_logged_as_failures(provider, template, caplog):
    import logging
    caplog.set_level(logging.DEBUG, logger="hastexo_lab")
    info = provider.create_stack("hxl-twice", template, parameters={"run": "r"})
    with pytest.raises(StackConflict):
        provider.create_stack("hxl-twice", template, parameters={"run": "r"})  # adopted by the launch
    provider.delete_stack(info.identifier)
    wait_until(lambda: provider.get_stack(info.identifier).gone, what="the delete")
    provider.delete_stack(info.identifier)  # a 404 that only means the delete finished
    assert provider.get_stack("hxl-never-made").gone
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING or "permanent" in r.getMessage()]
    assert noisy == [], [r.getMessage() for r in noisy]
