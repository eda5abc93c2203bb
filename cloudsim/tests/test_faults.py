"""Fault injection, in process and over the admin API, and request counting."""

import pytest
import requests
from hastexo_cloudsim import parse_spec
from hastexo_cloudsim.testing import admin_session, heat_for, wait_for_status
from heatclient import exc as heat_exc
from keystoneauth1 import exceptions as ks_exc
from test_heat_api import MINIMAL, create


def test_operation_failure_for_the_next_n(cloud, heat):
    cloud.faults.add("create", "fail", count=2, reason="No valid host was found")
    for name in ("a", "b"):
        create(heat, name)
        stack = wait_for_status(heat, name, "CREATE_FAILED")
        assert "No valid host was found" in stack.stack_status_reason
    create(heat, "c")
    wait_for_status(heat, "c", "CREATE_COMPLETE")
    assert cloud.faults.active() == []


@pytest.mark.parametrize("op", ["suspend", "resume", "delete"])
def test_failed_actions(cloud, heat, op):
    create(heat)
    wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    if op == "resume":
        heat.actions.suspend("lab1")
        wait_for_status(heat, "lab1", "SUSPEND_COMPLETE")
    cloud.faults.add(op, "fail")
    if op == "delete":
        heat.stacks.delete(heat.stacks.get("lab1").id)
    else:
        getattr(heat.actions, op)("lab1")
    stack = wait_for_status(heat, "lab1", f"{op.upper()}_FAILED")
    assert "Injected fault" in stack.stack_status_reason


def test_a_failed_suspend_can_be_retried(cloud, heat):
    create(heat)
    wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    cloud.faults.add("suspend", "fail")
    heat.actions.suspend("lab1")
    wait_for_status(heat, "lab1", "SUSPEND_FAILED")
    heat.actions.suspend("lab1")
    wait_for_status(heat, "lab1", "SUSPEND_COMPLETE")


def test_hang_stays_in_progress(clocked_cloud, clock):
    heat = heat_for(clocked_cloud)
    clocked_cloud.faults.add("create", "hang")
    create(heat)
    clock.advance(24 * 3600)
    assert heat.stacks.get("lab1").stack_status == "CREATE_IN_PROGRESS"
    heat.stacks.delete(heat.stacks.get("lab1").id)
    clock.advance(1)
    assert list(heat.stacks.list()) == []


def test_http_error_fault(cloud, heat):
    cloud.faults.add("create", "error", status=503, reason="Heat is down for maintenance")
    with pytest.raises(heat_exc.HTTPServiceUnavailable) as err:
        create(heat)
    assert "Heat is down for maintenance" in str(err.value)
    create(heat)


@pytest.mark.parametrize("kind", ["update", "check", "validate", "resource_types"])
def test_error_faults_on_every_kind_of_request(cloud, heat, kind):
    create(heat)
    wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    cloud.faults.add(kind, "error", status=503, reason=f"no {kind} now")
    calls = {"update": lambda: heat.stacks.update("lab1", existing=True),
             "check": lambda: heat.actions.check("lab1"),
             "validate": lambda: heat.stacks.validate(template=MINIMAL),
             "resource_types": lambda: heat.resource_types.list()}
    with pytest.raises(heat_exc.HTTPServiceUnavailable) as err:
        calls[kind]()
    assert f"no {kind} now" in str(err.value)
    calls[kind]()  # the next one goes through


def test_error_fault_on_any_request_and_on_auth(cloud):
    cloud.faults.add("auth", "error", status=500)
    heat = heat_for(cloud)
    with pytest.raises(ks_exc.InternalServerError):
        list(heat.stacks.list())
    list(heat.stacks.list())
    cloud.faults.add("any", "error", status=502)
    with pytest.raises(heat_exc.HTTPException) as err:
        list(heat.stacks.list())
    assert err.value.code == 502


def test_drop_fault_closes_the_connection(cloud, heat):
    cloud.faults.add("list", "drop")
    with pytest.raises(ks_exc.ConnectionError):
        list(heat.stacks.list())
    assert list(heat.stacks.list()) == []


def test_slow_fault_delays_the_answer(cloud, heat):
    import time
    list(heat.stacks.list())
    cloud.faults.add("list", "slow", delay=0.3)
    started = time.monotonic()
    list(heat.stacks.list())
    assert time.monotonic() - started >= 0.3


def test_fractional_faults_are_seeded_and_roughly_proportional(cloud, heat):
    cloud.faults.add("show", "error", fraction=0.5)
    create(heat)
    stack_id = heat.stacks.get("lab1").id
    failures = 0
    for _ in range(100):
        try:
            heat.stacks.get(f"lab1/{stack_id}")
        except heat_exc.HTTPServiceUnavailable:
            failures += 1
    assert 30 <= failures <= 70


def test_request_counts_per_kind(cloud, heat):
    create(heat)
    wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    cloud.reset_counts()
    stack = heat.stacks.get("lab1")
    heat.actions.suspend(stack.identifier)
    heat.stacks.get(stack.identifier)
    assert cloud.request_counts() == {"lookup": 1, "show": 2, "suspend": 1}


def test_admin_api(cloud, heat):
    api = admin_session(cloud)
    admin = cloud.base_url + "/admin"
    resp = api.post(admin + "/faults", json={"op": "create", "effect": "fail", "count": 1,
                                                  "reason": "quota exceeded"})
    assert resp.status_code == 201
    assert resp.json()["fault"]["reason"] == "quota exceeded"
    assert len(api.get(admin + "/faults").json()["faults"]) == 1
    create(heat)
    assert "quota exceeded" in wait_for_status(heat, "lab1", "CREATE_FAILED").stack_status_reason

    stats = api.get(admin + "/stats").json()
    assert stats["requests"]["create"] == 1
    assert stats["stacks"] == 1
    assert api.delete(admin + "/stats").status_code == 204
    assert api.get(admin + "/stats").json()["requests"] == {}

    api.post(admin + "/faults", json={"op": "show", "effect": "error", "fraction": 1})
    assert api.delete(admin + "/faults").status_code == 204
    assert api.get(admin + "/faults").json() == {"faults": []}

    assert api.post(admin + "/tokens/revoke", json={}).json() == {"revoked": 1}
    resp = api.put(admin + "/durations", json={"create": 0})
    assert resp.json()["durations"]["create"] == 0
    create(heat, "instant")
    assert heat.stacks.get("instant").stack_status == "CREATE_COMPLETE"


@pytest.mark.parametrize("body, message", [
    ({"op": "create", "effect": "explode"}, "unknown effect"),
    ({"op": "show", "effect": "fail"}, "needs an operation"),
    ({"op": "nothing", "effect": "error"}, "unknown request kind"),
    ({"op": "create", "effect": "fail", "fraction": 2}, "fraction must be in (0, 1]"),
    ({"op": "create", "effect": "fail", "count": 0}, "count must be at least 1"),
    ({"op": "create", "effect": "fail", "colour": "red"}, "unknown fault option"),
    ({"op": "list", "effect": "error", "status": 42}, "status must be an HTTP status"),
    ([1, 2], "JSON object"),
])
def test_admin_api_rejects_bad_faults(cloud, body, message):
    api = admin_session(cloud)
    resp = api.post(cloud.base_url + "/admin/faults", json=body)
    assert resp.status_code == 400
    assert message in resp.json()["error"]["message"]


def test_admin_api_rejects_bad_durations_and_paths(cloud):
    api = admin_session(cloud)
    admin = cloud.base_url + "/admin"
    assert "Unknown operation" in api.put(admin + "/durations", json={"boot": 1}).json()["error"]["message"]
    assert api.put(admin + "/durations", json={"create": -1}).status_code == 400
    assert api.get(admin + "/nothing").status_code == 404


@pytest.mark.parametrize("request_kwargs, status", [
    ({}, 401),
    ({"auth": ("lab", "wrong")}, 401),
    ({"headers": {"X-Auth-Token": "made-up"}}, 401),
    ({"headers": {"Origin": "http://evil.example"}, "auth": "the cloud's own"}, 403),
    ({"data": '{"op": "create", "effect": "fail"}', "headers": {"Content-Type": "text/plain"},
      "auth": "the cloud's own"}, 415),
])
def test_the_admin_api_needs_the_clouds_credentials_and_refuses_other_pages(cloud, request_kwargs, status):
    """A web page the operator has open cannot inject faults or revoke tokens."""
    request_kwargs = dict(request_kwargs)
    if request_kwargs.get("auth") == "the cloud's own":
        request_kwargs["auth"] = (cloud.config.username, cloud.config.password)
    if "data" not in request_kwargs:
        request_kwargs["json"] = {"op": "create", "effect": "fail"}
    assert requests.post(cloud.base_url + "/admin/faults", **request_kwargs).status_code == status
    assert cloud.faults.active() == []


def test_a_token_of_the_cloud_opens_the_admin_api(cloud, heat):
    token = heat.http_client.session.get_token()
    assert requests.get(cloud.base_url + "/admin/stats", headers={"X-Auth-Token": token}).status_code == 200


@pytest.mark.parametrize("headers, status", [
    ({"Content-Length": "-1"}, 400),
    ({"Content-Length": "many"}, 400),
    ({"Content-Length": str(64 * 1024 * 1024)}, 413),
])
def test_request_bodies_are_bounded(cloud, headers, status):
    import socket
    with socket.create_connection((cloud.config.host, cloud.port), timeout=5) as conn:
        lines = ["POST /v3/auth/tokens HTTP/1.1", f"Host: {cloud.config.host}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = conn.recv(4096).decode()
    assert answer.startswith(f"HTTP/1.1 {status}"), answer[:200]


def test_parse_spec():
    fault = parse_spec("create:fail:count=2,reason=No valid host")
    assert (fault.op, fault.effect, fault.count, fault.reason) == ("create", "fail", 2, "No valid host")
    fault = parse_spec("show:error:fraction=0.25,status=500")
    assert (fault.fraction, fault.status, fault.count) == (0.25, 500, None)
    assert parse_spec("suspend:hang").count == 1
    for bad in ("create", "create:fail:count", "create:fail:count=x", "create:boom"):
        with pytest.raises(ValueError):
            parse_spec(bad)


def test_internal_errors_become_500_not_a_dead_connection(cloud, heat, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bug")
    monkeypatch.setattr(cloud.heat, "list", broken)
    with pytest.raises(heat_exc.HTTPInternalServerError):
        list(heat.stacks.list())
    create(heat, template=MINIMAL)
