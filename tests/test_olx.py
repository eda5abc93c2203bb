"""OLX: our export round-trips every field; hastexo XBlock courses import unchanged."""

import io

import pytest
from workbench.runtime import WorkbenchRuntime

from hastexo_lab.olx import OlxError

pytestmark = pytest.mark.django_db

SCRIPT = "#!/bin/bash\ntest -e /tmp/done || { echo 'not yet' >&2; exit 1; }\n"


@pytest.fixture
def runtime(workbench):
    return WorkbenchRuntime("author")


def load(runtime, xml):
    return runtime.get_block(runtime.parse_xml_string(xml))


def export(runtime, block):
    out = io.BytesIO()
    runtime.export_to_xml(block, out)
    # Drop the XML declaration so the text parses again as a string.
    return out.getvalue().decode().split("?>", 1)[-1].strip()


def test_round_trip_of_every_field(runtime):
    block = load(runtime, '<hastexo_lab stack_user_name="training"/>')
    values = {
        "display_name": "Ceph lab", "weight": 2.5, "instructions": "<p>Log in.</p>",
        "stack_user_name": "student", "stack_protocol": "rdp", "stack_template_path": "hot/lab.yaml",
        "providers": [{"name": "a", "capacity": 5, "template": "a.yaml", "environment": "a-env.yaml"},
                      {"name": "b", "capacity": -1}],
        "ports": [{"name": "desktop", "number": 3389}, {"name": "shell", "number": 22}],
        "launch_timeout": 1200, "suspend_timeout": 600, "delete_age": 0, "read_only": True, "hidden": True,
        "progress_check_label": "Check my work", "tests": [SCRIPT, "#!/bin/sh\nexit 0\n"],
    }
    for name, value in values.items():
        setattr(block, name, value)
    xml = export(runtime, block)
    again = load(runtime, xml)
    for name, value in values.items():
        assert getattr(again, name) == value, name
    assert 'xmlns:option="http://code.edx.org/xblock/option"' in xml
    assert export(runtime, again) == xml


def test_defaults_are_not_exported(runtime):
    xml = export(runtime, load(runtime, '<hastexo_lab stack_user_name="training"/>'))
    assert "launch_timeout" not in xml and "providers" not in xml


HASTEXO_OPTION_OLX = """
<hastexo xmlns:option="http://code.edx.org/xblock/option" url_name="lab_intro"
         stack_user_name="training" stack_protocol="rdp" stack_template_path="hot_lab.yaml"
         launch_timeout="1800" delete_age="604800" progress_check_label="Check it">
  <option:providers>
    - name: provider1
      capacity: 20
      template: hot_lab1_template.yaml
      environment: hot_lab1_env.yaml
    - name: provider2
      capacity: -1
  </option:providers>
  <option:ports>
    - name: server1
      number: 3389
    - name: server2
      number: 22
  </option:ports>
  <option:tests><![CDATA[
    - |
      #!/bin/bash
      test -e foobar || { echo "File foobar doesn't exist." >&2; exit 1; }
  ]]></option:tests>
</hastexo>
"""

HASTEXO_ELEMENT_OLX = """
<hastexo stack_user_name="training" protocol="ssh" stack_template_path="hot.yaml" suspend_timeout=""
         read_only="True">
  <port name="server1" number="3389"/>
  <provider name="provider1" capacity="20" template="hot.yaml" environment="env.yaml"/>
  <provider name="provider2"/>
  <hook_events suspend="True" resume="True" delete="True"/>
  <test><![CDATA[
    #!/bin/bash
    exit 0
  ]]></test>
</hastexo>
"""


def as_lab(xml):
    return xml.replace("<hastexo ", "<hastexo_lab ").replace("</hastexo>", "</hastexo_lab>")


def test_hastexo_option_children_import(runtime):
    block = load(runtime, as_lab(HASTEXO_OPTION_OLX))
    assert block.stack_protocol == "rdp"
    assert block.launch_timeout == 1800 and block.delete_age == 604800
    assert block.providers == [
        {"name": "provider1", "capacity": 20, "template": "hot_lab1_template.yaml",
         "environment": "hot_lab1_env.yaml"},
        {"name": "provider2", "capacity": -1}]
    assert block.ports == [{"name": "server1", "number": 3389}, {"name": "server2", "number": 22}]
    assert block.tests == ['#!/bin/bash\ntest -e foobar || { echo "File foobar doesn\'t exist." >&2; exit 1; }\n']
    assert block.progress_check_label == "Check it"


def test_hastexo_element_children_import(runtime):
    block = load(runtime, as_lab(HASTEXO_ELEMENT_OLX))
    assert block.stack_protocol == "ssh"  # from the older "protocol" attribute
    assert block.suspend_timeout is None and block.read_only is True
    assert block.ports == [{"name": "server1", "number": 3389}]
    assert block.providers == [{"name": "provider1", "capacity": 20, "template": "hot.yaml",
                                "environment": "env.yaml"}, {"name": "provider2", "capacity": -1}]
    assert block.tests == ["#!/bin/bash\nexit 0\n"]


@pytest.mark.parametrize("xml, message", [
    ('<hastexo_lab xmlns:option="http://code.edx.org/xblock/option"><option:ports>[oops</option:ports>'
     '</hastexo_lab>', "<option:ports> is not valid YAML"),
    ('<hastexo_lab xmlns:option="http://code.edx.org/xblock/option"><option:ports>name: x</option:ports>'
     '</hastexo_lab>', "<option:ports> must be a YAML list"),
    ('<hastexo_lab><port name="x"/></hastexo_lab>', '<port> needs "name" and "number"'),
    ('<hastexo_lab><port name="x" number="twenty"/></hastexo_lab>', "must be a whole number, not 'twenty'"),
    ('<hastexo_lab><provider capacity="2"/></hastexo_lab>', '<provider> needs a "name"'),
])
def test_malformed_olx_is_refused_with_a_reason(runtime, xml, message):
    with pytest.raises(OlxError) as err:
        load(runtime, xml)
    assert message in str(err.value)
