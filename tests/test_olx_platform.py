"""OLX keeps the fields the platform adds to every block ("Hide from
learners", group access, dates): import, export and Studio's copy and paste
(an export then an import) lose none of them."""

from lxml import etree
from workbench.runtime import WorkbenchRuntime
from xblock.core import XBlockMixin
from xblock.field_data import DictFieldData
from xblock.fields import Boolean, Date, Dict, Scope, ScopeIds, String
from xblock.runtime import Mixologist

from hastexo_lab.block import LabBlock


class PlatformFields(XBlockMixin):
    """Fields as the platform's block mixins declare them (names, kinds, scopes)."""

    visible_to_staff_only = Boolean(scope=Scope.settings, default=False)
    group_access = Dict(scope=Scope.settings, default={})
    due = Date(scope=Scope.settings)
    graded = Boolean(scope=Scope.settings, default=False)
    format = String(scope=Scope.settings)


PlatformLab = Mixologist([PlatformFields]).mix(LabBlock)

OLX = """<hastexo_lab display_name="Ceph lab" stack_user_name="training" stack_template_path="lab.yaml"
  visible_to_staff_only="true" group_access='{"50": [1, 2]}' due="2026-12-31T18:00:00Z" graded="true"
  format="Homework" colour="blue"/>"""


class MemoryRuntime(WorkbenchRuntime):
    def __init__(self):
        super().__init__("author")
        self.state = DictFieldData({})

    def service(self, block, service_name):
        if service_name == "field-data":
            return self.state
        return super().service(block, service_name)


def imported(text):
    runtime = MemoryRuntime()
    return PlatformLab.parse_xml(etree.fromstring(text), runtime, ScopeIds("author", "hastexo_lab", "d1", "u1"))


def exported(block):
    node = etree.Element("unused")
    block.add_xml_to_node(node)
    return etree.tostring(node, encoding="unicode")


def test_import_keeps_the_platforms_fields_and_warns_only_about_unknown_ones():
    lab = imported(OLX)
    assert lab.visible_to_staff_only is True
    assert lab.group_access == {"50": [1, 2]}
    assert lab.due.isoformat().startswith("2026-12-31T18:00:00") and lab.graded is True and lab.format == "Homework"
    assert lab.import_warnings == ["the attribute 'colour' is not known to this block and was ignored"]


def test_export_then_import_is_the_same_lab_platform_fields_included():
    lab = imported(OLX)
    text = exported(lab)
    assert 'visible_to_staff_only="true"' in text and "group_access=" in text and 'format="Homework"' in text
    again = imported(text)
    for name in ("display_name", "stack_user_name", "stack_template_path", "visible_to_staff_only", "group_access",
                 "due", "graded", "format"):
        assert getattr(again, name) == getattr(lab, name), name
    assert again.import_warnings == []
    # Unset platform fields are not written (the platform's defaults stay defaults).
    plain = exported(imported('<hastexo_lab display_name="Plain" stack_user_name="training"/>'))
    assert "visible_to_staff_only" not in plain and "group_access" not in plain


def test_a_platform_field_with_a_bad_value_is_named_not_a_traceback():
    lab = imported('<hastexo_lab display_name="Lab" stack_user_name="training" group_access="{not json"/>')
    assert lab.group_access == {}
    assert any("group_access" in warning for warning in lab.import_warnings)
