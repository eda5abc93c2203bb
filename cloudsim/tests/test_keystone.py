"""The fake Keystone, seen over HTTP and through keystoneauth1."""

import pytest
import requests
from hastexo_cloudsim.testing import heat_for
from heatclient import exc as heat_exc
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import generic, v3


def password_body(cfg, **user):
    user = user or {"name": cfg.username, "domain": {"name": cfg.domain_name}, "password": cfg.password}
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": user}},
                     "scope": {"project": {"name": cfg.project_name, "domain": {"id": cfg.domain_id}}}}}


def test_version_documents(cloud):
    root = requests.get(cloud.base_url + "/")
    assert root.status_code == 300
    assert root.json()["versions"]["values"][0]["id"].startswith("v3")
    v3doc = requests.get(cloud.auth_url)
    assert v3doc.status_code == 200
    assert v3doc.json()["version"]["links"][0]["href"] == cloud.auth_url + "/"


def test_password_auth_returns_token_and_catalog(cloud):
    resp = requests.post(cloud.auth_url + "/auth/tokens", json=password_body(cloud.config))
    assert resp.status_code == 201
    assert len(resp.headers["X-Subject-Token"]) == 32
    token = resp.json()["token"]
    assert token["project"]["id"] == cloud.config.project_id
    (service,) = token["catalog"]
    assert service["type"] == "orchestration"
    public = [e for e in service["endpoints"] if e["interface"] == "public"][0]
    assert public["url"] == f"{cloud.base_url}/v1/{cloud.config.project_id}"
    assert public["region"] == "RegionOne"
    assert token["expires_at"].endswith("Z")


def test_password_auth_by_user_id(cloud):
    cfg = cloud.config
    body = password_body(cfg, id=cfg.user_id, password=cfg.password)
    body["auth"]["scope"] = {"project": {"id": cfg.project_id}}
    assert requests.post(cloud.auth_url + "/auth/tokens", json=body).status_code == 201


@pytest.mark.parametrize("change", [
    {"password": "wrong"},
    {"name": "nobody"},
    {"domain": {"name": "OtherDomain"}},
])
def test_bad_credentials_get_401(cloud, change):
    cfg = cloud.config
    user = {"name": cfg.username, "domain": {"name": cfg.domain_name}, "password": cfg.password}
    user.update(change)
    resp = requests.post(cloud.auth_url + "/auth/tokens", json=password_body(cfg, **user))
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == 401


def test_unknown_project_gets_401(cloud):
    body = password_body(cloud.config)
    body["auth"]["scope"] = {"project": {"id": "nope"}}
    assert requests.post(cloud.auth_url + "/auth/tokens", json=body).status_code == 401


def test_malformed_auth_requests_get_400(cloud):
    url = cloud.auth_url + "/auth/tokens"
    assert requests.post(url, data=b"{not json").status_code == 400
    assert requests.post(url, json={"auth": {}}).status_code == 400
    resp = requests.post(url, json={"auth": {"identity": {"methods": []}}})
    assert resp.status_code == 400
    assert "methods" in resp.json()["error"]["message"]


def test_token_auth_and_validation(cloud):
    first = requests.post(cloud.auth_url + "/auth/tokens", json=password_body(cloud.config))
    token = first.headers["X-Subject-Token"]
    auth = v3.Token(auth_url=cloud.auth_url, token=token, project_id=cloud.config.project_id)
    sess = ks_session.Session(auth=auth)
    assert sess.get_token() != token
    check = requests.get(cloud.auth_url + "/auth/tokens",
                         headers={"X-Auth-Token": token, "X-Subject-Token": sess.get_token()})
    assert check.status_code == 200
    assert check.json()["token"]["methods"] == ["token"]
    missing = requests.get(cloud.auth_url + "/auth/tokens",
                           headers={"X-Auth-Token": token, "X-Subject-Token": "bogus"})
    assert missing.status_code == 404


def test_keystoneauth_discovers_from_unversioned_url(cloud):
    cfg = cloud.config
    auth = generic.Password(auth_url=cloud.base_url, username=cfg.username, password=cfg.password,
                            user_domain_name=cfg.domain_name, project_name=cfg.project_name,
                            project_domain_name=cfg.domain_name)
    sess = ks_session.Session(auth=auth)
    assert sess.get_endpoint(service_type="orchestration", interface="public").endswith(cfg.project_id)


def test_bad_password_through_keystoneauth(cloud):
    heat = heat_for(cloud, password="wrong")
    with pytest.raises(ks_exc.Unauthorized):
        list(heat.stacks.list())


def test_expired_token_gets_401(clocked_cloud, clock):
    cloud = clocked_cloud
    resp = requests.post(cloud.auth_url + "/auth/tokens", json=password_body(cloud.config))
    token = resp.headers["X-Subject-Token"]
    stacks_url = f"{cloud.heat_url}/stacks"
    assert requests.get(stacks_url, headers={"X-Auth-Token": token}).status_code == 200
    clock.advance(cloud.config.token_ttl + 1)
    expired = requests.get(stacks_url, headers={"X-Auth-Token": token})
    assert expired.status_code == 401
    assert expired.json()["error"]["message"]


def test_bad_or_missing_token_gets_401(cloud):
    stacks_url = f"{cloud.heat_url}/stacks"
    assert requests.get(stacks_url).status_code == 401
    assert requests.get(stacks_url, headers={"X-Auth-Token": "forged"}).status_code == 401


def test_token_for_another_project_gets_403(cloud):
    resp = requests.post(cloud.auth_url + "/auth/tokens", json=password_body(cloud.config))
    other = f"{cloud.base_url}/v1/someone-else/stacks"
    assert requests.get(other, headers={"X-Auth-Token": resp.headers["X-Subject-Token"]}).status_code == 403


def test_unscoped_token_cannot_use_heat(cloud):
    body = password_body(cloud.config)
    del body["auth"]["scope"]
    resp = requests.post(cloud.auth_url + "/auth/tokens", json=body)
    assert resp.status_code == 201
    assert "catalog" not in resp.json()["token"]
    heat = requests.get(f"{cloud.heat_url}/stacks", headers={"X-Auth-Token": resp.headers["X-Subject-Token"]})
    assert heat.status_code == 403


def test_keystoneauth_reauthenticates_after_revocation(cloud, heat):
    list(heat.stacks.list())
    assert cloud.keystone.revoke_all() == 1
    list(heat.stacks.list())
    assert cloud.request_counts()["auth"] == 2


def test_persistent_401_reaches_heatclient(cloud, heat):
    list(heat.stacks.list())
    cloud.faults.add("list", "error", status=401, count=2)
    with pytest.raises(heat_exc.HTTPUnauthorized):
        list(heat.stacks.list())
