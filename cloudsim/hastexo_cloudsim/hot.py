"""HOT templates: parsing, parameter checking, and the intrinsic functions
(``get_param``, ``get_resource``, ``get_attr``, ``str_replace``, ``list_join``,
``get_file``, ``str_split``) that lab templates use to compute their outputs.

Errors are raised as Heat's 400 replies, with Heat's wording where it has one.
"""

import json
import re

import yaml

from . import resources
from .errors import bad_request

VERSIONS = {
    "2013-05-23", "2014-10-16", "2015-04-30", "2015-10-15", "2016-04-08",
    "2016-10-14", "2017-02-24", "2017-09-01", "2018-03-02", "2018-08-31",
    "2021-04-16", "newton", "ocata", "pike", "queens", "rocky", "wallaby",
}
PARAMETER_TYPES = ("string", "number", "json", "comma_delimited_list", "boolean")
PSEUDO_PARAMETERS = ("OS::stack_name", "OS::stack_id", "OS::project_id")


class _Loader(yaml.SafeLoader):
    """YAML loader that keeps dates as strings, as Heat does."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text, what):
    """Parse YAML or JSON text (or pass a dict through); 400 naming the problem."""
    if isinstance(text, dict):
        return text
    if not isinstance(text, str):
        raise bad_request(f"The {what} must be a YAML or JSON document, not {type(text).__name__}.")
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise bad_request(f"Error parsing {what}: {exc}", "InvalidTemplate")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise bad_request(f"The {what} is not a mapping (got {type(data).__name__}).", "InvalidTemplate")
    return data


def parse_environment(env):
    env = load_yaml(env or {}, "environment")
    unknown = set(env) - {"parameters", "parameter_defaults", "resource_registry",
                          "event_sinks", "encrypted_param_names"}
    if unknown:
        raise bad_request(f"environment has unknown section(s): {', '.join(sorted(unknown))}",
                          "InvalidEnvironment")
    for section in ("parameters", "parameter_defaults"):
        if not isinstance(env.get(section) or {}, dict):
            raise bad_request(f'environment section "{section}" must be a mapping', "InvalidEnvironment")
    return env


class Template:
    """A parsed, validated HOT template."""

    def __init__(self, source):
        tmpl = load_yaml(source, "template")
        version = tmpl.get("heat_template_version")
        if version is None:
            raise bad_request("Template format version not found.", "InvalidTemplateVersion")
        if str(version) not in VERSIONS:
            raise bad_request(
                f'The template version is invalid: "heat_template_version: {version}". '
                f'"heat_template_version" should be one of: {", ".join(sorted(VERSIONS))}',
                "InvalidTemplateVersion")
        allowed = {"heat_template_version", "description", "parameter_groups", "parameters",
                   "resources", "outputs", "conditions"}
        unknown = set(tmpl) - allowed
        if unknown:
            raise bad_request(f'Unknown top-level key(s) in template: {", ".join(sorted(map(str, unknown)))}',
                              "InvalidTemplate")
        self.raw = tmpl
        self.description = str(tmpl.get("description") or "")
        self.parameters = self._section(tmpl, "parameters")
        self.resources = self._section(tmpl, "resources")
        self.outputs = self._section(tmpl, "outputs")
        for name, decl in self.parameters.items():
            if not isinstance(decl, dict):
                raise bad_request(f'Parameter "{name}" must be a mapping.', "InvalidTemplate")
            ptype = decl.get("type")
            if ptype not in PARAMETER_TYPES:
                raise bad_request(f'Invalid type ({ptype}) of parameter "{name}"; should be one of: '
                                  f'{", ".join(PARAMETER_TYPES)}', "InvalidTemplate")
        for name, decl in self.resources.items():
            if not isinstance(decl, dict) or "type" not in decl:
                raise bad_request(f'Resource "{name}" has no "type".', "InvalidTemplate")
            if decl["type"] not in resources.RESOURCE_TYPES:
                raise bad_request(f'The Resource Type ({decl["type"]}) could not be found.',
                                  "StackValidationFailed")
            if not isinstance(decl.get("properties") or {}, dict):
                raise bad_request(f'Properties of resource "{name}" must be a mapping.', "InvalidTemplate")
        for name, decl in self.outputs.items():
            if not isinstance(decl, dict) or "value" not in decl:
                raise bad_request(f'Output "{name}" has no "value".', "InvalidTemplate")

    @staticmethod
    def _section(tmpl, key):
        section = tmpl.get(key) or {}
        if not isinstance(section, dict):
            raise bad_request(f'The template section "{key}" must be a mapping.', "InvalidTemplate")
        return section

    def resolve_parameters(self, given, env):
        """Merge request parameters, environment parameters and defaults; check each.

        Returns the typed values keyed by parameter name.
        """
        given = dict(given or {})
        env_params = dict(env.get("parameters") or {})
        defaults = dict(env.get("parameter_defaults") or {})
        for name in list(given) + list(env_params):
            if name not in self.parameters:
                raise bad_request(f"The Parameter ({name}) was not defined in template.",
                                  "UnknownUserParameter")
        values = {}
        for name, decl in self.parameters.items():
            if name in given:
                raw = given[name]
            elif name in env_params:
                raw = env_params[name]
            elif name in defaults:
                raw = defaults[name]
            elif "default" in decl:
                raw = decl["default"]
            else:
                raise bad_request(f"The Parameter ({name}) was not provided.", "UserParameterMissing")
            values[name] = _check_parameter(name, decl, raw)
        return values


def _check_parameter(name, decl, raw):
    ptype = decl["type"]
    value = raw
    try:
        if ptype == "number":
            value = float(raw) if "." in str(raw) else int(str(raw))
        elif ptype == "boolean":
            text = str(raw).lower()
            if text not in ("true", "false", "1", "0", "yes", "no", "on", "off", "t", "f", "y", "n"):
                raise ValueError(f"Unrecognized value {raw!r}, acceptable values are: true, false")
            value = text in ("true", "1", "yes", "on", "t", "y")
        elif ptype == "json":
            value = json.loads(raw) if isinstance(raw, str) else raw
        elif ptype == "comma_delimited_list":
            value = raw if isinstance(raw, list) else [p.strip() for p in str(raw).split(",") if p.strip()]
        else:
            value = raw if isinstance(raw, str) else json.dumps(raw) if isinstance(raw, (dict, list)) else str(raw)
    except ValueError as exc:
        raise bad_request(f'Parameter \'{name}\' is invalid: {exc}', "StackValidationFailed")
    for constraint in decl.get("constraints") or []:
        _check_constraint(name, constraint, value)
    return value


def _check_constraint(name, constraint, value):
    if not isinstance(constraint, dict):
        return
    message = constraint.get("description")
    problem = None
    if "allowed_values" in constraint and value not in constraint["allowed_values"]:
        problem = f'"{value}" is not an allowed value {constraint["allowed_values"]}'
    elif "range" in constraint:
        low, high = constraint["range"].get("min"), constraint["range"].get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            problem = f"{value} is out of range (min: {low}, max: {high})"
    elif "length" in constraint:
        low, high = constraint["length"].get("min"), constraint["length"].get("max")
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            problem = f"length {len(value)} is out of range (min: {low}, max: {high})"
    elif "allowed_pattern" in constraint:
        if not re.fullmatch(constraint["allowed_pattern"], str(value)):
            problem = f'"{value}" does not match pattern "{constraint["allowed_pattern"]}"'
    if problem:
        raise bad_request(f"Parameter '{name}' is invalid: {message or problem}", "StackValidationFailed")


class Resolver:
    """Builds the resources of one stack and evaluates intrinsic functions.

    Resources are built on first reference, so dependency order comes for free
    and a cycle is reported instead of recursing forever.
    """

    def __init__(self, template, params, files, ctx):
        self.template = template
        self.params = params
        self.files = files or {}
        self.ctx = ctx
        self.built = {}
        self._building = []

    def build_all(self):
        # Subnets first: a port or server takes its address from its
        # network's subnet, which Heat, too, creates before them.
        subnets = [n for n, d in self.template.resources.items() if d.get("type") == "OS::Neutron::Subnet"]
        for name in subnets + list(self.template.resources):
            self._build(name)
        return self.built

    def outputs(self):
        """Heat's output list: output_key, output_value, description."""
        result = []
        for key, decl in self.template.outputs.items():
            result.append({
                "output_key": key,
                "output_value": self.resolve(decl["value"], f"output {key}"),
                "description": decl.get("description", "No description given"),
            })
        return result

    def _build(self, name):
        if name in self.built:
            return self.built[name]
        if name in self._building:
            chain = " -> ".join(self._building + [name])
            raise bad_request(f"Circular Dependency Found: {chain}", "CircularDependencyException")
        self._building.append(name)
        decl = self.template.resources[name]
        props = self.resolve(decl.get("properties") or {}, f"resource {name}")
        for dep in _as_list(decl.get("depends_on")):
            self._ref_check(dep, name)
            self._build(dep)
        reference, attrs, hidden = resources.build(decl["type"], props, self.ctx)
        self._building.pop()
        self.built[name] = {"type": decl["type"], "reference": reference, "attributes": attrs, "properties": props,
                            "hidden": hidden}
        return self.built[name]

    def _ref_check(self, target, where):
        if not isinstance(target, str) or target not in self.template.resources:
            raise bad_request(f'The specified reference "{target}" (in {where}) is incorrect.',
                              "InvalidTemplateReference")

    def resolve(self, node, where):
        if isinstance(node, list):
            return [self.resolve(item, where) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            handler = getattr(self, "_fn_" + str(fn), None)
            if handler is not None:
                return handler(arg, where)
        return {key: self.resolve(value, where) for key, value in node.items()}

    def _fn_get_param(self, arg, where):
        arg = self.resolve(arg, where)
        name, path = (arg[0], arg[1:]) if isinstance(arg, list) and arg else (arg, [])
        pseudo = {"OS::stack_name": self.ctx.stack_name, "OS::stack_id": self.ctx.stack_id,
                  "OS::project_id": self.ctx.project_id}
        if name in pseudo:
            return pseudo[name]
        if name not in self.params:
            raise bad_request(f"The Parameter ({name}) was not defined in template.",
                              "InvalidTemplateReference")
        return _walk(self.params[name], path)

    def _fn_get_resource(self, arg, where):
        self._ref_check(arg, where)
        return self._build(arg)["reference"]

    def _fn_get_attr(self, arg, where):
        arg = self.resolve(arg, where)
        if not isinstance(arg, list) or len(arg) < 2:
            raise bad_request(f"Arguments to get_attr must be [resource, attribute, ...] (in {where}).",
                              "InvalidTemplate")
        self._ref_check(arg[0], where)
        attrs = self._build(arg[0])["attributes"]
        if arg[1] not in attrs:
            raise bad_request(f"The Referenced Attribute ({arg[0]} {arg[1]}) is incorrect.",
                              "InvalidTemplateAttribute")
        return _walk(attrs[arg[1]], arg[2:])

    def _fn_str_replace(self, arg, where):
        arg = self.resolve(arg, where)
        if not isinstance(arg, dict) or "template" not in arg or not isinstance(arg.get("params"), dict):
            raise bad_request(f'"str_replace" needs "template" and "params" (in {where}).', "InvalidTemplate")
        text = str(arg["template"])
        # Longest keys first, so that "$user_name" is not clobbered by "$user".
        for key in sorted(arg["params"], key=len, reverse=True):
            value = arg["params"][key]
            text = text.replace(str(key), value if isinstance(value, str) else json.dumps(value))
        return text

    def _fn_list_join(self, arg, where):
        arg = self.resolve(arg, where)
        if not isinstance(arg, list) or not arg or not isinstance(arg[0], str):
            raise bad_request(f'"list_join" needs [delimiter, list, ...] (in {where}).', "InvalidTemplate")
        items = []
        for part in arg[1:]:
            items.extend(str(x) for x in _as_list(part))
        return arg[0].join(items)

    def _fn_str_split(self, arg, where):
        arg = self.resolve(arg, where)
        if not isinstance(arg, list) or len(arg) not in (2, 3):
            raise bad_request(f'"str_split" needs [delimiter, string, index?] (in {where}).', "InvalidTemplate")
        parts = str(arg[1]).split(arg[0])
        return parts[int(arg[2])] if len(arg) == 3 else parts

    def _fn_get_file(self, arg, where):
        if arg not in self.files:
            raise bad_request(f'No content found in the "files" section for get_file path: {arg}',
                              "InvalidTemplate")
        return self.files[arg]


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _walk(value, path):
    for step in path:
        try:
            value = value[step if isinstance(value, dict) else int(step)]
        except (KeyError, IndexError, ValueError, TypeError):
            return None
    return value
