"""Studio editing: valid values save; each mistake is a message naming the field."""

import pytest

from .test_block import SSH, call


@pytest.fixture
def lab(client, workbench, workbench_settings):
    return client


def save(client, **values):
    return call(client, SSH, "submit_studio_edits", {"values": values, "defaults": []}, student="author")


def messages(response):
    assert response.status_code == 400, response.content
    return " ".join(m["text"] for m in response.json()["error"]["messages"])


def test_studio_view_renders(lab):
    page = lab.get(f"/scenario/{SSH}/studio_view/?student=author")
    assert page.status_code == 200
    assert "Stack user name" in page.content.decode()


def test_valid_values_save(lab):
    response = save(lab, display_name="Ceph lab", suspend_timeout=600,
                    ports=[{"name": "shell", "number": 22}])
    assert response.json() == {"result": "success"}


@pytest.mark.parametrize("values, message", [
    ({"stack_user_name": ""}, "Stack user name: Stack user name is required"),
    ({"stack_user_name": "Root User"}, "lower-case login name"),
    ({"stack_protocol": "telnet"}, "Protocol: Protocol must be one of ssh, rdp, vnc"),
    ({"providers": [{"name": "nowhere"}]}, "Unknown provider 'nowhere' (configured: backup, default)"),
    ({"providers": [{"name": "default", "capacity": "lots"}]}, "Capacity of provider 1 must be"),
    ({"providers": [{"name": "default", "colour": "red"}]}, "Provider 1 has unknown keys: colour"),
    ({"providers": [{"name": "default"}, {"name": "default"}]}, "listed twice"),
    ({"providers": "default"}, "Providers: not a valid value"),
    ({"ports": [{"name": "web", "number": 70000}]}, "Port 'web' needs a number from 1 to 65535"),
    ({"ports": [{"number": 22}]}, "Port 1 needs a name"),
    ({"tests": ["", "exit 0"]}, "Progress checks must be a list of non-empty scripts"),
    ({"launch_timeout": -5}, "Launch timeout: launch_timeout must be empty or a number of seconds from 60"),
    ({"suspend_timeout": 10 ** 9}, "suspend_timeout must be empty or a number of seconds"),
    ({"delete_age": 14}, "delete_age must be empty or a number of seconds from 3600"),
    ({"stack_template_path": "", "providers": [{"name": "default"}]}, "Give a template path"),
])
def test_mistakes_name_the_field(lab, values, message):
    assert message in messages(save(lab, **values))


def test_wrong_types_are_400_not_500(lab):
    response = save(lab, launch_timeout="soon")
    assert "Launch timeout: not a valid value" in messages(response)
    assert call(lab, SSH, "submit_studio_edits", {"values": []}, student="author").status_code == 400


def test_a_failed_save_changes_nothing(lab):
    save(lab, stack_protocol="telnet", display_name="Changed")
    page = lab.get(f"/scenario/{SSH}/?student=alice").content.decode()
    assert "Changed" not in page


@pytest.mark.parametrize("values, message", [
    ({"weight": float("nan")}, "Weight must be a number of points"),
    ({"weight": -1}, "Weight must be a number of points"),
    ({"providers": [{"name": ["a", "b"]}]}, "Provider 1 needs a name"),
    ({"stack_template_path": "no-such-template.yaml"}, "no-such-template.yaml is not in the course's files"),
    ({"providers": [{"name": "default", "template": "missing.yaml"}]}, "missing.yaml is not in the course's files"),
    ({"enable_fullscreen": "sometimes"}, "Full screen"),
    ({"read_only": "maybe"}, "Read only: not a valid value"),
    ({"launch_timeout": "abc"}, "Launch timeout: not a valid value"),
])
def test_wrong_values_are_named_at_save(lab, values, message):
    assert message in messages(save(lab, **values))


def test_the_template_is_checked_by_the_labs_own_clouds(lab, workbench_settings, tmp_path):
    reply = call(lab, SSH, "check_template", {}, student="author").json()
    assert reply["results"] == [{"provider": "default", "ok": True, "message": reply["results"][0]["message"]}]
    assert "lab_user" in reply["results"][0]["message"]
    # A template the cloud refuses: its own message, for the author.
    (tmp_path / "lab.yaml").write_text("heat_template_version: 2016-10-14\nresources:\n"
                                       "  s: {type: OS::Nova::Server, properties: {image: x, flavour: y}}\n")
    workbench_settings.XBLOCK_SETTINGS = {"hastexo_lab": dict(workbench_settings.XBLOCK_SETTINGS["hastexo_lab"],
                                                              template_dir=str(tmp_path))}
    reply = call(lab, SSH, "check_template", {}, student="author").json()
    result = reply["results"][0]
    assert result["ok"] is False and "Unknown Property flavour" in result["message"]
    page = lab.get(f"/scenario/{SSH}/studio_view/?student=author").content.decode()
    assert "HastexoLabStudio" in page


def test_the_template_check_fails_a_template_every_launch_fails(lab, workbench_settings, tmp_path):
    # Heat's template-validate takes it; a launch, which passes the course run, fails on it.
    (tmp_path / "lab.yaml").write_text("heat_template_version: 2016-10-14\nparameters:\n  run: {type: string}\n"
                                       "resources:\n  v: {type: OS::Heat::Value, "
                                       "properties: {value: {get_param: nosuch}}}\n")
    workbench_settings.XBLOCK_SETTINGS = {"hastexo_lab": dict(workbench_settings.XBLOCK_SETTINGS["hastexo_lab"],
                                                              template_dir=str(tmp_path))}
    result = call(lab, SSH, "check_template", {}, student="author").json()["results"][0]
    assert result["ok"] is False
    assert "a launch passes (run) would fail" in result["message"]
    assert "The Parameter (nosuch)" in result["message"]
