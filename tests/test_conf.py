"""The settings reader: defaults, types, and errors that name the key."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from hastexo_lab import conf

PROVIDER = {"os_auth_url": "http://keystone/v3", "os_username": "u", "os_password": "p",
            "os_user_domain_name": "Default", "os_project_name": "labs", "os_project_domain_name": "Default"}


def test_defaults():
    settings = conf.parse({})
    assert settings.launch_timeout == 900
    assert settings.suspend_timeout == 120
    assert settings.suspend_interval == 60
    assert settings.delete_age == 14 * 86400
    assert settings.js_timeouts.keepalive == 30_000
    assert settings.task_queue == "hastexo_lab"
    assert settings.providers == {}


def test_values_are_taken():
    settings = conf.parse({"suspend_timeout": 300, "delete_age": 0, "js_timeouts": {"keepalive": 10_000},
                           "providers": {"default": PROVIDER}, "encryption_keys": "k" * 32})
    assert settings.suspend_timeout == 300
    assert settings.delete_age == 0
    assert settings.js_timeouts.keepalive == 10_000 and settings.js_timeouts.status == 15_000
    assert settings.providers["default"]["os_username"] == "u"
    assert settings.encryption_keys == ("k" * 32,)


@pytest.mark.parametrize("raw, message", [
    ({"suspend_timout": 10}, "['suspend_timout']: unknown setting (did you mean suspend_timeout?)"),
    ({"launch_timeout": "900"}, "['launch_timeout']: must be a whole number"),
    ({"launch_timeout": True}, "['launch_timeout']: must be a whole number"),
    ({"suspend_timeout": 5}, "['suspend_timeout']: must be between 30 and 2592000, not 5"),
    ({"delete_age": 14}, "['delete_age']: is in seconds"),
    ({"delete_age": -1}, "['delete_age']: is in seconds"),
    ({"lab_usage_limit": 10}, "['lab_usage_limit']: is running seconds per learner: at least 60"),
    ({"lab_usage_limit": "1h"}, "['lab_usage_limit']: must be a whole number, not '1h'"),
    ({"lab_usage_limit_breach_policy": "suspend"}, "['lab_usage_limit_breach_policy']: must be null (log only)"),
    ({"lab_usage_window": 60}, "['lab_usage_window']: is in seconds: 0 (all time) or at least 3600"),
    ({"hourly_prices": {"a": {"running": -1}}}, "['hourly_prices.a']: must be {\"running\": price"),
    ({"hourly_prices": {"a": {"runing": 1}}}, "['hourly_prices.a']: must be {\"running\": price"),
    ({"metrics_token": "short"}, "['metrics_token']: must be a secret of at least 16 characters"),
    ({"metrics_port": 70000}, "['metrics_port']: must be a TCP port"),
    ({"check_timeout": 5}, "['check_timeout']: must be between 10 and 3600"),
    ({"providers": {"a": dict(PROVIDER, type=["openstack"])}}, "['providers.a']: Provider 'a': unknown type"),
    ({"providers": {"a": dict(PROVIDER, type={"openstack": 1})}}, "['providers.a']: Provider 'a': unknown type"),
    ({"providers": {"a": "openstack"}}, "['providers.a']: Provider 'a': settings must be a mapping"),
    ({"terminal_url": ""}, "['terminal_url']: must be a non-empty string"),
    ({"js_timeouts": {"keepalive": 10}}, "['js_timeouts.keepalive']: must be milliseconds"),
    ({"js_timeouts": {"keepalve": 10_000}}, "['js_timeouts.keepalve']: unknown setting (did you mean keepalive?)"),
    ({"js_timeouts": 5}, "['js_timeouts']: must be a dict"),
    ({"providers": ["a"]}, "['providers']: must be a dict"),
    ({"providers": {"a": dict(PROVIDER, os_pasword="x")}}, "['providers.a']: Provider 'a': os_pasword: unknown key"),
    ({"providers": {"a": dict(PROVIDER, type="azure")}}, "unknown type 'azure'"),
    ({"poll_initial": 20, "poll_max": 10}, "['poll_initial']: must not be larger than poll_max"),
    ({"poll_max": 0}, "['poll_max']: must be a number of seconds"),
    ({"encryption_keys": ["short"]}, "['encryption_keys']: must be a list of secret strings"),
    ({"wait_for_port": "yes"}, "['wait_for_port']: must be true or false"),
    ({"template_dir": 5}, "['template_dir']: must be a directory path"),
])
def test_mistakes_name_the_key(raw, message):
    with pytest.raises(ImproperlyConfigured) as err:
        conf.parse(raw)
    assert message in str(err.value)
    assert str(err.value).startswith("XBLOCK_SETTINGS['hastexo_lab']")


def test_not_a_dict():
    with pytest.raises(ImproperlyConfigured, match="must be a dict"):
        conf.parse(["launch_timeout"])


@pytest.mark.parametrize("xblock_settings", [["hastexo_lab"], "hastexo_lab", 5])
def test_xblock_settings_that_are_not_a_mapping_are_named(settings, xblock_settings):
    settings.XBLOCK_SETTINGS = xblock_settings
    with pytest.raises(ImproperlyConfigured, match="XBLOCK_SETTINGS must be a dict"):
        conf.get_settings()


def test_read_from_django_settings_and_reread_on_change(settings):
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"suspend_timeout": 600}}
    assert conf.get_settings().suspend_timeout == 600
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"suspend_timeout": 900}}
    assert conf.get_settings().suspend_timeout == 900
    settings.XBLOCK_SETTINGS = {}
    assert conf.get_settings().suspend_timeout == 120


def test_a_bad_value_fails_at_startup(settings):
    from django.apps import apps
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"launch_timeout": -1}}
    with pytest.raises(ImproperlyConfigured, match="launch_timeout"):
        apps.get_app_config("hastexo_lab").ready()
