"""Intrinsic functions per HOT version: each small template with the outcome
Heat gives (the evaluated outputs, or the 400 and its message)."""

import pytest
from hastexo_cloudsim.errors import ApiError
from hastexo_cloudsim.hot import Resolver, Template, parse_environment
from hastexo_cloudsim.resources import BuildContext


def evaluate(text, params=None, files=None, env=None):
    """Outputs of a template, as the fake Heat computes them for a create."""
    template = Template(text)
    values = template.resolve_parameters(params or {}, parse_environment(env))
    resolver = Resolver(template, values, files or {}, BuildContext("st", "sid", 1, "proj"))
    resolver.build_all()
    return {o["output_key"]: o["output_value"] for o in resolver.outputs()}


def refusal(text, **kwargs):
    with pytest.raises(ApiError) as err:
        evaluate(text, **kwargs)
    assert err.value.status == 400
    return f"{err.value.error_type}: {err.value.message}"


def tmpl(version, body):
    return f"heat_template_version: {version}\n{body}"


def out(version, value, extra=""):
    """A template whose single output ``o`` is ``value`` (YAML flow text)."""
    return tmpl(version, f"{extra}outputs:\n  o: {{value: {value}}}\n")


EVALUATED = [
    # get_param, with paths (strings index lists) and pseudo parameters
    ("2013-05-23", "{get_param: [p, k, '1']}", {"k": ["a", "b"]}, "b"),
    ("2016-10-14", "{get_param: [p, nope]}", {"k": 1}, ""),
    ("wallaby", "{get_param: OS::stack_name}", None, "st"),
    ("2016-10-14", "{get_param: OS::project_id}", None, "proj"),
    # str_replace: longest key first, a value is never searched again
    ("2016-10-14", "{str_replace: {template: '$a $ab', params: {$a: X, $ab: Y}}}", None, "X Y"),
    ("2016-10-14", "{str_replace: {template: 'a b', params: {a: b, b: c}}}", None, "b c"),
    ("2015-10-15", "{str_replace: {template: 'v=V', params: {V: [1, 2]}}}", None, "v=[1, 2]"),
    ("2015-10-15", "{str_replace: {template: 'v=V', params: {V: {b: 1, a: 2}}}}", None, 'v={"a": 2, "b": 1}'),
    ("2016-10-14", "{str_replace: {template: 'n=N', params: {N: 3}}}", None, "n=3"),
    ("2017-02-24", "{str_replace_strict: {template: 'hi N', params: {N: x}}}", None, "hi x"),
    ("pike", "{str_replace_vstrict: {template: 'hi N', params: {N: x}}}", None, "hi x"),
    # list_join
    ("2016-10-14", "{list_join: [',', [a, b], [c]]}", None, "a,b,c"),
    ("2016-10-14", "{list_join: [',', [a, {k: v}, [1]]]}", None, 'a,{"k": "v"},[1]'),
    ("2013-05-23", "{list_join: ['-', [a, b]]}", None, "a-b"),
    # str_split
    ("2015-10-15", "{str_split: [',', 'a,b,c']}", None, ["a", "b", "c"]),
    ("2016-10-14", "{str_split: [',', 'a,b,c', 2]}", None, "c"),
    # digest
    ("2015-04-30", "{digest: [sha256, abc]}", None,
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("2015-04-30", "{digest: [md5, '']}", None, "d41d8cd98f00b204e9800998ecf8427e"),
    # repeat: nested loop, maps, permutations
    ("2015-04-30", "{repeat: {template: 'x-%a%', for_each: {'%a%': [1x, 2x]}}}", None, ["x-1x", "x-2x"]),
    ("2016-10-14", "{repeat: {template: '%a%%b%', for_each: {'%a%': [a, b], '%b%': [c, d]}}}", None,
     ["ac", "ad", "bc", "bd"]),
    ("2016-10-14", "{repeat: {template: {k: '%a%'}, for_each: {'%a%': {m: 1, n: 2}}}}", None,
     [{"k": "m"}, {"k": "n"}]),
    ("2017-09-01", "{repeat: {template: '%a%%b%', for_each: {'%a%': [a, b], '%b%': [c, d]}, permutations: false}}",
     None, ["ac", "bd"]),
    # map_merge, map_replace
    ("2016-04-08", "{map_merge: [{a: 1, b: 2}, {b: 3}, null]}", None, {"a": 1, "b": 3}),
    ("2016-10-14", "{map_replace: [{k1: v1, k2: v2}, {keys: {k1: K1}, values: {v2: V2}}]}", None,
     {"K1": "v1", "k2": "V2"}),
    # yaql
    ("2016-10-14", "{yaql: {expression: '$.data.l.sum()', data: {l: [3, 2, 1]}}}", None, 6),
    ("2016-10-14", "{yaql: {expression: '$.data.l.select($ * 2)', data: {l: [1, 2]}}}", None, [2, 4]),
    ("2016-10-14", "{yaql: {expression: '$.data.m.keys()', data: {m: {a: 1}}}}", None, ["a"]),
    # filter, make_url, list_concat(_unique), contains
    ("2017-02-24", "{filter: [[b], [a, b, c, b]]}", None, ["a", "c"]),
    ("2017-09-01", "{make_url: {scheme: https, host: 'h.example', port: 8080, path: /a b, query: {q: 'x/y'},"
                   " fragment: f}}", None, "https://h.example:8080/a%20b?q=x/y#f"),
    ("2017-09-01", "{make_url: {scheme: http, username: u, password: 'p@ss', host: '::1'}}", None,
     "http://u:p%40ss@[::1]"),
    ("2017-09-01", "{list_concat: [[a, b], [b], null]}", None, ["a", "b", "b"]),
    ("2017-09-01", "{list_concat_unique: [[a, b], [b, c]]}", None, ["a", "b", "c"]),
    ("2017-09-01", "{contains: [b, [a, b]]}", None, True),
    # CloudFormation functions HOT 2013-05-23 still has
    ("2013-05-23", "{'Fn::Join': ['-', [a, b]]}", None, "a-b"),
    ("2013-05-23", "{'Fn::Select': ['1', [a, b]]}", None, "b"),
    ("2013-05-23", "{'Fn::Split': [',', 'a,b']}", None, ["a", "b"]),
    ("2013-05-23", "{'Fn::Replace': [{$x: X}, 'a $x']}", None, "a X"),
    ("2013-05-23", "{'Fn::Base64': abc}", None, "abc"),
    ("2013-05-23", "{'Fn::GetAZs': ''}", None, ["nova"]),
    ("2013-05-23", "{Ref: p}", "7", "7"),
    ("2013-05-23", "{'Fn::MemberListToMap': [Name, Value, ['.member.0.Name=k', '.member.0.Value=v']]}", None,
     {"k": "v"}),
    ("2015-04-30", "{'Fn::Select': [0, [a]]}", None, "a"),
    # A single-key map whose key is no function of the version is plain data.
    ("2016-04-08", "{if: [c, a, b]}", None, {"if": ["c", "a", "b"]}),
    ("2015-04-30", "{str_split: [',', 'a,b']}", None, {"str_split": [",", "a,b"]}),
    ("2016-10-14", "{filter: [[a], [a]]}", None, {"filter": [["a"], ["a"]]}),
    ("2016-10-14", "{not_a_function: 1}", None, {"not_a_function": 1}),
]


@pytest.mark.parametrize("version, value, param, expected", EVALUATED)
def test_functions_evaluate_as_heat_does(version, value, param, expected):
    extra = ""
    if param is not None:
        ptype = "json" if isinstance(param, dict) else "string"
        extra = f"parameters: {{p: {{type: {ptype}}}}}\n"
    params = {"p": param} if param is not None else {}
    assert evaluate(out(version, value, extra), params=params) == {"o": expected}


REFUSED = [
    # functions a version has removed
    ("2014-10-16", "{'Fn::Join': ['-', [a]]}",
     "outputs.o.value.Fn::Join: The template version is invalid: The function Fn::Join is not supported in this "
     "version of HOT."),
    ("2016-10-14", "{Ref: x}", "The function Ref is not supported in this version of HOT."),
    ("2015-10-15", "{'Fn::Select': [0, [a]]}", "The function Fn::Select is not supported in this version of HOT."),
    # argument shapes, checked before anything is built
    ("2016-10-14", "{str_replace: [a]}", 'outputs.o.value.str_replace: Arguments to "str_replace" must be a map'),
    ("2016-10-14", "{str_replace: {template: a}}", '"str_replace" syntax should be str_replace:'),
    ("2016-10-14", "{list_join: ','}", 'Incorrect arguments to "list_join" should be:'),
    ("2013-05-23", "{list_join: [',', [a], [b]]}", 'Incorrect arguments to "list_join" should be:'),
    ("2016-10-14", "{list_join: [',', [1]]}", "Items to join must be string, map or list not 1"),
    ("2013-05-23", "{list_join: [',', [[a]]]}", "Items to join must be strings not ['a']"),
    ("2016-10-14", "{str_split: [',', 'a,b', 5]}", 'Incorrect index to "str_split" should be between 0 and 1'),
    ("2016-10-14", "{str_split: abc}", 'Incorrect arguments to "str_split" should be:'),
    ("2013-05-23", "{str_replace: {template: 'x', params: {x: [1]}}}",
     '"str_replace" params must be strings or numbers, param x is not valid'),
    ("2017-02-24", "{str_replace_strict: {template: 'hi', params: {N: x, M: y}}}",
     "The following params were not found in the template: M,N"),
    ("2017-09-01", "{str_replace_vstrict: {template: 'hi N', params: {N: ''}}}",
     "str_replace_vstrict has an undefined or empty value for param N, must be a defined non-empty value"),
    ("2015-04-30", "{digest: [nohash, a]}", "Algorithm must be one of"),
    ("2015-04-30", "{digest: [sha1]}", 'Function "digest" usage: ["<algorithm>", "<value>"]'),
    ("2016-10-14", "{repeat: {template: x}}", '"repeat" syntax should be repeat:'),
    ("2015-04-30", "{repeat: {template: x, for_each: {'%a%': {k: v}}}}",
     'The values of the "for_each" argument to "repeat" must be lists'),
    ("2017-09-01", "{repeat: {template: x, for_each: {'%a%': [a]}, permutations: 'no'}}",
     '"permutations" should be boolean type for repeat function.'),
    ("2017-09-01", "{repeat: {template: '%a%%b%', for_each: {'%a%': [a], '%b%': [c, d]}, permutations: false}}",
     "For repeat, the length of for_each values should be equal if no nested loop."),
    ("2016-04-08", "{map_merge: [{a: 1}, [b]]}", "Incorrect arguments: Items to merge must be maps."),
    ("2016-10-14", "{map_replace: [{a: 1, b: 2}, {keys: {a: b}}]}",
     "key replacement b collides with a key in the input map"),
    ("2016-10-14", "{map_replace: [{a: 1}, {other: {}}]}", 'Incorrect arguments to "map_replace" should be:'),
    ("2016-10-14", "{yaql: {expression: '$.data.', data: {}}}", "outputs.o.value.yaql: Bad expression"),
    ("2016-10-14", "{yaql: {data: {}}}", '"yaql" syntax should be yaql:'),
    ("2017-02-24", "{filter: [[a]]}", '"filter" expected 2 arguments of the form [values, sequence] but got 1'),
    ("2017-09-01", "{make_url: {host: h, port: 70000}}", "Invalid URL port 70000, must be in range 1-65535"),
    ("2017-09-01", "{make_url: {hots: h}}", 'Invalid arguments to "make_url": hots'),
    ("2017-09-01", "{list_concat: [[a], b]}", "Items to concat must be lists."),
    ("2017-09-01", "{contains: [a, b, c]}", 'Arguments to "contains" must be of the form: [value1, [value1, value2]]'),
    ("2016-10-14", "{resource_facade: nope}",
     'Incorrect arguments to "resource_facade" should be one of: metadata, deletion_policy, update_policy'),
    ("2016-10-14", "{resource_facade: metadata}", "AttributeError: outputs.o.value: 'NoneType' object has no "
                                                  "attribute 'metadata_get'"),
    ("2016-10-14", "{get_file: nope.txt}", 'No content found in the "files" section for get_file path: nope.txt'),
    ("2016-10-14", "{get_attr: []}", 'Arguments to "get_attr" can be of the next forms'),
    ("2013-05-23", "{get_attr: [r]}", 'Arguments to "get_attr" must be of the form [resource_name, attribute'),
    ("2016-10-14", "{get_resource: nope}", 'The specified reference "nope" (in output o) is incorrect.'),
    ("2016-10-14", "{get_param: nope}", "The Parameter (nope) was not defined in template."),
]


@pytest.mark.parametrize("version, value, message", REFUSED)
def test_bad_function_calls_are_refused_with_heats_message(version, value, message):
    assert message in refusal(out(version, value))


def test_a_removed_function_is_refused_before_anything_is_built():
    text = tmpl("2016-10-14", "resources:\n  r: {type: OS::Heat::Value, properties: {value: {Ref: x}}}\n")
    message = refusal(text)
    assert message.startswith("StackValidationFailed: resources.r.properties.value.Ref: ")


GET_ATTR = """resources:
  net: {type: OS::Neutron::Net}
  port: {type: OS::Neutron::Port, properties: {network: {get_resource: net}}}
  v: {type: OS::Heat::Value, properties: {value: {a: [x, {b: deep}]}}}
"""


@pytest.mark.parametrize("version, value, expected", [
    ("2013-05-23", "{get_attr: [v, value, a, 1, b]}", "deep"),
    ("2014-10-16", "{get_attr: [v, value, a, 0]}", "x"),
    ("2016-10-14", "{get_attr: [v, value, a, '0']}", None),  # a string does not index a list
    ("2016-10-14", "{get_attr: [v, value, nope]}", None),
    ("2016-10-14", "{get_attr: [port, fixed_ips, 0, ip_address]}", "192.168.122.2"),
    ("2016-10-14", "{get_attr: [net, name]}", "net"),
])
def test_get_attr_follows_paths(version, value, expected):
    assert evaluate(out(version, value, GET_ATTR)) == {"o": expected}


def test_get_attr_with_only_the_resource_gives_every_attribute_but_show():
    outputs = evaluate(out("2015-10-15", "{get_attr: [v]}", GET_ATTR))
    assert outputs == {"o": {"value": {"a": ["x", {"b": "deep"}]}}}
    assert "Arguments to \"get_attr\" must be of the form" in refusal(out("2015-04-30", "{get_attr: [v]}", GET_ATTR))


def test_get_attr_of_an_unknown_attribute():
    assert "The Referenced Attribute (v nope) is incorrect." in refusal(out("2016-10-14", "{get_attr: [v, nope]}",
                                                                           GET_ATTR))


def test_get_file_reads_the_files_of_the_request():
    assert evaluate(out("2016-10-14", "{get_file: motd}"), files={"motd": "hi"}) == {"o": "hi"}


def test_functions_nest_and_take_parameters():
    text = tmpl("2017-09-01", """parameters:
  names: {type: comma_delimited_list, default: "a,b"}
outputs:
  o:
    value:
      list_join:
        - ' '
        - repeat:
            template: {str_replace: {template: 'host-N', params: {N: '%n%'}}}
            for_each: {'%n%': {get_param: names}}
""")
    assert evaluate(text) == {"o": "host-a host-b"}


def test_every_version_and_alias_is_known():
    from hastexo_cloudsim import functions
    assert set(functions.VERSIONS) == {
        "2013-05-23", "2014-10-16", "2015-04-30", "2015-10-15", "2016-04-08", "2016-10-14", "2017-02-24",
        "2017-09-01", "2018-03-02", "2018-08-31", "2021-04-16",
        "newton", "ocata", "pike", "queens", "rocky", "wallaby"}
    assert functions.VERSIONS["wallaby"] is functions.VERSIONS["2021-04-16"]
    assert "if" not in functions.VERSIONS["2016-04-08"].functions
    assert "make_url" not in functions.VERSIONS["2017-02-24"].functions
