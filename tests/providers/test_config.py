"""Provider settings: every mistake is reported with the key that is wrong."""

import pytest

from hastexo_lab.providers import ProviderConfigError, make_provider

GOOD = {
    "type": "openstack",
    "os_auth_url": "https://keystone.example.com:5000/v3",
    "os_username": "lab",
    "os_password": "secret",
    "os_user_domain_name": "Default",
    "os_project_name": "labs",
    "os_project_domain_name": "Default",
    "os_region_name": "RegionOne",
}


def config_error(**changes):
    config = dict(GOOD)
    for key, value in changes.items():
        if value is None:
            config.pop(key)
        else:
            config[key] = value
    with pytest.raises(ProviderConfigError) as err:
        make_provider("cloud1", config)
    return str(err.value)


def test_good_config_builds_without_network():
    provider = make_provider("cloud1", GOOD)
    assert provider.name == "cloud1"
    assert "secret" not in repr(provider.config)
    assert provider.config.verify is True


@pytest.mark.parametrize("changes, message", [
    ({"os_auth_url": None}, "os_auth_url: is required"),
    ({"os_auth_url": "keystone:5000"}, "os_auth_url: must be an http:// or https:// URL"),
    ({"os_password": None}, "os_password: is required"),
    ({"os_username": None}, "os_username: is required"),
    ({"os_user_domain_name": None}, "os_user_domain_name: is required with os_username"),
    ({"os_project_name": None}, "os_project_name: is required"),
    ({"os_project_domain_name": None}, "os_project_domain_name: is required with os_project_name"),
    ({"os_pasword": "x"}, "os_pasword: unknown key (did you mean os_password?)"),
    ({"os_username": 42}, "os_username: must be a string, not int"),
    ({"read_timeout": 0}, "read_timeout: must be a number of seconds"),
    ({"connect_timeout": "10"}, "connect_timeout: must be a number of seconds"),
    ({"verify_tls": "no"}, "verify_tls: must be true or false"),
    ({"ca_file": "/nonexistent/ca.pem"}, "ca_file: no such file"),
    ({"os_interface": "private"}, "os_interface: must be one of public, internal, admin"),
    ({"type": "gcloud"}, "unknown type 'gcloud' (known: openstack)"),
])
def test_mistakes_name_the_key(changes, message):
    error = config_error(**changes)
    assert error.startswith("Provider 'cloud1': ")
    assert message in error


def test_settings_must_be_a_mapping():
    with pytest.raises(ProviderConfigError) as err:
        make_provider("cloud1", ["os_auth_url"])
    assert "must be a mapping" in str(err.value)


def test_token_and_ids_replace_names():
    provider = make_provider("c", {"os_auth_url": "http://k/v3", "os_auth_token": "t", "os_project_id": "p"})
    assert provider.config.auth_token == "t"
    make_provider("c", {"os_auth_url": "http://k/v3", "os_user_id": "u", "os_password": "p",
                        "os_project_id": "p"})


def test_tls_settings(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert make_provider("c", dict(GOOD, ca_file=str(ca))).config.verify == str(ca)
    assert make_provider("c", dict(GOOD, verify_tls=False)).config.verify is False
