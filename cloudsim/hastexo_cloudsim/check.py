"""``hastexo-cloudsim --check TEMPLATE [-e ENV ...] [-P name=value ...]``: a
template judged the way the fake cloud (and so, as near as it can, Heat)
judges a create of it with these environments and parameter values, with
Heat's messages; no server is started. A create needs a value (or a default)
for every parameter, so the check fails where one has none, naming them all.

The files the template refers to with ``get_file`` (and those the
environments' ``resource_registry`` names) are read relative to the file that
names them, as the ``openstack`` client collects them.
"""

import os
import sys
import uuid

import yaml

from .errors import ApiError


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _files_of(node, base, files):
    """Every ``get_file`` path in ``node``, read relative to ``base``."""
    if isinstance(node, dict):
        if len(node) == 1 and "get_file" in node and isinstance(node["get_file"], str):
            name = node["get_file"]
            local = name[len("file://"):] if name.startswith("file://") else name
            path = local if os.path.isabs(local) else os.path.join(base, local)
            if name not in files and os.path.isfile(path):
                files[name] = _read(path)
            return
        for value in node.values():
            _files_of(value, base, files)
    elif isinstance(node, list):
        for value in node:
            _files_of(value, base, files)


def _template_files(text, base, files):
    """A template's ``get_file`` files, and the templates it uses as resource
    types (and theirs), read relative to ``base``."""
    tree = _parse(text)
    _files_of(tree, base, files)
    for rtype in _types_in(tree.get("resources") if isinstance(tree, dict) else None):
        if rtype.endswith(TEMPLATE_SUFFIXES) and rtype not in files:
            path = rtype if os.path.isabs(rtype) else os.path.join(base, rtype)
            if os.path.isfile(path):
                files[rtype] = _read(path)
                _template_files(files[rtype], os.path.dirname(path), files)


def _types_in(node):
    """Every ``type:`` string under ``node`` (resources, and groups' members)."""
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            yield node["type"]
        for value in node.values():
            yield from _types_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _types_in(value)


TEMPLATE_SUFFIXES = (".yaml", ".yml", ".template")


def _parse(text):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None  # the engine says what is wrong, in Heat's words


def collect(template_path, environment_paths=()):
    """(template text, merged environment, files) as a client would send them."""
    template = _read(template_path)
    files = {}
    _template_files(template, os.path.dirname(os.path.abspath(template_path)), files)
    environment = {}
    for env_path in environment_paths:
        env = _parse(_read(env_path)) or {}
        if not isinstance(env, dict):
            raise ValueError(f"{env_path}: an environment is a mapping")
        base = os.path.dirname(os.path.abspath(env_path))
        for section, value in env.items():
            if isinstance(value, dict) and isinstance(environment.get(section), dict):
                environment[section] = {**environment[section], **value}
            else:
                environment[section] = value
        for target in (env.get("resource_registry") or {}).values():
            if isinstance(target, str) and target.endswith(TEMPLATE_SUFFIXES):
                path = target if os.path.isabs(target) else os.path.join(base, target)
                if os.path.isfile(path):
                    files[target] = _read(path)
                    _template_files(files[target], os.path.dirname(path), files)
    return template, environment, files


def offline_engine():
    """A fake Heat of its own, with no server, machines or faults: to judge
    templates with."""
    from .config import CloudConfig
    from .faults import FaultInjector
    from .heat import HeatEngine
    return HeatEngine(CloudConfig(machines=False), clock=lambda: 0.0, faults=FaultInjector())


def check(template_path, environment_paths=(), parameters=None, require_values=False):
    """Judge a template: (True, summary) or (False, Heat's message).

    First as Heat's template-validate does (which needs no values), then as
    a create with ``parameters`` would. With ``require_values``, a parameter
    without a value fails the check as it fails the create; without, the
    template is then judged only as far as validate goes (for templates
    nobody has values for, such as a corpus of examples)."""
    template, environment, files = collect(template_path, environment_paths)
    engine = offline_engine()
    body = {"template": template, "environment": environment, "files": files, "parameters": parameters or {}}
    try:
        result = engine.validate(body)  # what Heat's template-validate says
    except ApiError as err:
        return False, f"ERROR: {err.message}"
    names = ", ".join(sorted(result.get("Parameters") or {})) or "none"
    try:
        plan = engine._plan(template, environment, files, parameters or {})
    except ApiError as err:
        if err.error_type != "UserParameterMissing":
            return False, f"ERROR: {err.message}"
        if require_values:
            return False, f"ERROR: {err.message} {_values_needed(template, environment, parameters)}"
        return True, (f"OK: {template_path} is a valid template (parameters: {names}); not built, since "
                      f"{err.message[0].lower() + err.message[1:]} Give values with -P name=value to build it.")
    try:
        engine._build(plan, "check", str(uuid.uuid4()), 0, "")
    except ApiError as err:
        return False, f"ERROR: {err.message}"
    return True, f"OK: {template_path} is a valid template and builds (parameters: {names})"


def _values_needed(template, environment, parameters):
    """What to say of the parameters a create would have no value for."""
    declared = (_parse(template) or {}).get("parameters") or {}
    given = {**(environment.get("parameter_defaults") or {}), **(environment.get("parameters") or {}),
             **(parameters or {})}
    missing = sorted(name for name, decl in declared.items()
                     if name not in given and (not isinstance(decl, dict) or decl.get("default") is None))
    return (f"A create needs a value for {', '.join(missing) or 'every parameter without a default'}: "
            "give each with -P name=value, or in an environment's parameter_defaults.")


def main(args):
    """Run from the command line; returns the exit status."""
    parameters = None
    if args.parameter:
        parameters = {}
        for item in args.parameter:
            name, sep, value = item.partition("=")
            if not sep or not name:
                print(f"hastexo-cloudsim: --parameter takes name=value, not {item!r}", file=sys.stderr)
                return 2
            parameters[name] = value
    try:
        ok, message = check(args.check, args.environment, parameters, require_values=True)
    except (OSError, ValueError) as exc:
        print(f"hastexo-cloudsim: {exc}", file=sys.stderr)
        return 2
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
