"""OLX for lab blocks: our own export format, and every form courses written
for the hastexo XBlock use, so that those courses import whole.

Plain fields are attributes. ``providers``, ``ports`` and ``tests`` are YAML
in ``<option:NAME>`` children (XBlock's option namespace), which is what we
export. On import we also read the hastexo XBlock's forms: its element
children (``<provider .../>``, ``<port .../>``, ``<test>script</test>``), its
attribute names and value formats, and its Studio export, which keeps those
children in a file of their own (``hastexo/<filename>.xml``, named by the
``filename`` attribute). HTML children become the lab's instructions.

Whatever an imported lab says that this block does not do is named in a
warning; a value of the wrong shape is an :class:`OlxError` naming the field.
"""

import copy
import math
import textwrap

import yaml
from lxml import etree

OPTION_NS = "http://code.edx.org/xblock/option"
LIST_FIELDS = ("providers", "ports", "tests")
# Older names for the same fields.
ALIASES = {"protocol": "stack_protocol"}
# How each field's text is read: a converter name (see _convert).
FIELD_KINDS = {
    "display_name": "text", "weight": "weight", "instructions": "text", "stack_user_name": "text",
    "stack_protocol": "text", "stack_template_path": "text", "shared_environment": "text",
    "launch_timeout": "seconds", "suspend_timeout": "seconds", "delete_age": "seconds",
    "read_only": "boolean", "hidden": "boolean", "progress_check_label": "text",
    "show_feedback": "boolean", "show_hints_on_error": "boolean", "progress_check_result_heading": "text",
    "enable_fullscreen": "fullscreen", "stack_key_type": "key_type",
    "providers": "list", "ports": "list", "tests": "list",
}
# Kept, exported and editable, but without effect here yet: named in a warning
# when an imported lab sets them to something other than their default.
NO_EFFECT_YET = {
    "stack_key_type": ("", "the template must create the lab's key pair (OS::Nova::KeyPair)"),
}
# Parts of an OLX node that say where it lives, not what it is.
STRUCTURAL = ("url_name", "filename", "xblock-family", "slug")
# Children that are the lab's instructions.
HTML_TAGS = ("html", "html_demo")
# The most YAML an option child may hold, and how deep it may nest.
MAX_YAML = 256 * 1024
MAX_DEPTH = 20


class OlxError(ValueError):
    """The OLX of a lab cannot be read; the message says where and why."""


class Parsed:
    """What an OLX node says: field values, and warnings naming what was left out."""

    def __init__(self):
        self.fields = {}
        self.warnings = []
        self.instructions = []

    def warn(self, text):
        if text not in self.warnings:
            self.warnings.append(text)


def parse(node, resources=None, other_fields=None):
    """Read a lab node (and the file it points to, from ``resources``, an
    fs-like object with ``open(path)``, as the course import gives it).

    ``other_fields`` are the fields the block's class has besides its own
    (the platform's: "Hide from learners", group access, dates ...), by
    name: their attributes are read as the platform writes them, not
    dropped."""
    other_fields = other_fields or {}
    parsed = Parsed()
    if node.get("filename"):
        for child in _definition_file(node, resources):
            _read_child(child, parsed, resources, in_file=True)
    for child in node:
        _read_child(child, parsed, resources)
    provider = None
    for name, value in node.attrib.items():
        if name in STRUCTURAL:
            continue
        name = ALIASES.get(name, name)
        if name == "provider":
            provider = value
        elif name == "hook_script":
            if value.strip():
                parsed.warn(f"hook_script {value!r} is not supported: hook scripts are not run, the script is ignored")
        elif name in FIELD_KINDS:
            parsed.fields[name] = _convert(name, value)
        elif name in other_fields:
            try:
                parsed.fields[name] = other_fields[name].from_string(value)
            except (TypeError, ValueError, yaml.YAMLError) as exc:
                parsed.warn(f"the attribute {name!r} could not be read ({exc}) and was ignored")
        else:
            parsed.warn(f"the attribute {name!r} is not known to this block and was ignored")
    if provider is not None and provider.strip():
        if parsed.fields.get("providers"):
            parsed.warn(f"provider={provider!r} is ignored: the lab lists its providers")
        else:
            parsed.fields["providers"] = [{"name": provider.strip(), "capacity": -1}]
    if parsed.instructions:
        parsed.fields["instructions"] = "\n".join(
            ([parsed.fields["instructions"]] if parsed.fields.get("instructions") else []) + parsed.instructions)
    for name, (default, why) in NO_EFFECT_YET.items():
        if name in parsed.fields and parsed.fields[name] not in (default, None):
            parsed.warn(f"{name} is kept but has no effect yet: {why}")
    return parsed


def _definition_file(node, resources):
    """The children of the file a Studio export of the hastexo XBlock points to."""
    url_name = node.get("url_name") or node.get("slug") or ""
    folder = "/".join([node.tag, *url_name.replace(":", "/").split("/")[:-1]])
    path = f"{folder}/{node.get('filename')}.xml"
    if resources is None:
        raise OlxError(f"this lab's definition is in {path}, and this import gives no course files to read it from")
    try:
        with resources.open(path, "rb") as handle:
            data = handle.read()
    except Exception as exc:  # fs raises its own ResourceNotFound; any failure means the same here
        raise OlxError(f"this lab's definition file {path} cannot be read: {exc}")
    root = _parse_file(data, path)
    if root.tag != node.tag:
        raise OlxError(f"{path}: the root element must be <{node.tag}>, not <{root.tag}>")
    for name, value in root.attrib.items():
        if name not in node.attrib and name not in STRUCTURAL:
            node.set(name, value)
    return list(root)


def _parse_file(data, path):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise OlxError(f"{path} is not well-formed XML: {exc}")


def _read_child(child, parsed, resources, in_file=False):
    if not isinstance(child.tag, str):
        return  # a comment or processing instruction
    tag = child.tag
    if tag.startswith("{" + OPTION_NS + "}"):
        name = ALIASES.get(tag.split("}", 1)[1], tag.split("}", 1)[1])
        if name in ("hook_events", "hook_script"):
            parsed.warn(f"<option:{name}> is not supported: hook scripts are not run, and it was ignored")
        elif name == "provider":
            parsed.fields.setdefault("providers", [{"name": (child.text or "").strip(), "capacity": -1}])
        elif name not in FIELD_KINDS:
            parsed.warn(f"<option:{name}> is not a field of this block and was ignored")
        elif child.get("none") == "true":
            parsed.fields[name] = None
        elif name in LIST_FIELDS:
            parsed.fields[name] = normalized(name, load_yaml(child.text or "", f"<option:{name}>"))
        else:
            parsed.fields[name] = _convert(name, child.text or "")
    elif tag == "provider":
        if not child.get("name"):
            raise OlxError('<provider> needs a "name" attribute')
        entry = {"name": child.get("name"), "capacity": child.get("capacity")}
        for key in ("template", "environment"):
            if child.get(key) not in (None, "None"):
                entry[key] = child.get(key)
        parsed.fields.setdefault("providers", []).append(normalized("providers", [entry])[0])
    elif tag == "port":
        if not child.get("name") or child.get("number") is None:
            raise OlxError('<port> needs "name" and "number" attributes')
        entry = {"name": child.get("name"), "number": child.get("number")}
        parsed.fields.setdefault("ports", []).append(normalized("ports", [entry])[0])
    elif tag == "test":
        text = child.text or ""
        if not text.strip():
            raise OlxError("<test> must hold a script")
        parsed.fields.setdefault("tests", []).append(textwrap.dedent(text[1:] if text.startswith("\n") else text))
    elif tag == "hook_events":
        parsed.warn("<hook_events> is not supported: hook scripts are not run, and it was ignored")
    elif tag in HTML_TAGS and not in_file:
        parsed.instructions.append(_html(child, resources))
    else:
        parsed.warn(f"the child <{tag}> is not supported in a lab (its instructions are HTML) and was left out")


def _html(child, resources):
    """The HTML of an instructions child: inline, or in html/<name>.html as a
    Studio export writes it."""
    inline = _inner_markup(child)
    if inline.strip() or not (child.get("url_name") or child.get("filename")):
        return inline.strip()
    name = child.get("filename") or child.get("url_name")
    if resources is None:
        raise OlxError(f"<{child.tag} url_name={name!r}> points to a file, and this import gives no course files")
    for path in (f"{child.tag}/{name}.html", f"{child.tag}/{name}.xml"):
        try:
            with resources.open(path, "rb") as handle:
                data = handle.read()
        except Exception:  # not there: try the next place
            continue
        if path.endswith(".html"):
            return data.decode("utf-8").strip()
        pointer = _parse_file(data, path)
        if pointer.get("filename") and pointer.get("filename") != name:
            return _html(pointer, resources)
        return _inner_markup(pointer)
    raise OlxError(f"<{child.tag} url_name={name!r}> points nowhere: no {child.tag}/{name}.html or .xml")


def _inner_markup(element):
    """The markup inside ``element``, without the namespaces its parents declared."""
    parts = [element.text or ""]
    for child in element:
        alone = copy.deepcopy(child)
        etree.cleanup_namespaces(alone)
        parts.append(etree.tostring(alone, encoding="unicode", with_tail=False) + (child.tail or ""))
    return "".join(parts).strip()


# -- values -----------------------------------------------------------------------

_TRUE, _FALSE = ("true", "yes", "on", "1", "t", "y"), ("false", "no", "off", "0", "f", "n")


def _convert(name, text):
    """A field's value from its OLX text, in every format the hastexo XBlock wrote."""
    kind = FIELD_KINDS[name]
    value = text.strip() if isinstance(text, str) else text
    if kind == "text":
        return text
    if kind == "list":
        return normalized(name, load_yaml(text, name))
    if kind == "seconds":
        if value in ("", "None", "null"):
            return None
        try:
            return int(value)
        except ValueError:
            raise OlxError(f"{name}: expected a whole number of seconds (or nothing), not {text!r}")
    if kind == "boolean":
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise OlxError(f"{name}: expected true or false, not {text!r}")
    if kind == "weight":
        try:
            weight = float(value)
        except ValueError:
            raise OlxError(f"{name}: expected a number of points, not {text!r}")
        if not math.isfinite(weight) or weight < 0:
            raise OlxError(f"{name}: expected a number of points, 0 or more, not {text!r}")
        return weight
    if kind == "fullscreen":
        if value.lower() not in ("true", "false", "inherit"):
            raise OlxError(f"{name}: expected true, false or inherit, not {text!r}")
        return value.lower()
    if kind == "key_type":
        if value not in ("", "rsa", "ed25519"):
            raise OlxError(f"{name}: expected rsa, ed25519 or nothing, not {text!r}")
        return value
    raise AssertionError(kind)


def normalized(name, items):
    """List fields with the value formats the hastexo XBlock accepts: a
    capacity or port number given as text, an empty capacity for unlimited."""
    if not isinstance(items, list):
        raise OlxError(f"{name}: expected a list, not {type(items).__name__}")
    result = []
    for i, item in enumerate(items, 1):
        if name == "tests":
            if not isinstance(item, str):
                raise OlxError(f"tests: check {i} must be a script, not {type(item).__name__}")
            result.append(item)
            continue
        if not isinstance(item, dict):
            raise OlxError(f"{name}: entry {i} must be a mapping, not {type(item).__name__}")
        entry = dict(item)
        if not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise OlxError(f"{name}: entry {i} needs a name (text), not {entry.get('name')!r}")
        key = "capacity" if name == "providers" else "number"
        if name == "providers" and entry.get(key) in (None, "", "None"):
            entry[key] = -1
        elif isinstance(entry.get(key), str):
            try:
                entry[key] = int(entry[key].strip())
            except ValueError:
                raise OlxError(f"{name}: the {key} of entry {i} must be a whole number, not {entry[key]!r}")
        result.append(entry)
    return result


class _StrictLoader(yaml.SafeLoader):
    """YAML without anchors and aliases (a few hundred bytes of aliases can
    expand to gigabytes) and without deep nesting."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise OlxError("YAML aliases (*name) are not allowed in a lab's OLX")
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise OlxError("YAML anchors (&name) are not allowed in a lab's OLX")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise OlxError(f"YAML nested more than {MAX_DEPTH} levels deep is not allowed in a lab's OLX")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text, where):
    """A value from YAML (or JSON) that an author wrote: refused with a
    message naming ``where`` if it is too big, uses aliases, nests too deep
    or does not parse."""
    if isinstance(text, (list, dict)):
        return text
    if len(text) > MAX_YAML:
        raise OlxError(f"{where} holds more than {MAX_YAML // 1024} KiB")
    text = textwrap.dedent(text)
    if not text.strip():
        return []
    try:
        value = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader, stricter)
    except OlxError as exc:
        raise OlxError(f"{where}: {exc}")
    except (yaml.YAMLError, RecursionError) as exc:
        raise OlxError(f"{where} is not valid YAML: {exc}")
    if value is None:
        return []
    if not isinstance(value, list):
        raise OlxError(f"{where} must be a YAML list, not {type(value).__name__}")
    return value


# -- export -----------------------------------------------------------------------

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


__all__ = ["FIELD_KINDS", "LIST_FIELDS", "OPTION_NS", "OlxError", "Parsed", "dump_list", "load_yaml",
           "normalized", "parse"]
