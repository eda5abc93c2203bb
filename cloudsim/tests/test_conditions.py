"""Conditions, resource and output keys, parameter groups and parameter
constraints: small templates with the outcome Heat gives."""

import time

import pytest
from hastexo_cloudsim.hot import Resolver, Template, parse_environment
from hastexo_cloudsim.resources import BuildContext
from test_functions import evaluate, refusal


def tmpl(version, body):
    return f"heat_template_version: {version}\n{body}"


CONDITIONAL = """parameters:
  env: {type: string, default: prod}
conditions:
  is_prod: {equals: [{get_param: env}, prod]}
  is_dev: {not: is_prod}
  both: {and: [is_prod, {not: is_dev}]}
  either: {or: [is_dev, false]}
resources:
  always: {type: OS::Heat::Value, properties: {value: 1}}
  prod_only: {type: OS::Heat::Value, condition: is_prod, properties: {value: p}}
  dev_only: {type: OS::Heat::Value, condition: is_dev, depends_on: prod_only, properties: {value: d}}
outputs:
  pick: {value: {if: [is_prod, yes-prod, not-prod]}}
  inline: {value: {if: [{equals: [{get_param: env}, dev]}, dev, other]}}
  both: {value: {if: [both, t, f]}}
  either: {value: {if: [either, t, f]}}
  prod: {value: {get_attr: [prod_only, value]}, condition: is_prod}
  dev: {value: {get_attr: [dev_only, value]}, condition: is_dev}
"""


@pytest.mark.parametrize("env, expected", [
    ("prod", {"pick": "yes-prod", "inline": "other", "both": True and "t", "either": "f", "prod": "p", "dev": None}),
    ("dev", {"pick": "not-prod", "inline": "dev", "both": "f", "either": "t", "prod": None, "dev": "d"}),
])
def test_conditions_pick_values_resources_and_outputs(env, expected):
    assert evaluate(tmpl("2016-10-14", CONDITIONAL), params={"env": env}) == expected


def test_resources_whose_condition_is_false_are_not_built():
    template = Template(tmpl("2016-10-14", CONDITIONAL))
    params = template.resolve_parameters({}, parse_environment(None))
    resolver = Resolver(template, params, {}, BuildContext("s", "i", 1))
    assert set(resolver.build_all()) == {"always", "prod_only"}


def test_a_reference_to_a_resource_whose_condition_is_false_is_incorrect():
    text = tmpl("2016-10-14", CONDITIONAL + "  bad: {value: {get_resource: dev_only}}\n")
    assert 'The specified reference "dev_only" (in output bad) is incorrect.' in refusal(text)


@pytest.mark.parametrize("version, body, message", [
    ("2016-04-08", "conditions: {c: true}\n", "The template section is invalid: conditions"),
    ("2016-10-14", "conditions: {c: yes-string}\n",
     'Condition validation error: The definition of condition "c" is invalid: yes-string'),
    ("2016-10-14", "conditions: {c: {get_resource: r}}\n",
     'conditions.c.get_resource: The function "get_resource" is invalid in this context'),
    # contains is no function at all in 2016-10-14: plain data, so no condition
    ("2016-10-14", "conditions: {c: {contains: [a, [a]]}}\n", 'The definition of condition "c" is invalid: '),
    ("2017-09-01", "conditions: {c: {str_split: [a, b]}}\n",
     'conditions.c.str_split: The function "str_split" is invalid in this context'),
    ("2016-10-14", "conditions: {a: {not: b}, b: {not: a}}\noutputs: {o: {value: {if: [a, 1, 2]}}}\n",
     'Circular definition for condition'),
    ("2016-10-14", "conditions: {c: {and: [true]}}\n",
     'The minimum number of condition arguments to "and" is 2.'),
    ("2016-10-14", "conditions: {c: {equals: [a]}}\n", 'Arguments to "equals" must be of the form: [value_1, value_2]'),
    ("2016-10-14", "resources: {r: {type: OS::Heat::None, condition: nope}}\n",
     'resources.r.condition: Invalid condition "nope"'),
    ("2016-10-14", "resources: {r: {type: OS::Heat::None, condition: [a]}}\n",
     "Resource r condition type must be string_or_boolean"),
    ("2016-10-14", "outputs: {o: {value: 1, condition: nope}}\n", 'Invalid condition "nope"'),
    ("2016-10-14", "outputs: {o: {value: {if: [nope, 1, 2]}}}\n", 'Invalid condition "nope"'),
    ("2016-10-14", "outputs: {o: {value: {if: [true, 1]}}}\n",
     'Arguments to "if" must be of the form: [condition_name, value_if_true, value_if_false]'),
    ("2016-04-08", "resources: {r: {type: OS::Heat::None, condition: true}}\n",
     "Invalid keyword(s) inside a resource definition: condition"),
    ("2016-04-08", "outputs: {o: {value: 1, condition: true}}\n",
     '"condition" is not a valid keyword inside a output definition'),
])
def test_bad_conditions_are_refused(version, body, message):
    assert message in refusal(tmpl(version, body))


def test_contains_and_yaql_are_condition_functions_from_2017_09_01():
    body = ("conditions: {c: {contains: [a, [a, b]]}, y: {yaql: {expression: '$.data.n > 1', data: {n: 2}}}}\n"
            "outputs: {o: {value: {if: [c, in, out]}}, y: {value: {if: [y, big, small]}}}\n")
    assert evaluate(tmpl("2017-09-01", body)) == {"o": "in", "y": "big"}


def test_the_branch_not_taken_is_never_looked_at():
    body = "outputs: {o: {value: {if: [true, ok, {get_resource: nowhere}]}}}\n"
    assert evaluate(tmpl("2016-10-14", body)) == {"o": "ok"}


def test_if_without_a_false_branch_leaves_the_item_out_from_2021_04_16():
    body = """resources:
  v: {type: OS::Heat::Value, properties: {value: [a, {if: [false, b]}, c]}}
outputs:
  list: {value: {get_attr: [v, value]}}
  map: {value: {k: {if: [false, x]}, j: 1}}
  top: {value: {if: [false, x]}}
"""
    assert evaluate(tmpl("2021-04-16", body)) == {"list": ["a", "c"], "map": {"j": 1}, "top": None}
    assert 'Arguments to "if" must be of the form' in refusal(tmpl("2018-08-31", body))


@pytest.mark.parametrize("version, body, message", [
    ("2016-10-14", "resources: {r: {type: OS::Heat::None, depends_on: nope}}\n",
     'The specified reference "nope" (in r) is incorrect.'),
    ("2016-10-14", "resources: {r: {type: OS::Heat::None, depends_on: {a: 1}}}\n",
     "Resource r depends_on type must be list or string"),
    ("2016-10-14", "resources: {r: {type: OS::Heat::None, depends_on: [1]}}\n",
     "Resource r depends_on must be a list of strings"),
    ("2016-10-14", "resources: {r: {type: OS::Heat::None, deletion_policy: Destroy}}\n",
     'Invalid deletion policy "Destroy"'),
    ("2016-04-08", "resources: {r: {type: OS::Heat::None, deletion_policy: retain}}\n",
     'Invalid deletion policy "retain"'),
    ("2016-10-14", "resources: {r: {type: OS::Heat::None, colour: red}}\n",
     "Invalid keyword(s) inside a resource definition: colour"),
    ("2016-04-08", "resources: {r: {type: OS::Heat::None, external_id: abc}}\n",
     "Invalid keyword(s) inside a resource definition: external_id"),
    ("2016-10-14", "resources: {r: {type: OS::Heat::None, metadata: [a]}}\n",
     "Resource r metadata type must be object"),
    ("2016-10-14", "parameters: {r: {type: string, default: x}}\nresources: {r: {type: OS::Heat::None}}\n",
     "Duplicate names {'r'}"),
    ("2016-10-14", "outputs: {o: {value: 1, colour: red}}\n",
     '"colour" is not a valid keyword inside a output definition'),
])
def test_resource_and_output_keys_are_checked(version, body, message):
    assert message in refusal(tmpl(version, body))


@pytest.mark.parametrize("version, policy", [
    ("2013-05-23", "Delete"), ("2016-04-08", "Snapshot"), ("2016-10-14", "retain"), ("2021-04-16", "snapshot"),
])
def test_deletion_policies_and_other_resource_keys_are_accepted(version, policy):
    body = (f"resources:\n  r:\n    type: OS::Heat::None\n    deletion_policy: {policy}\n"
            "    update_policy: {batch: 1}\n    metadata: {k: v}\n    description: a resource\n"
            "outputs: {o: {value: {get_resource: r}}}\n")
    assert evaluate(tmpl(version, body))["o"]


def test_a_dependency_on_a_resource_whose_condition_is_false_is_allowed():
    body = ("resources:\n  disabled: {type: OS::Heat::None, condition: false}\n"
            "  enabled: {type: OS::Heat::None, depends_on: [disabled]}\noutputs: {o: {value: ok}}\n")
    assert evaluate(tmpl("2016-10-14", body)) == {"o": "ok"}


GROUPS = "parameters: {a: {type: string, default: x}, b: {type: string, default: y}}\n"


@pytest.mark.parametrize("groups, message", [
    ("{label: g}", "Parameter Groups error: parameter_groups.g: The parameters must be provided for each "
                   "parameter group."),
    ("{label: g, parameters: a}", "The parameters of parameter group should be a list."),
    ("{label: g, parameters: [c]}", "The grouped parameter c does not reference a valid parameter."),
    ("{label: g, parameters: [a]}, {label: h, parameters: [a]}",
     "Parameter Groups error: parameter_groups.h: The a parameter must be assigned to one parameter group only."),
])
def test_parameter_groups_are_checked(groups, message):
    assert message in refusal(tmpl("2016-10-14", GROUPS + f"parameter_groups: [{groups}]\n"))


def test_good_parameter_groups_and_a_non_list():
    body = GROUPS + "parameter_groups: [{label: g, parameters: [a, b]}]\noutputs: {o: {value: 1}}\n"
    assert evaluate(tmpl("2016-10-14", body)) == {"o": 1}
    assert "The parameter_groups should be a list." in refusal(tmpl("2016-10-14", GROUPS + "parameter_groups: x\n"))


def param(ptype, constraint="", extra=""):
    constraints = f", constraints: [{constraint}]" if constraint else ""
    return f"parameters: {{p: {{type: {ptype}{constraints}{extra}}}}}\noutputs: {{o: {{value: {{get_param: p}}}}}}\n"


@pytest.mark.parametrize("version, ptype, value, expected", [
    ("2016-10-14", "number", "3", 3),
    ("2016-10-14", "number", "2.5", 2.5),
    ("2016-10-14", "boolean", "yes", True),
    ("2016-10-14", "boolean", "OFF", False),
    ("2016-10-14", "comma_delimited_list", "a,b, c", ["a", "b", " c"]),
    ("2016-10-14", "comma_delimited_list", "", []),
    ("2016-10-14", "json", '{"a": [1]}', {"a": [1]}),
    ("2016-10-14", "string", "x", "x"),
])
def test_parameter_types_convert_as_heats(version, ptype, value, expected):
    assert evaluate(tmpl(version, param(ptype)), params={"p": value}) == {"o": expected}


@pytest.mark.parametrize("version, ptype, constraint, value, message", [
    ("2016-10-14", "number", "", "many", "Parameter 'p' is invalid: could not convert string to float: 'many'"),
    ("2016-10-14", "boolean", "", "maybe", "Parameter 'p' is invalid: Unrecognized value 'maybe', acceptable values"),
    ("2016-10-14", "json", "", "{bad", "Parameter 'p' is invalid: Value must be valid JSON: "),
    ("2016-10-14", "number", "{range: {min: 1, max: 10}}", "20", "20 is out of range (min: 1, max: 10)"),
    ("2016-10-14", "number", "{range: {min: abc}}", "1", "ValueError: could not convert string to float: 'abc'"),
    ("2016-10-14", "number", "{range: {}}", "1",
     "A range constraint must have a min value and/or a max value specified."),
    ("2016-10-14", "string", "{length: {min: 2}}", "a", "length (1) is out of range (min: 2, max: None)"),
    ("2016-10-14", "string", "{length: {min: 2}, description: Too short}", "a", "Parameter 'p' is invalid: Too short"),
    ("2016-10-14", "comma_delimited_list", "{length: {max: 1}}", "a,b", "length (2) is out of range"),
    ("2017-02-24", "number", "{modulo: {step: 2, offset: 1}}", "4", "4 is not a multiple of 2 with an offset of 1"),
    ("2017-02-24", "number", "{modulo: {step: 2, offset: 3}}", "4",
     "offset must be smaller (by absolute value) than step."),
    ("2016-10-14", "number", "{modulo: {step: 2, offset: 1}}", "4", "No constraint expressed"),
    ("2016-10-14", "string", "{allowed_values: [a, b]}", "c", '"c" is not an allowed value ["a", "b"]'),
    ("2016-10-14", "number", "{allowed_values: [1, 2]}", "3", '"3" is not an allowed value [1, 2]'),
    ("2016-10-14", "comma_delimited_list", "{allowed_values: [a, b]}", "a,c", "is not an allowed value"),
    ("2016-10-14", "string", "{allowed_pattern: '[a-z]+'}", "Ab", '"Ab" does not match pattern "[a-z]+"'),
    ("2016-10-14", "string", "{allowed_pattern: '('}", "a", "is not a valid regular expression"),
    ("2016-10-14", "string", "{allowed_pattern: 1}", "a", "AllowedPattern must be a string"),
    ("2016-10-14", "string", "{custom_constraint: no.such}", "a",
     '"a" does not validate no.such (constraint not found)'),
    ("2016-10-14", "string", "{range: {min: 1}}", "a", "Parameter 'p' is invalid: Range constraint invalid for string"),
    ("2016-10-14", "json", "{allowed_values: [a]}", "{}", "AllowedValues constraint invalid for json"),
    ("2016-10-14", "string", "{bogus: 1}", "a", "Invalid key 'bogus' for parameter constraints"),
    ("2016-10-14", "string", "", None, "The Parameter (p) was not provided."),
])
def test_parameter_constraints_are_heats(version, ptype, constraint, value, message):
    params = {"p": value} if value is not None else {}
    assert message in refusal(tmpl(version, param(ptype, constraint)), params=params)


def test_known_custom_constraints_accept_values():
    for name in ("nova.flavor", "glance.image", "nova.keypair", "neutron.network"):
        assert evaluate(tmpl("2016-10-14", param("string", f"{{custom_constraint: {name}}}")),
                        params={"p": "x"}) == {"o": "x"}


@pytest.mark.parametrize("version, extra, message", [
    ("2016-10-14", ", colour: red", "Invalid key 'colour' for parameter (p)"),
    ("2016-10-14", ", tags: [a]", "Invalid key 'tags' for parameter (p)"),
    ("2018-03-02", ", tags: a", "Tags property should be a list for parameter: p"),
    ("2016-10-14", ", default: 0, constraints: [{range: {min: 1}}]", "Parameter 'p' is invalid: Invalid default 0"),
])
def test_parameter_declarations_are_checked(version, extra, message):
    assert message in refusal(tmpl(version, param("number", extra=extra)), params={"p": "1"})


def test_parameter_keys_heat_accepts():
    extra = ", label: L, description: D, hidden: true, immutable: false, tags: [t]"
    assert evaluate(tmpl("2018-03-02", param("number", extra=extra)), params={"p": "1"}) == {"o": 1}


def test_parameters_section_and_request_parameters_must_be_mappings():
    assert "'str' object has no attribute 'items'" in refusal(tmpl("2016-10-14", "parameters: text\n"))
    with pytest.raises(Exception) as err:
        Template(tmpl("2016-10-14", "")).resolve_parameters("a=b", {})
    assert err.value.status == 400


def test_a_catastrophic_pattern_does_not_stall():
    text = tmpl("2016-10-14", param("string", "{allowed_pattern: '(a|aa)+b'}"))
    started = time.monotonic()
    message = refusal(text, params={"p": "a" * 5000 + "c"})
    assert "does not match pattern" in message
    assert time.monotonic() - started < 5
