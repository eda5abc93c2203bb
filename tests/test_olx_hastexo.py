"""Courses written for the hastexo XBlock import whole, in every form its
Studio export and its authors write, through the runtime's parse_xml; what
this block does not do is named in a warning; export and import again give
the same block. Course trees under tests/courses/."""

import io
import os

import pytest
from lxml import etree
from workbench.runtime import WorkbenchRuntime

from hastexo_lab.olx import OlxError

from .helpers import ROOT

pytestmark = pytest.mark.django_db
COURSES = os.path.join(ROOT, "tests", "courses")


class CourseFiles:
    """The files of an unpacked course export, as the import's ``resources_fs``
    offers them (``open(path, mode)``)."""

    def __init__(self, root):
        self.root = root

    def open(self, path, mode="rb"):
        return open(os.path.join(self.root, *path.split("/")), mode)


@pytest.fixture
def runtime(workbench):
    return WorkbenchRuntime("author")


def import_unit(runtime, course, unit="unit1"):
    """The labs of one unit of ``course``, each imported by the runtime."""
    runtime.resources_fs = CourseFiles(os.path.join(COURSES, course))
    tree = etree.parse(os.path.join(COURSES, course, "vertical", f"{unit}.xml"))
    labs = {}
    for node in tree.getroot():
        if node.tag == "hastexo":
            labs[node.get("url_name")] = runtime.get_block(runtime.parse_xml_string(etree.tostring(node)))
    return labs


def export(runtime, block):
    out = io.BytesIO()
    runtime.export_to_xml(block, out)
    return out.getvalue().decode().split("?>", 1)[-1].strip()


FIELDS = ("display_name", "weight", "instructions", "stack_user_name", "stack_protocol", "stack_template_path",
          "providers", "ports", "tests", "launch_timeout", "suspend_timeout", "delete_age", "read_only", "hidden",
          "progress_check_label", "show_feedback", "show_hints_on_error", "progress_check_result_heading",
          "enable_fullscreen", "stack_key_type")


def assert_round_trip(runtime, block):
    again = runtime.get_block(runtime.parse_xml_string(export(runtime, block)))
    for name in FIELDS:
        assert getattr(again, name) == getattr(block, name), name
    assert export(runtime, again) == export(runtime, block)


def test_a_studio_export_imports_whole(runtime):
    labs = import_unit(runtime, "studio_export")
    intro = labs["lab_intro"]
    assert intro.display_name == "Ceph intro lab" and intro.stack_user_name == "training"
    assert intro.launch_timeout == 1800 and intro.suspend_timeout is None and intro.delete_age == 604800
    assert intro.ports == [{"name": "server1", "number": 22}, {"name": "server2", "number": 2222}]
    assert intro.providers == [
        {"name": "provider1", "capacity": 20, "template": "hot_lab1.yaml", "environment": "hot_lab1_env.yaml"},
        {"name": "provider2", "capacity": -1, "template": "hot_lab2.yaml"},
        {"name": "provider3", "capacity": -1, "template": "hot_lab3.yaml"}]
    assert len(intro.tests) == 2 and intro.tests[0].startswith("#!/bin/bash\nceph status")
    # Its html child, in a file of its own, is the lab's instructions now.
    assert intro.instructions == "<p>Log in and run <code>ceph status</code>.</p>"
    assert intro.import_warnings == []
    assert_round_trip(runtime, intro)


def test_what_a_studio_export_asks_for_that_this_block_does_not_do_is_named(runtime):
    desktop = import_unit(runtime, "studio_export")["lab_desktop"]
    assert desktop.stack_protocol == "rdp" and desktop.read_only is True and desktop.weight == 2.0
    assert desktop.providers == [{"name": "provider1", "capacity": 5}]
    assert desktop.ports == [{"name": "desktop", "number": 3389}, {"name": "console", "number": 22}]
    warnings = " | ".join(desktop.import_warnings)
    for named in ("hook_script 'hooks/lab.sh'", "<hook_events>", "stack_key_type"):
        assert named in warnings, named
    # Kept as they were, so that nothing is lost on the way back out.
    assert (desktop.stack_key_type, desktop.show_feedback, desktop.enable_fullscreen) == ("rsa", False, "true")
    assert_round_trip(runtime, desktop)


def test_inline_forms_import(runtime):
    labs = import_unit(runtime, "inline")
    yaml_lab = labs["yaml_lab"]
    assert yaml_lab.providers == [
        {"name": "provider1", "capacity": 20, "template": "hot_lab1_template.yaml",
         "environment": "hot_lab1_env.yaml"},
        {"name": "provider2", "capacity": -1}]
    assert yaml_lab.ports == [{"name": "server1", "number": 3389}, {"name": "server2", "number": 22}]
    assert yaml_lab.tests == ['#!/bin/bash\ntest -e foobar || { echo "File foobar doesn\'t exist." >&2; exit 1; }\n']
    assert yaml_lab.instructions == "<p>Connect to the <b>desktop</b>.</p>"
    json_lab = labs["json_lab"]
    assert json_lab.providers == [{"name": "provider1", "capacity": 2}, {"name": "provider2", "capacity": -1}]
    assert json_lab.ports == [{"name": "shell", "number": 22}] and json_lab.tests == ["#!/bin/sh\nexit 0\n"]
    assert any("<option:hook_events>" in w for w in json_lab.import_warnings)
    element_lab = labs["element_lab"]
    assert element_lab.stack_protocol == "ssh" and element_lab.read_only is True
    assert element_lab.providers == [
        {"name": "provider1", "capacity": 20, "template": "hot.yaml", "environment": "env.yaml"},
        {"name": "provider2", "capacity": -1}]
    assert element_lab.tests == ["#!/bin/bash\nexit 0\n"]
    deprecated = labs["deprecated_lab"]
    assert deprecated.providers == [{"name": "legacy", "capacity": -1}]
    assert deprecated.stack_template_path == "old.yaml"
    for lab in labs.values():
        assert_round_trip(runtime, lab)


def load(runtime, xml):
    return runtime.get_block(runtime.parse_xml_string(xml))


OPT = 'xmlns:option="http://code.edx.org/xblock/option"'
LAUGHS = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
          + "".join(f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
                    for p, c in zip("abcdefgh", "bcdefghi", strict=True)))


@pytest.mark.parametrize("xml, message", [
    (f"<hastexo_lab {OPT}><option:ports><![CDATA[{LAUGHS}]]></option:ports></hastexo_lab>", "YAML anchors"),
    (f"<hastexo_lab {OPT}><option:ports>- *x</option:ports></hastexo_lab>", "ports"),
    (f"<hastexo_lab {OPT}><option:tests>{'[' * 3000}{']' * 3000}</option:tests></hastexo_lab>", "tests"),
    (f"<hastexo_lab {OPT}><option:ports>[oops</option:ports></hastexo_lab>", "<option:ports> is not valid YAML"),
    (f"<hastexo_lab {OPT}><option:providers>name: x</option:providers></hastexo_lab>", "must be a YAML list"),
    (f"<hastexo_lab {OPT}><option:providers>- name: [a, b]</option:providers></hastexo_lab>",
     "providers: entry 1 needs a name"),
    (f"<hastexo_lab {OPT}><option:providers>- {{name: a, capacity: lots}}</option:providers></hastexo_lab>",
     "providers: the capacity of entry 1 must be a whole number, not 'lots'"),
    ('<hastexo_lab launch_timeout="abc"/>', "launch_timeout: expected a whole number of seconds"),
    ('<hastexo_lab delete_age="two weeks"/>', "delete_age: expected a whole number of seconds"),
    ('<hastexo_lab read_only="maybe"/>', "read_only: expected true or false, not 'maybe'"),
    ('<hastexo_lab weight="NaN"/>', "weight: expected a number of points, 0 or more"),
    ('<hastexo_lab weight="Infinity"/>', "weight: expected a number of points, 0 or more"),
    ('<hastexo_lab weight="-1"/>', "weight: expected a number of points, 0 or more"),
    ('<hastexo_lab><html url_name="nowhere"/></hastexo_lab>', "points"),
    ('<hastexo url_name="lab" filename="missing"/>', "hastexo/missing.xml"),
    ('<hastexo_lab><test/></hastexo_lab>', "<test> must hold a script"),
])
def test_hostile_or_wrong_olx_is_refused_naming_what_is_wrong(runtime, xml, message):
    runtime.resources_fs = CourseFiles(os.path.join(COURSES, "studio_export"))
    with pytest.raises(OlxError) as err:
        load(runtime, xml)
    assert message in str(err.value)


def test_aliases_are_refused_at_once(runtime):
    import time
    started = time.monotonic()
    with pytest.raises(OlxError):
        load(runtime, f"<hastexo_lab {OPT}><option:providers><![CDATA[{LAUGHS}]]></option:providers></hastexo_lab>")
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("xml, named", [
    (f'<hastexo_lab {OPT}><option:foo>1</option:foo></hastexo_lab>', "<option:foo>"),
    ('<hastexo_lab colour="red"/>', "'colour'"),
    ('<hastexo_lab><video url_name="v1"/></hastexo_lab>', "<video>"),
    ('<hastexo_lab provider="old"><provider name="new"/></hastexo_lab>', "provider='old' is ignored"),
])
def test_unknown_options_attributes_and_children_are_named_in_a_warning(runtime, xml, named):
    block = load(runtime, xml)
    assert any(named in warning for warning in block.import_warnings), block.import_warnings


def test_import_warnings_show_in_studio(runtime):
    from xblock.validation import ValidationMessage
    block = load(runtime, '<hastexo_lab stack_user_name="training" stack_template_path="lab.yaml" colour="red"/>')
    messages = block.validate().to_json()["messages"]
    assert any(m["type"] == ValidationMessage.WARNING and "'colour'" in m["text"] for m in messages), messages


def test_a_lab_can_live_in_a_content_library(runtime):
    """Content libraries (v2) refuse blocks that have children: a lab has
    none, and the instructions that hastexo courses kept in html children
    are its own content, shown to learners."""
    from hastexo_lab.block import LabBlock
    assert LabBlock.has_children is False
    lab = import_unit(runtime, "inline")["yaml_lab"]
    xml = export(runtime, lab)
    assert all(child.tag.startswith("{") for child in etree.fromstring(xml)), "only option children"
    html = lab.render("student_view").content
    assert "Connect to the <b>desktop</b>." in html
