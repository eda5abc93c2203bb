"""OLX for lab blocks: our own export format, and the one courses written for
the hastexo XBlock use, so that those courses import unchanged.

Plain fields are attributes. ``providers``, ``ports`` and ``tests`` are YAML in
``<option:NAME>`` children (XBlock's option namespace), which is what we
export. On import we also read the hastexo XBlock's element children
(``<provider .../>``, ``<port .../>``, ``<test>script</test>``) and its
attribute names (``stack_protocol`` as well as ``protocol``).
"""

import textwrap

import yaml

OPTION_NS = "http://code.edx.org/xblock/option"
LIST_FIELDS = ("providers", "ports", "tests")
# Older names for the same fields.
ALIASES = {"protocol": "stack_protocol"}


class OlxError(ValueError):
    """The OLX of a lab cannot be read; the message says where and why."""


def _truthy(text):
    return str(text).strip().lower() in ("1", "true", "yes", "on")


def _int(text, where):
    try:
        return int(str(text).strip())
    except ValueError:
        raise OlxError(f"{where}: {text!r} is not a whole number")


def read_children(node):
    """Field values from the child elements of a lab node.

    Returns (fields, other_children): other children are blocks of their own
    (html, video, ...) to be added as the lab's children.
    """
    fields, others = {}, []
    for child in node:
        if not isinstance(child.tag, str):
            continue  # a comment or processing instruction
        tag = child.tag
        if tag.startswith("{" + OPTION_NS + "}"):
            name = tag.split("}", 1)[1]
            name = ALIASES.get(name, name)
            if child.get("none") == "true":
                fields[name] = None
            elif name in LIST_FIELDS:
                fields[name] = _yaml_list(child.text or "", f"<option:{name}>")
            else:
                fields[name] = (child.text or "").strip()
        elif tag == "provider":
            if not child.get("name"):
                raise OlxError('<provider> needs a "name" attribute')
            capacity = child.get("capacity")
            entry = {"name": child.get("name"),
                     "capacity": -1 if capacity in (None, "", "None") else _int(capacity, "<provider capacity>")}
            for key in ("template", "environment"):
                if child.get(key):
                    entry[key] = child.get(key)
            fields.setdefault("providers", []).append(entry)
        elif tag == "port":
            if not child.get("name") or child.get("number") is None:
                raise OlxError('<port> needs "name" and "number" attributes')
            fields.setdefault("ports", []).append(
                {"name": child.get("name"), "number": _int(child.get("number"), "<port number>")})
        elif tag == "test":
            text = (child.text or "").lstrip("\n")
            fields.setdefault("tests", []).append(textwrap.dedent(text))
        elif tag == "hook_events":
            continue  # the hastexo XBlock's hook scripts have no counterpart here
        else:
            others.append(child)
    return fields, others


def _yaml_list(text, where):
    try:
        value = yaml.safe_load(textwrap.dedent(text)) if text.strip() else []
    except yaml.YAMLError as exc:
        raise OlxError(f"{where} is not valid YAML: {exc}")
    if value is None:
        return []
    if not isinstance(value, list):
        raise OlxError(f"{where} must be a YAML list, not {type(value).__name__}")
    return value


def attribute_fields(node, known):
    """Field values from a lab node's attributes (names this block knows)."""
    fields = {}
    for name, value in node.attrib.items():
        name = ALIASES.get(name, name)
        if name in known:
            fields[name] = value
    return fields


class _Dumper(yaml.SafeDumper):
    """Block style; multi-line strings (scripts) as literal blocks."""


def _str(dumper, text):
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)
# Keys in this order first, the rest sorted: stable across export and import.
_KEY_ORDER = ("name", "number", "capacity", "template", "environment")


def _ordered(item):
    if not isinstance(item, dict):
        return item
    keys = [k for k in _KEY_ORDER if k in item] + sorted(k for k in item if k not in _KEY_ORDER)
    return {k: item[k] for k in keys}


def dump_list(value):
    """YAML for an <option:...> child: readable, and the same on every export."""
    return "\n" + yaml.dump([_ordered(item) for item in value], Dumper=_Dumper, default_flow_style=False,
                            sort_keys=False, allow_unicode=True)


__all__ = ["OPTION_NS", "LIST_FIELDS", "OlxError", "attribute_fields", "dump_list", "read_children", "_truthy"]
