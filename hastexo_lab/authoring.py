"""Checks of what course authors write (Studio or OLX), and loading their
Heat templates. No XBlock inside: the block passes plain values in.

Each check returns a list of (field, message) problems; an empty list means
the values are fine.
"""

import math
import os
import re

from django.utils.translation import gettext as _
from opaque_keys import InvalidKeyError, OpaqueKey
from opaque_keys.edx.keys import CourseKey

from . import conf

USER_NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
SHARED_ENVIRONMENT_RE = re.compile(r"^(|[A-Za-z0-9][A-Za-z0-9_.-]{0,39})$")
PROTOCOLS = ("ssh", "rdp", "vnc")
DEFAULT_PORTS = {"ssh": 22, "rdp": 3389, "vnc": 5901}
# key -> (minimum, maximum) for the per-lab overrides, in seconds.
TIMEOUT_RANGES = {"launch_timeout": (60, 86_400), "suspend_timeout": (30, 30 * 86_400),
                  "delete_age": (3_600, 10 * 365 * 86_400)}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_lab(values, known_providers=None):
    """Problems with a lab's settings, each naming the field."""
    problems = []
    user = values.get("stack_user_name") or ""
    if not user.strip():
        problems.append(("stack_user_name", _("Stack user name is required: the account learners log in as.")))
    elif not USER_NAME_RE.match(user):
        problems.append(("stack_user_name", _("Stack user name must be a lower-case login name, like 'training'.")))
    if values.get("stack_protocol") not in PROTOCOLS:
        problems.append(("stack_protocol", _("Protocol must be one of ssh, rdp, vnc.")))
    for key, (low, high) in TIMEOUT_RANGES.items():
        value = values.get(key)
        if value is None:
            continue
        if key == "delete_age" and value == 0:
            continue
        if not _is_int(value) or not low <= value <= high:
            problems.append((key, _("{field} must be empty or a number of seconds from {low} to {high}.").format(
                field=key, low=low, high=high)))
    weight = values.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
        problems.append(("weight", _("Weight must be a number of points, 0 or more.")))
    for key in ("read_only", "hidden", "show_feedback", "show_hints_on_error"):
        if key in values and not isinstance(values[key], bool):
            problems.append((key, _("{field} must be true or false.").format(field=key)))
    if values.get("enable_fullscreen", "inherit") not in ("true", "false", "inherit"):
        problems.append(("enable_fullscreen", _("Full screen must be true, false or inherit.")))
    shared = values.get("shared_environment") or ""
    if not isinstance(shared, str) or not SHARED_ENVIRONMENT_RE.match(shared):
        problems.append(("shared_environment", _("Shared environment must be empty or up to 40 letters, digits, "
                                                 "'-', '_' or '.', starting with a letter or digit.")))
    problems += check_providers(values.get("providers"), known_providers)
    problems += check_ports(values.get("ports"))
    problems += check_tests(values.get("tests"))
    providers = values.get("providers") or []
    if not (values.get("stack_template_path") or "").strip():
        if not providers or not all(isinstance(p, dict) and p.get("template") for p in providers):
            problems.append(("stack_template_path", _("Give a template path, or a template for every provider.")))
    return problems


def check_providers(providers, known=None):
    if providers is None:
        return []
    if not isinstance(providers, list):
        return [("providers", _("Providers must be a list of {name, capacity, template, environment}."))]
    problems, seen = [], set()
    for i, entry in enumerate(providers, 1):
        if not isinstance(entry, dict):
            problems.append(("providers", _("Provider {n} must be a mapping with a name.").format(n=i)))
            continue
        unknown_keys = set(entry) - {"name", "capacity", "template", "environment"}
        if unknown_keys:
            problems.append(("providers", _("Provider {n} has unknown keys: {keys}.").format(
                n=i, keys=", ".join(sorted(map(str, unknown_keys))))))
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            problems.append(("providers", _("Provider {n} needs a name.").format(n=i)))
            continue
        elif known is not None and name not in known:
            problems.append(("providers", _("Unknown provider '{name}' (configured: {known}).").format(
                name=name, known=", ".join(sorted(known)) or _("none"))))
        elif name in seen:
            problems.append(("providers", _("Provider '{name}' is listed twice.").format(name=name)))
        seen.add(name)
        capacity = entry.get("capacity", -1)
        if not _is_int(capacity) or capacity < -1:
            problems.append(("providers", _("Capacity of provider {n} must be -1 (unlimited), 0 (disabled) "
                                            "or a positive number.").format(n=i)))
        for key in ("template", "environment"):
            if key in entry and not isinstance(entry[key], str):
                problems.append(("providers", _("The {key} of provider {n} must be a path.").format(key=key, n=i)))
    return problems


def check_ports(ports):
    if ports is None:
        return []
    if not isinstance(ports, list):
        return [("ports", _("Ports must be a list of {name, number}."))]
    problems = []
    for i, entry in enumerate(ports, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry.get("name"):
            problems.append(("ports", _("Port {n} needs a name.").format(n=i)))
            continue
        number = entry.get("number")
        if not _is_int(number) or not 1 <= number <= 65535:
            problems.append(("ports", _("Port '{name}' needs a number from 1 to 65535.").format(name=entry["name"])))
    return problems


def check_tests(tests):
    if tests is None:
        return []
    if not isinstance(tests, list) or not all(isinstance(t, str) and t.strip() for t in tests):
        return [("tests", _("Progress checks must be a list of non-empty scripts."))]
    return []


def check_files(values, course_key):
    """Problems with the course files a lab names: every template and
    environment must be there, so that authors hear of it at save, not
    their first learner at launch."""
    problems = []
    if not _course_files_here():
        return problems  # nothing to look in (neither the LMS's files nor template_dir)
    providers = values.get("providers") or []
    paths = [("stack_template_path", values.get("stack_template_path") or "")]
    for entry in providers if isinstance(providers, list) else []:
        if isinstance(entry, dict):
            for key in ("template", "environment"):
                if isinstance(entry.get(key), str) and entry[key]:
                    paths.append(("providers", entry[key]))
    for field, path in paths:
        if not path:
            continue
        try:
            load_course_file(course_key, path)
        except NoCourseFiles as exc:
            problems.append((field, str(exc)))
        except TemplateNotFound:
            problems.append((field, _("{path} is not in the course's files (Files & Uploads).").format(path=path)))
    return problems


def _course_files_here():
    try:
        import xmodule.contentstore.django  # noqa: F401, PLC0415 (edx-platform only)
    except ImportError:
        return bool(conf.get_settings().template_dir)
    return True


class TemplateNotFound(Exception):
    """A lab's Heat template (or environment) cannot be read."""


class NoCourseFiles(TemplateNotFound):
    """There are no course files to read from: the lab is in a library, or
    in no course at all. The message says which, for authors."""


def course_key_from(*ids):
    """The key of the course (or library) a lab is in, as the platform hands
    it, from the first of ``ids`` given: the usage key's context, the
    runtime's course id, the block's own course id. A key is that key; a
    string is parsed as a course key. None where there is no key (the
    xblock-sdk workbench, whose usage ids are plain strings)."""
    given = next(filter(None, ids), None)
    if isinstance(given, OpaqueKey):
        return given
    if isinstance(given, str):
        try:
            return CourseKey.from_string(given)
        except InvalidKeyError:
            return None
    return None


def course_run_from(*ids, default=""):
    """The course run as a string, from the first of ``ids`` given (as
    ``course_key_from``), else ``default``: what stack names and the stacks'
    course_id are made of."""
    return str(next(filter(None, ids), default))


def load_course_file(course_key, path):
    """The text of a file the author uploaded to the course (Files & Uploads).

    In the LMS and Studio the course content store has it, under the
    course's key (a CourseKey, or a string of one). Elsewhere (the
    workbench, the demo) files are read from the ``template_dir`` setting.
    """
    if not path:
        return ""
    try:
        from xmodule.contentstore.content import StaticContent  # noqa: PLC0415 (edx-platform only)
        from xmodule.contentstore.django import contentstore
        from xmodule.exceptions import NotFoundError
    except ImportError:
        return _read_local(path)
    key = _files_key(course_key, path)
    try:
        location = StaticContent.compute_location(key, path)
        return contentstore().find(location).data.decode("utf-8")
    except (NotFoundError, InvalidKeyError, UnicodeDecodeError) as exc:
        raise TemplateNotFound(f"{path} (course files): {exc}")


def _files_key(key, path):
    """The course key the content store files ``path`` under, or
    NoCourseFiles saying why there is none."""
    if isinstance(key, str) and key:
        try:
            key = CourseKey.from_string(key)
        except InvalidKeyError:
            raise NoCourseFiles(_("{path} cannot be read: '{key}' is not a course key.").format(path=path, key=key))
    if key is None or isinstance(key, str):
        raise NoCourseFiles(_("{path} cannot be read: this lab is not in a course, so there are no course "
                              "files.").format(path=path))
    if not hasattr(key, "make_asset_key"):
        if isinstance(key, OpaqueKey) and getattr(key, "CANONICAL_NAMESPACE", "").startswith("lib"):
            raise NoCourseFiles(_("{path} cannot be read: course files are not available in a library ({key}); "
                                  "use the lab in a course.").format(path=path, key=key))
        raise NoCourseFiles(_("{path} cannot be read: '{key}' is not a course key.").format(path=path, key=key))
    return key


def _read_local(path):
    base = conf.get_settings().template_dir
    if not base:
        raise TemplateNotFound(f"{path}: no course file store here, and template_dir is not set")
    full = os.path.realpath(os.path.join(base, path.lstrip("/")))
    if not full.startswith(os.path.realpath(base) + os.sep):
        raise TemplateNotFound(f"{path}: outside template_dir")
    try:
        with open(full, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise TemplateNotFound(f"{path}: {exc.strerror}")


def summary(values):
    """What an author sees of a lab in Studio (its author view), as text:
    where it comes from, what learners get, what is checked."""
    providers = [entry for entry in (values.get("providers") or []) if isinstance(entry, dict)]
    ports = [p for p in (values.get("ports") or []) if isinstance(p, dict)]
    default = _("the site's default")
    timeouts = ", ".join(
        _("{name}: {value}").format(name=name, value=_("{seconds} s").format(seconds=values[key])
                                    if values.get(key) else default)
        for key, name in (("launch_timeout", _("launch")), ("suspend_timeout", _("suspend when idle")),
                          ("delete_age", _("delete when unused"))))
    return {
        "display_name": values.get("display_name") or "",
        "protocol": (values.get("stack_protocol") or "ssh").upper(),
        "user": values.get("stack_user_name") or "",
        "template": values.get("stack_template_path") or "",
        "providers": [{"name": p.get("name", ""), "capacity": p.get("capacity", -1) if _is_int(p.get("capacity", -1))
                       else -1, "template": p.get("template", ""), "environment": p.get("environment", "")}
                      for p in providers],
        "ports": ", ".join(f"{p.get('name', '')} ({p.get('number', '')})" for p in ports),
        "checks": len(values.get("tests") or []),
        "timeouts": timeouts,
    }
