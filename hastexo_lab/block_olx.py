"""The lab block's OLX: import (ours, and every form of the hastexo XBlock's)
and export, keeping the fields the platform adds to every block.

In the LMS and Studio a block's class is mixed with the platform's own
(``visible_to_staff_only`` for "Hide from learners", ``group_access``,
dates, ...). Import, export and Studio's copy and paste all go through OLX,
so those fields are read and written as the platform writes them (the
field's own string form); only attributes no field knows are warned about."""

import logging

from lxml import etree
from xblock.fields import Scope

from . import olx

log = logging.getLogger(__name__)

# Exported as attributes, when set; the list fields are option children.
OLX_ATTRIBUTES = ("display_name", "weight", "stack_user_name", "stack_protocol", "stack_template_path",
                  "shared_environment", "launch_timeout", "suspend_timeout", "delete_age", "read_only",
                  "hidden", "progress_check_label", "instructions", "show_feedback", "show_hints_on_error",
                  "progress_check_result_heading", "enable_fullscreen", "stack_key_type")
# Fields that are never OLX attributes: structure, and what import itself records.
NOT_ATTRIBUTES = {"children", "parent", "xml_attributes", "import_warnings"}


class LabOlxMixin:
    """parse_xml and add_xml_to_node for the lab block."""

    OLX_ATTRIBUTES = OLX_ATTRIBUTES

    @classmethod
    def platform_fields(cls):
        """The content and settings fields of this class that are not the
        lab's own: what the platform (or another mixin) adds."""
        own = set(olx.FIELD_KINDS) | NOT_ATTRIBUTES
        return {name: field for name, field in cls.fields.items()
                if name not in own and field.scope in (Scope.content, Scope.settings)}

    @classmethod
    def parse_xml(cls, node, runtime, keys):
        """Our OLX and every form of the hastexo XBlock's, including its Studio
        export's definition file (read from the course import's files)."""
        block = runtime.construct_xblock_from_class(cls, keys)
        parsed = olx.parse(node, getattr(runtime, "resources_fs", None), other_fields=cls.platform_fields())
        for name, value in parsed.fields.items():
            setattr(block, name, value)
        if parsed.warnings:
            log.warning("lab %s: %s", keys.usage_id, "; ".join(parsed.warnings))
        block.import_warnings = parsed.warnings
        return block

    def add_xml_to_node(self, node):
        node.tag = self.scope_ids.block_type
        for name in self.OLX_ATTRIBUTES:
            field = self.fields[name]
            if field.is_set_on(self):
                value = getattr(self, name)
                if value is not None:
                    node.set(name, value if isinstance(value, str) else field.to_string(value))
        for name, field in sorted(self.platform_fields().items()):
            if field.is_set_on(self):
                value = getattr(self, name)
                if value is not None:
                    node.set(name, field.to_string(value))
        for name in olx.LIST_FIELDS:
            if self.fields[name].is_set_on(self) and getattr(self, name):
                child = etree.SubElement(node, f"{{{olx.OPTION_NS}}}{name}", nsmap={"option": olx.OPTION_NS})
                child.text = olx.dump_list(getattr(self, name))
