"""Requests shaped wrong get a 4xx naming what is wrong, never a 500."""

import pytest
import requests
from hastexo_cloudsim import hot, parse_spec
from hastexo_cloudsim.testing import admin_session

DEPTH = 3000


def password_identity(cloud):
    cfg = cloud.config
    return {"user": {"name": cfg.username, "domain": {"name": cfg.domain_name}, "password": cfg.password}}


@pytest.mark.parametrize("identity, named", [
    (lambda c: {"methods": "password", "password": password_identity(c)}, "methods"),
    (lambda c: {"methods": ["token"], "token": "abc"}, "token"),
    (lambda c: {"methods": ["token"], "token": {"id": ["abc"]}}, "token"),
    (lambda c: {"methods": [{"password": True}]}, "method"),
    (lambda c: {"methods": ["password"], "password": {"user": {"name": ["lab"], "password": "x"}}}, "name"),
])
def test_keystone_names_a_malformed_identity(cloud, identity, named):
    reply = requests.post(cloud.auth_url + "/auth/tokens", json={"auth": {"identity": identity(cloud)}}, timeout=10)
    assert reply.status_code == 400, reply.text
    assert named in reply.json()["error"]["message"]


def nested(kind):
    opening, closing = {"flow mapping": ("{a: ", "}"), "flow sequence": ("[", "]")}[kind]
    return "heat_template_version: 2018-08-31\nresources: " + opening * DEPTH + "1" + closing * DEPTH + "\n"


@pytest.mark.parametrize("kind", ["flow mapping", "flow sequence"])
@pytest.mark.parametrize("path, body", [
    ("/stacks", lambda template: {"stack_name": "deep", "template": template}),
    ("/validate", lambda template: {"template": template}),
])
def test_a_template_nested_thousands_deep_is_refused_by_name(cloud, heat, kind, path, body):
    token = heat.http_client.session.get_token()
    reply = requests.post(cloud.heat_url + path, json=body(nested(kind)), headers={"X-Auth-Token": token},
                          timeout=30)
    assert reply.status_code == 400, reply.text[:300]
    assert "nests deeper than" in reply.json()["error"]["message"]


def test_the_pure_python_parser_too_refuses_deep_nesting():
    with pytest.raises(Exception, match="nests too deeply") as caught:
        hot.load_yaml(nested("flow sequence"), "template")
    assert caught.value.status == 400


@pytest.mark.parametrize("delay", ["nan", "inf", "-inf", "1e400", 1e300])
def test_a_fault_delay_must_be_a_finite_number_of_seconds(cloud, delay):
    reply = admin_session(cloud).post(cloud.base_url + "/admin/faults",
                                      json={"op": "any", "effect": "slow", "delay": delay}, timeout=10)
    assert reply.status_code == 400, reply.text
    assert "delay must be" in reply.json()["error"]["message"]
    assert cloud.faults.active() == []
    with pytest.raises(ValueError, match="delay must be"):
        parse_spec(f"ssh:drop:delay={delay}")
