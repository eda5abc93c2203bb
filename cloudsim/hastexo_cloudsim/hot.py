"""HOT templates: parsing, the checks Heat makes before it builds anything,
parameters and their constraints, and building a stack's resources.

The intrinsic and condition functions themselves live in ``functions.py``;
this module parses each section with the function table of the template's
version and resolves what it parsed. Errors are raised as Heat's 400 replies,
with Heat's wording where it has one.
"""

import collections.abc
import json
import numbers
import re
import uuid

import regex
import yaml

from . import functions as fn
from . import resources, schemas
from .errors import ApiError, bad_request
from .registry import Registry

VERSIONS = set(fn.VERSIONS)
PARAMETER_TYPES = ("string", "number", "json", "comma_delimited_list", "boolean")
PSEUDO_PARAMETERS = ("OS::stack_name", "OS::stack_id", "OS::project_id")
PARAMETER_KEYS = ("type", "description", "default", "schema", "constraints", "hidden", "label", "immutable")
CONSTRAINT_KEYS = ("description", "length", "range", "modulo", "allowed_values", "allowed_pattern",
                   "custom_constraint")
# How long one allowed_pattern may take to match a value, in seconds. A
# pattern that backtracks catastrophically gives up instead of stalling.
PATTERN_TIMEOUT = 1.0

# The custom constraints Heat registers (setup.cfg, heat.constraints). Values
# are not looked up in the fake cloud: a known name accepts any value.
CUSTOM_CONSTRAINTS = frozenset("""
cron_expression dns_domain dns_name expiration rel_dns_name ip_addr iso_8601 mac_addr net_cidr ip_or_cidr
test_constr timezone json_string barbican.container barbican.secret blazar.reservation cinder.backup
cinder.qos_specs cinder.snapshot cinder.volume cinder.vtype designate.zone glance.image keystone.domain
keystone.group keystone.project keystone.region keystone.role keystone.service keystone.user
magnum.cluster_template manila.share_network manila.share_snapshot manila.share_type mistral.workflow
neutron.address_scope neutron.flow_classifier neutron.lbaas.listener neutron.lbaas.loadbalancer
neutron.lbaas.pool neutron.lbaas.provider neutron.network neutron.port neutron.port_pair
neutron.port_pair_group neutron.qos_policy neutron.router neutron.security_group neutron.segment
neutron.subnet neutron.subnetpool neutron.taas.tap_service neutron.taas.tap_flow nova.flavor nova.host
nova.keypair nova.network nova.server octavia.listener octavia.loadbalancer octavia.l7policy octavia.pool
octavia.flavor octavia.flavorprofile octavia.availabilityzone octavia.availabilityzoneprofile trove.flavor
zaqar.queue ironic.portgroup ironic.node
""".split())


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
    except RecursionError:  # the pure-Python parser recurses once per level
        raise bad_request(f"Error parsing {what}: it nests too deeply", "InvalidTemplate")
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


def schema_error(message):
    return bad_request(message, "InvalidSchemaError")


class Template:
    """A parsed HOT template whose structure has been checked as Heat checks it."""

    def __init__(self, source, registry=None, files=None):
        """``registry``: the environment's resource_registry; ``files``: the
        request's files. A resource whose type is one of the files (directly
        or through the registry) is a template resource: a nested stack."""
        self.registry = registry if isinstance(registry, dict) else {}
        self._types = Registry(self.registry)
        self.files = files if isinstance(files, dict) else {}
        tmpl = load_yaml(source, "template")
        version = tmpl.get("heat_template_version")
        if version is None:
            raise bad_request("Template format version not found.", "InvalidTemplateVersion")
        if str(version) not in VERSIONS:
            raise bad_request(
                f'The template version is invalid: "heat_template_version: {version}". '
                f'"heat_template_version" should be one of: {", ".join(sorted(VERSIONS))}',
                "InvalidTemplateVersion")
        self.version = fn.VERSIONS[str(version)]
        allowed = {"heat_template_version", "description", "parameter_groups", "parameters",
                   "resources", "outputs", "conditions"}
        unknown = set(tmpl) - allowed
        if unknown:
            raise bad_request(f'Unknown top-level key(s) in template: {", ".join(sorted(map(str, unknown)))}',
                              "InvalidTemplate")
        if "conditions" in tmpl and not self.version.conditions:
            raise bad_request("The template section is invalid: conditions", "InvalidTemplateSection")
        self.raw = tmpl
        self.description = str(tmpl.get("description") or "")
        params = tmpl.get("parameters") or {}
        if not isinstance(params, dict):
            # Heat walks the section with .items().
            raise bad_request(f"'{type(params).__name__}' object has no attribute 'items'", "AttributeError")
        self.parameters = params
        self.resources = self._section(tmpl, "resources")
        self.outputs = self._section(tmpl, "outputs")
        self.conditions = tmpl.get("conditions") or {}
        if not isinstance(self.conditions, dict):
            raise fn.validation_failed(f"Condition definitions must be a map. Found a "
                                       f"{type(self.conditions).__name__} instead",
                                       error="Conditions validation error")
        self.schemas = {name: ParamSchema(name, decl, self.version) for name, decl in self.parameters.items()}
        for name, decl in self.resources.items():
            self._check_resource(name, decl)
        for name, decl in self.outputs.items():
            if not isinstance(decl, dict) or "value" not in decl:
                raise bad_request(f'Output "{name}" has no "value".', "InvalidTemplate")
            for key in decl:
                if key not in self.version.output_keys:
                    raise fn.validation_failed(f'"{key}" is not a valid keyword inside a output definition')

    def target(self, rtype, name=None):
        """The type (or template file) ``rtype`` stands for, for the resource
        ``name``, after the environment's resource_registry and Heat's own."""
        return self._types.target(rtype, name)

    @staticmethod
    def _section(tmpl, key):
        section = tmpl.get(key) or {}
        if not isinstance(section, dict):
            raise bad_request(f'The template section "{key}" must be a mapping.', "InvalidTemplate")
        return section

    def _check_resource(self, name, decl):
        if not isinstance(decl, dict) or "type" not in decl:
            raise bad_request(f'Resource "{name}" has no "type".', "InvalidTemplate")
        invalid = set(decl) - set(self.version.resource_keys)
        if invalid:
            raise fn.validation_failed("Invalid keyword(s) inside a resource definition: "
                                       + ", ".join(sorted(map(str, invalid))))
        if not isinstance(decl["type"], str):
            raise fn.validation_failed(f"Resource {name} type type must be string")
        target = self.target(decl["type"], name)
        if not isinstance(self.files.get(target), str) and not schemas.is_offered(target):
            raise bad_request(f'The Resource Type ({decl["type"]}) could not be found.',
                              "StackValidationFailed")
        for key in ("properties", "metadata", "update_policy"):
            value = decl.get(key)
            if value is not None and not isinstance(value, dict):
                if key == "properties" and not _is_call(value):
                    raise bad_request(f'Properties of resource "{name}" must be a mapping.', "InvalidTemplate")
                if not _is_call(value):
                    raise fn.validation_failed(f"Resource {name} {key} type must be object")
        depends = decl.get("depends_on")
        if depends is not None:
            if isinstance(depends, str):
                depends = [depends]
            if not isinstance(depends, list):
                raise fn.validation_failed(f"Resource {name} depends_on type must be list or string")
            if not all(isinstance(d, str) for d in depends):
                raise fn.validation_failed(f"Resource {name} depends_on must be a list of strings")
        if "description" in decl and not isinstance(decl["description"], str):
            raise fn.validation_failed(f"Resource {name} description type must be string")

    def resolve_parameters(self, given, env):
        """Merge request parameters, environment parameters and defaults; check each.

        Returns the typed values keyed by parameter name.
        """
        if given is not None and not isinstance(given, dict):
            # Heat merges the request's parameters into the environment's.
            raise bad_request("dictionary update sequence element #0 has length 1; 2 is required", "ValueError")
        user = dict(env.get("parameters") or {})
        user.update(given or {})
        defaults = dict(env.get("parameter_defaults") or {})
        for name in user:
            if name not in self.parameters:
                raise bad_request(f"The Parameter ({name}) was not defined in template.",
                                  "UnknownUserParameter")
        values = {}
        for name, schema in self.schemas.items():
            default = defaults.get(name, schema.default)
            values[name] = schema.value(user.get(name), default)
        self._check_parameter_groups()
        return values

    def _check_parameter_groups(self):
        groups = self.raw.get("parameter_groups")
        if not groups:
            return
        error = "Parameter Groups error"
        if not isinstance(groups, list):
            raise fn.validation_failed("The parameter_groups should be a list.", "parameter_groups", error)
        known = set(self.parameters) | {"OS::stack_id", "OS::project_id"}
        grouped = []
        for group in groups:
            if not isinstance(group, dict):
                raise bad_request(f"'{type(group).__name__}' object has no attribute 'get'", "AttributeError")
            path = f"parameter_groups.{group.get('label', '')}"
            members = group.get("parameters")
            if members is None:
                raise fn.validation_failed("The parameters must be provided for each parameter group.", path, error)
            if not isinstance(members, list):
                raise fn.validation_failed("The parameters of parameter group should be a list.", path, error)
            for param in members:
                if param in grouped:
                    raise fn.validation_failed(f"The {param} parameter must be assigned to one parameter group "
                                               "only.", path, error)
                grouped.append(param)
                if param not in known:
                    raise fn.validation_failed(f"The grouped parameter {param} does not reference a valid "
                                               "parameter.", path, error)


def _is_call(value):
    return isinstance(value, dict) and len(value) == 1


# -- parameters ------------------------------------------------------------------


def str_to_num(value):
    """Heat's number conversion: int if it can, else float (or ValueError)."""
    if isinstance(value, numbers.Number):
        return value
    try:
        return int(value)
    except ValueError:
        return float(value)


_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")


def bool_from_string(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    acceptable = ", ".join(f"'{s}'" for s in sorted(_TRUE + _FALSE))
    raise ValueError(f"Unrecognized value '{value}', acceptable values are: {acceptable}")


def _get_num(key, mapping):
    value = mapping.get(key)
    if value is None:
        return None
    try:
        return str_to_num(value)
    except (TypeError, ValueError) as exc:
        # Heat lets this escape; its API answers 400 for a ValueError.
        raise bad_request(str(exc), "ValueError")


def _check_dict(data, allowed, entity):
    if not isinstance(data, dict):
        raise schema_error(f"Invalid {entity}, expected a mapping")
    for key in data:
        if key not in allowed:
            raise schema_error(f"Invalid key '{key}' for {entity}")


class Constraint:
    valid_types = ()

    def __init__(self, description):
        self.description = description

    def check(self, value, ptype):
        if not self.is_valid(value, ptype):
            raise ValueError(self.description or self.error(value))


class Range(Constraint):
    valid_types = ("number",)

    def __init__(self, low, high, description):
        super().__init__(description)
        self.low, self.high = low, high
        for limit in (low, high):
            if not isinstance(limit, (float, int, type(None))):
                raise schema_error("min/max must be numeric")
        if low is None and high is None:
            raise schema_error("A range constraint must have a min value and/or a max value specified.")

    def is_valid(self, value, ptype):
        value = str_to_num(value)
        return not ((self.low is not None and value < self.low) or (self.high is not None and value > self.high))

    def error(self, value):
        return f"{value} is out of range (min: {self.low}, max: {self.high})"


class Length(Range):
    valid_types = ("string", "comma_delimited_list", "json")

    def __init__(self, low, high, description):
        if low is None and high is None:
            raise schema_error("A length constraint must have a min value and/or a max value specified.")
        super().__init__(low, high, description)
        if not all(isinstance(limit, (int, type(None))) for limit in (low, high)):
            raise schema_error("min/max length must be integral")

    def is_valid(self, value, ptype):
        return super().is_valid(len(value), ptype)

    def error(self, value):
        return f"length ({len(value)}) is out of range (min: {self.low}, max: {self.high})"


class Modulo(Constraint):
    valid_types = ("number",)

    def __init__(self, step, offset, description):
        super().__init__(description)
        if step is None or offset is None:
            raise schema_error("A modulo constraint must have a step value and an offset value specified.")
        for value in (step, offset):
            if not isinstance(value, (float, int)):
                raise schema_error("step/offset must be numeric")
            if int(value) != value:
                raise schema_error("step/offset must be integer")
        self.step, self.offset = step, offset
        step, offset = int(step), int(offset)
        if step == 0:
            raise schema_error("step cannot be 0.")
        if abs(offset) >= abs(step):
            raise schema_error("offset must be smaller (by absolute value) than step.")
        if step * offset < 0:
            raise schema_error("step and offset must be both positive or both negative.")

    def is_valid(self, value, ptype):
        return str_to_num(value) % self.step == self.offset

    def error(self, value):
        return f"{value} is not a multiple of {self.step} with an offset of {self.offset}"


def _to_type(value, ptype):
    try:
        if ptype == "number":
            return str_to_num(value)
        if ptype == "string":
            return str(value)
        if ptype == "boolean":
            return bool_from_string(value)
    except ValueError:
        raise ValueError(f'Value "{value}" is invalid for data type "{ptype}".')
    return value


class AllowedValues(Constraint):
    valid_types = ("string", "number", "boolean", "comma_delimited_list")

    def __init__(self, allowed, description):
        super().__init__(description)
        if not isinstance(allowed, collections.abc.Sequence) or isinstance(allowed, str):
            raise schema_error("AllowedValues must be a list")
        self.allowed = tuple(allowed)

    def is_valid(self, value, ptype):
        if isinstance(value, list):
            return all(v in self.allowed for v in value)
        return _to_type(value, ptype) in tuple(_to_type(v, ptype) for v in self.allowed)

    def error(self, value):
        allowed = ", ".join(json.dumps(a) for a in self.allowed)
        return f"{json.dumps(value)} is not an allowed value [{allowed}]"


class AllowedPattern(Constraint):
    valid_types = ("string",)

    def __init__(self, pattern, description, name):
        super().__init__(description)
        if not isinstance(pattern, str):
            raise schema_error("AllowedPattern must be a string")
        self.pattern = pattern
        try:
            re.compile(pattern)
        except re.error as exc:
            # Heat's engine lets the re.error escape; here it is a 400.
            raise schema_error(f"Parameter '{name}' is invalid: allowed_pattern \"{pattern}\" is not a valid "
                               f"regular expression: {exc}")
        try:
            self._regex = regex.compile(pattern)
        except regex.error:
            self._regex = None

    def is_valid(self, value, ptype):
        if self._regex is None:
            match = re.match(self.pattern, value)
        else:
            try:
                match = self._regex.match(value, timeout=PATTERN_TIMEOUT)
            except TimeoutError:
                return False
        return match is not None and match.end() == len(value)

    def error(self, value):
        return f'"{value}" does not match pattern "{self.pattern}"'


class CustomConstraint(Constraint):
    valid_types = ("string", "number", "boolean", "comma_delimited_list")

    def __init__(self, name, description):
        super().__init__(description)
        self.name = name

    def is_valid(self, value, ptype):
        return self.name in CUSTOM_CONSTRAINTS

    def error(self, value):
        return f'"{value}" does not validate {self.name} (constraint not found)'


class ParamSchema:
    """One parameter's declaration, checked as Heat's HOT parameter schema checks it."""

    def __init__(self, name, decl, version):
        self.name = name
        entity = f"parameter ({name})"
        keys = PARAMETER_KEYS + (("tags",) if version.tags else ())
        _check_dict(decl, keys, entity)
        if "type" not in decl:
            raise schema_error(f"Missing parameter type for parameter: {name}")
        if version.tags and not isinstance(decl.get("tags", []), list):
            raise schema_error(f"Tags property should be a list for parameter: {name}")
        self.type = decl["type"]
        if self.type not in PARAMETER_TYPES:
            raise bad_request(f'Invalid type ({self.type}) of parameter "{name}"; should be one of: '
                              f'{", ".join(PARAMETER_TYPES)}', "InvalidSchemaError")
        self.default = decl.get("default")
        self.constraints = []
        constraints = decl.get("constraints")
        if constraints is not None:
            if not isinstance(constraints, list):
                raise schema_error(f"Invalid parameter constraints for parameter {name}, expected a list")
            for item in constraints:
                _check_dict(item, CONSTRAINT_KEYS, "parameter constraints")
                self.constraints.append(self._constraint(item, version))

    def _constraint(self, item, version):
        desc = item.get("description")
        if version.modulo and "modulo" in item:
            cdef = item["modulo"]
            _check_dict(cdef, ("step", "offset"), "modulo constraint")
            return Modulo(_get_num("step", cdef), _get_num("offset", cdef), desc)
        for kind, cls in (("range", Range), ("length", Length)):
            if kind in item:
                cdef = item[kind]
                _check_dict(cdef, ("min", "max"), f"{kind} constraint")
                return cls(_get_num("min", cdef), _get_num("max", cdef), desc)
        if "allowed_values" in item:
            return AllowedValues(item["allowed_values"], desc)
        if "allowed_pattern" in item:
            return AllowedPattern(item["allowed_pattern"], desc, self.name)
        if "custom_constraint" in item:
            return CustomConstraint(item["custom_constraint"], desc)
        raise schema_error("No constraint expressed")

    def _invalid(self, message, error_type="StackValidationFailed"):
        return bad_request(f"Parameter '{self.name}' is invalid: {message}", error_type)

    def _check_constraints(self, value, skip_custom=False):
        for constraint in self.constraints:
            if not (skip_custom and isinstance(constraint, CustomConstraint)):
                constraint.check(value, self.type)

    def value(self, user_value, default):
        """Check the schema, the default and the value; the typed value."""
        for constraint in self.constraints:
            if self.type not in constraint.valid_types:
                raise self._invalid(f"{type(constraint).__name__} constraint invalid for {self.type}",
                                    "InvalidSchemaError")
        if default is not None:
            checked = default
            if self.type == "comma_delimited_list":
                checked = [str(x) for x in default] if isinstance(default, list) else None
                if checked is None:
                    if not isinstance(default, str):
                        raise self._invalid(f"Default must be a comma-delimited list string: "
                                            f"'{type(default).__name__}' object has no attribute 'split'",
                                            "InvalidSchemaError")
                    checked = default.split(",")
            try:
                self._check_constraints(checked, skip_custom=True)
            except (ValueError, TypeError) as exc:
                raise self._invalid(f"Invalid default {default} ({exc})", "InvalidSchemaError")
        raw = user_value if user_value is not None else default
        if raw is None:
            raise bad_request(f"The Parameter ({self.name}) was not provided.", "UserParameterMissing")
        try:
            typed = self._parse(raw)
            checked = typed if self.type in ("comma_delimited_list", "json") else raw
            if self.type == "string" and isinstance(raw, (int, float, bool)):
                checked = str(raw)
            self._check_constraints(checked)
        except (ValueError, TypeError) as exc:
            raise self._invalid(str(exc))
        return typed

    def _parse(self, raw):
        if self.type == "number":
            return str_to_num(raw)
        if self.type == "boolean":
            return bool_from_string(raw)
        if self.type == "comma_delimited_list":
            if isinstance(raw, list):
                return [str(x) for x in raw]
            if not isinstance(raw, str):
                raise ValueError(f"Value must be a comma-delimited list string: "
                                 f"'{type(raw).__name__}' object has no attribute 'split'")
            return [] if raw == "" else raw.split(",")
        if self.type == "json":
            try:
                text = raw if isinstance(raw, str) else json.dumps(raw)
                return json.loads(text) if text else raw
            except (ValueError, TypeError) as exc:
                raise ValueError(f"Value must be valid JSON: {exc}")
        return str(raw)


# -- building a stack --------------------------------------------------------------


class Resolver:
    """Checks a stack's definitions, then builds its resources and outputs.

    Everything is parsed and validated when the resolver is made, before any
    resource is built. Resources are built on first reference, so dependency
    order comes for free and a cycle is reported instead of recursing forever.
    """

    def __init__(self, template, params, files, ctx):
        self.template = template
        self.params = params
        self.files = files or {}
        self.ctx = ctx
        self.built = {}
        self._building = []
        # A scaling group being resized: name -> its new size, and the
        # members it had (kept as they are, the oldest removed first).
        self.sizes = {}
        self.previous = {}
        # An update: the resources as they were, which one updated in place
        # takes its identity from (its reference, its machine's address).
        self.updating = {}
        version = template.version
        pseudo = {"OS::stack_name": ctx.stack_name, "OS::stack_id": ctx.stack_id,
                  "OS::project_id": ctx.project_id}
        self.scope = fn.Scope(version, {**pseudo, **params}, self.files, template.resources, self,
                              template.conditions)
        self.scope.conditions.validate()
        self.definitions = {}
        for name, decl in template.resources.items():
            if self._enabled(decl.get("condition"), f"resources.{name}.condition", name):
                self.definitions[name] = decl
        self.scope.enabled = set(self.definitions)
        duplicates = set(params) & set(template.resources)
        if duplicates:
            raise fn.validation_failed(f"Duplicate names {duplicates}")
        self.parsed = {name: self._parse_resource(name, decl) for name, decl in self.definitions.items()}
        self.parsed_outputs = {}
        for key, decl in template.outputs.items():
            enabled = self._enabled(decl.get("condition"), f"outputs.{key}.condition", None)
            path = f"outputs.{key}.value"
            value = self.scope.parse(decl["value"], path) if enabled else None
            with self._where(f"output {key}"):
                fn.validate(value, path)
            self.parsed_outputs[key] = (enabled, value)

    def _enabled(self, condition, path, resource):
        if condition is None:
            return True
        parsed = self.scope.parse_condition(condition, path)
        if resource is not None and not isinstance(parsed, (str, bool, fn.Function)):
            raise fn.validation_failed(f"Resource {resource} condition type must be string_or_boolean")
        try:
            return bool(self.scope.conditions.is_enabled(fn.resolve_checked(parsed, path)))
        except ValueError as exc:
            raise fn.validation_failed(str(exc), path)

    def _parse_resource(self, name, decl):
        parsed = {}
        for key in ("properties", "metadata", "update_policy", "deletion_policy", "external_id"):
            if key in decl:
                path = f"resources.{name}.{key}"
                parsed[key] = self.scope.parse(decl[key], path)
                with self._where(f"resource {name}"):
                    fn.validate(parsed[key], path)
        policy = parsed.get("deletion_policy")
        if policy is not None:
            if not isinstance(policy, (str, fn.Function)):
                raise fn.validation_failed(f"Resource {name} deletion_policy type must be string")
            policy = fn.resolve_checked(policy, f"resources.{name}.deletion_policy")
            if policy not in self.template.version.deletion_policies:
                raise fn.validation_failed(f'Invalid deletion policy "{policy}"')
        external = parsed.get("external_id")
        if external is not None and not isinstance(external, (str, fn.Function)):
            raise fn.validation_failed(f"Resource {name} external_id type must be string")
        for dep in _as_list(decl.get("depends_on")):
            if dep not in self.template.resources:
                raise bad_request(f'The specified reference "{dep}" (in {name}) is incorrect.',
                                  "InvalidTemplateReference")
        return parsed

    def _where(self, where):
        """Within it, a wrong reference names ``where`` ("resource a", "output o")."""
        scope = self.scope

        class Where:
            def __enter__(self):
                self.saved = scope.where
                scope.where = where

            def __exit__(self, *exc):
                scope.where = self.saved

        return Where()

    def build_all(self):
        # Subnets first: a port or server takes its address from its
        # network's subnet, which Heat, too, creates before them.
        subnets = [n for n, d in self.definitions.items() if d.get("type") == "OS::Neutron::Subnet"]
        for name in subnets + list(self.definitions):
            self._build(name)
        return self.built

    def outputs(self):
        """Heat's output list: output_key, output_value, description."""
        result = []
        for key, decl in self.template.outputs.items():
            enabled, value = self.parsed_outputs[key]
            if enabled:
                with self._where(f"output {key}"):
                    value = fn.resolve_checked(value, f"outputs.{key}.value")
            result.append({
                "output_key": key,
                "output_value": value,
                "description": decl.get("description", "No description given"),
            })
        return result

    def resolve(self, node, where):
        """The value of a raw snippet of this template (``where``: "resource a",
        "output o"), parsed, validated and resolved with the version's functions."""
        kind, _, name = str(where).partition(" ")
        path = f"{kind}s.{name}" if name else str(where)
        with self._where(where):
            parsed = self.scope.parse(node, path)
            fn.validate(parsed, path)
            return fn.resolve_checked(parsed, path)

    # The builder interface functions.Scope uses.

    def reference(self, name):
        return self._build(name)["reference"]

    def attributes(self, name):
        return self._build(name)["attributes"]

    def _build(self, name):
        if name in self.built:
            return self.built[name]
        if name in self._building:
            chain = " -> ".join(self._building + [name])
            raise bad_request(f"Circular Dependency Found: {chain}", "CircularDependencyException")
        self._building.append(name)
        decl = self.definitions[name]
        with self._where(f"resource {name}"):
            props = fn.resolve_checked(self.parsed[name].get("properties") or {}, f"resources.{name}.properties")
        if not isinstance(props, dict):
            raise fn.validation_failed(f"Resource {name} properties type must be object")
        for dep in _as_list(decl.get("depends_on")):
            if dep in self.definitions:  # one whose condition is false is left out, as in Heat
                self._build(dep)
        try:
            # Built from the checked properties (defaults in); what the
            # template gave is what the resource shows (events, resource show).
            if "external_id" in self.parsed[name]:
                # An existing resource adopted as it is: Heat neither checks nor creates it.
                external = fn.resolve_checked(self.parsed[name]["external_id"], f"resources.{name}.external_id")
                spec = schemas.TYPES_SCHEMA.get(self.template.target(decl["type"], name))
                attrs = {key: None for key in (spec.attributes if spec else ())}
                reference, attrs, hidden = str(external), {**attrs, "show": {}}, {}
            else:
                reference, attrs, hidden = self._make(name, decl["type"], props)
                reference, hidden = self._same_one(self.updating.get(name), name, decl["type"], props,
                                                   reference, hidden)
        except ApiError:
            raise
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            raise fn.validation_failed(str(exc), f"resources.{name}", type(exc).__name__)
        self._building.pop()
        self.built[name] = {"type": decl["type"], "reference": reference, "attributes": attrs, "properties": props,
                            "hidden": hidden}
        return self.built[name]


    def _same_one(self, old, name, rtype, props, reference, hidden):
        """A resource an update changes in place is still the one it was
        (``old``, as built before): its reference, and (a server) the
        address its machine answers on."""
        if old is None or old["type"] != rtype or \
                not schemas.in_place(self.template.target(rtype, name), old.get("properties"), props):
            return reference, hidden
        kept = {k: v for k, v in (old.get("hidden") or {}).items() if k == "loopback"}
        for known in (self.ctx.ports, self.ctx.subnets, self.ctx.configs):  # what the build noted, by its id
            if reference in known:
                known[old["reference"]] = known.pop(reference)
        return old["reference"], {**hidden, **kept}

    def _old_members(self, name, rtype):
        """The members a group or nested stack had before this update, by
        their own names (none if it is new, or of another type now)."""
        old = self.updating.get(name)
        if old is None or old["type"] != rtype:
            return {}
        return {m[len(name) + 1:]: e for m, e in ((old.get("hidden") or {}).get("members") or {}).items()}

    def _make(self, name, rtype, props, label=None):
        """Build one resource of type ``rtype`` (after the registry): a
        template resource, a stack, a group or a plain resource, its
        properties checked as Heat checks them. ``label``: its name in
        messages (a group's member: "group.0")."""
        label = label or name
        target = self.template.target(rtype, name)
        if isinstance(self.files.get(target), str):
            return self._build_nested(label, target, props, self._old_members(name, rtype))
        if not schemas.is_offered(target):
            raise bad_request(f"The Resource Type ({rtype}) could not be found.", "StackValidationFailed")
        checked = schemas.check(label, target, props)
        if target == "OS::Heat::Stack":
            return self._build_stack(name, checked)
        if target in GROUPS:
            return self._build_group(name, target, checked)
        return resources.build(target, checked, self.ctx, name=name)

    def _nested(self, name, source, params, files, updating=None):
        """Build a nested stack from ``source`` in this stack's context:
        (its resolver, its outputs as a dict); ``updating``: its resources
        as they were, when an update builds it again."""
        nested = Template(source, self.template.registry, files)
        for key in params:
            if key not in nested.parameters:
                raise bad_request(f"Property error: resources.{name}.properties: Unknown Property {key}",
                                  "StackValidationFailed")
        for key, decl in nested.parameters.items():
            if key not in params and isinstance(decl, dict) and "default" not in decl:
                raise bad_request(f"Property error: resources.{name}.properties: Property {key} not assigned",
                                  "StackValidationFailed")
        values = nested.resolve_parameters(params, {})
        resolver = Resolver(nested, values, files, self.ctx)
        resolver.updating = dict(updating or {})
        resolver.build_all()
        return resolver, {o["output_key"]: o["output_value"] for o in resolver.outputs()}

    def _build_nested(self, name, path, props, updating=None):
        """A template resource: its properties are the nested template's
        parameters, its outputs its attributes (and ``OS::stack_id``)."""
        resolver, outputs = self._nested(name, self.files[path], props, self.files, updating)
        stack_id = str(uuid.uuid4())
        attrs = {**outputs, "OS::stack_id": stack_id}
        return stack_id, attrs, {"members": _members(name, resolver.built)}

    def _build_stack(self, name, props):
        """OS::Heat::Stack: a stack from the template in its properties."""
        resolver, outputs = self._nested(name, props["template"], props.get("parameters") or {}, {})
        attrs = {"stack_name": f"{self.ctx.stack_name}-{name}", "outputs": outputs}
        return str(uuid.uuid4()), attrs, {"members": _members(name, resolver.built)}

    def _build_group(self, name, group_type, props):
        """A ResourceGroup or AutoScalingGroup: its members, each checked and
        built like any resource (servers among them get machines), and the
        group's attributes made from theirs, as Heat names them."""
        members = {}
        launch = self._launch_settings(props) if group_type in schemas.AWS_GROUPS else None
        if name in self.sizes:
            return self._resized(name, group_type, props, launch)
        before = self._old_members(name, group_type)
        for member, member_type, member_props in schemas.members(name, group_type, props, launch):
            members[member] = self._member(name, member, member_type, member_props, before.get(member))
        return self._group(name, group_type, members)

    def _resized(self, name, group_type, props, launch):
        """A scaling group at its new size: the newest of its members kept
        as they were, new ones (numbered on) built as the group builds them."""
        size, old = self.sizes[name], self.previous.get(name) or {}
        kept = dict(list(old.items())[max(len(old) - size, 0):])
        for entry in kept.values():
            resources.register(self.ctx, entry)
        wanted = dict(props, **{schemas.SIZED_GROUPS[group_type][0]: size - len(kept)})
        numbers = [int(m.rsplit("-", 1)[1]) for m in old if m.rsplit("-", 1)[-1].isdigit()]
        first = max(numbers, default=-1) + 1
        members = dict(kept)
        for i, (_, member_type, member_props) in enumerate(schemas.members(name, group_type, wanted, launch)):
            members[f"member-{first + i}"] = self._member(name, f"member-{first + i}", member_type, member_props)
        return self._group(name, group_type, members)

    def _member(self, name, member, member_type, member_props, old=None):
        """One member of the group ``name``, built like any resource (and,
        updated in place, still the one it was: ``old``)."""
        if old is not None:  # for a member that is a group or a nested stack itself
            self.updating.setdefault(f"{name}-{member}", old)
        reference, attrs, hidden = self._make(f"{name}-{member}", member_type, member_props,
                                              label=f"{name}.{member}")
        reference, hidden = self._same_one(old, f"{name}-{member}", member_type, member_props, reference, hidden)
        return {"type": member_type, "reference": reference, "attributes": attrs, "properties": member_props,
                "hidden": hidden}

    def _group(self, name, group_type, members):
        """The group's reference, attributes (made from its members', as Heat
        names them) and hidden part (the members)."""
        names = sorted({key for m in members.values() for key in m["attributes"] if key != "show"})
        refs = [m["reference"] for m in members.values()]
        attrs = {
            "refs": refs,
            "refs_map": {member: m["reference"] for member, m in members.items()},
            "attributes": {key: [m["attributes"].get(key) for m in members.values()] for key in names},
            "removed_rsrc_list": [],
            "outputs": {ref: {} for ref in refs},
            "outputs_list": [{} for _ in refs],
            "current_size": len(members),
        }
        # Any member attribute, as a list over the members (Heat's group
        # lookup), and one member's, by "resource.<member>[.<attribute>]".
        for key in names:
            attrs.setdefault(key, attrs["attributes"][key])
        for member, m in members.items():
            attrs[f"resource.{member}"] = m["attributes"]
            for key, value in m["attributes"].items():
                attrs[f"resource.{member}.{key}"] = value
        if group_type in schemas.AWS_GROUPS:
            # Heat's extension: the members' addresses, comma-separated.
            attrs = {"InstanceList": ",".join(str(m["attributes"].get("PublicIp")) for m in members.values())}
        attrs["show"] = {}
        # What the machines are made from: the members, under "<group>-<member>".
        hidden = {"members": {f"{name}-{member}": m for member, m in members.items()}}
        return str(uuid.uuid4()), attrs, hidden

    def _launch_settings(self, props):
        """What an AWS compatible group launches with: the properties of its
        launch configuration, or of the instance it copies."""
        wanted = props.get("LaunchConfigurationName")
        key = "LaunchConfigurationName" if wanted else "InstanceId"
        wanted = wanted or props.get("InstanceId")
        for entry in self.built.values():
            if entry["reference"] == wanted and (
                    key == "InstanceId" or self.template.target(entry["type"]) ==
                    "AWS::AutoScaling::LaunchConfiguration"):
                return entry["properties"]
        raise ValueError(f"{key} ({wanted}) reference can not be found.")


GROUPS = ("OS::Heat::ResourceGroup", "OS::Heat::AutoScalingGroup", *schemas.AWS_GROUPS)



def _members(name, built):
    """A nested stack's resources, named "<resource>-<member>", for machines."""
    return {f"{name}-{member}": entry for member, entry in built.items()}


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
