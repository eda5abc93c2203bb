"""HOT intrinsic functions and condition functions, per template version.

A template snippet is first *parsed*: every single-key mapping whose key is a
function of the template's version becomes a function object, which checks
the shape of its arguments right away (Heat does this before it builds
anything). A single-key mapping whose key is not a function of that version is
plain data, as in Heat. Parsed snippets are then *validated* (functions that
a version has removed are refused here) and finally *resolved* to values.

``if`` is special: it picks its branch while the template is parsed, so only
the chosen branch is ever looked at. From 2021-04-16 an ``if`` without a false
branch makes the enclosing item disappear when its condition is false.

Failures are Heat's 400 replies, with Heat's messages: ``<path>: <message>``
as Heat's StackValidationFailed words them.
"""

# yaql reads collections.abc without importing it; import it first.
import collections.abc
import functools
import hashlib
import itertools
import json
from urllib import parse as urlparse

import yaql
from yaql.language import exceptions as yaql_exceptions

from .errors import ApiError, bad_request

_Mapping = collections.abc.Mapping
_Sequence = collections.abc.Sequence

# The result of an ``if`` without a false branch whose condition is false.
OMITTED = Ellipsis


def validation_failed(message, path=None, error=None):
    """Heat's StackValidationFailed: ``error: path: message``."""
    text = ""
    if error:
        text += f"{error}: "
    if path:
        text += f"{path}: "
    return bad_request(text + message, "StackValidationFailed")


def _message(exc):
    # str() of a KeyError is its repr; Heat shows it that way too.
    return str(exc)


def _dumps(value):
    return json.dumps(value, sort_keys=True)


def _is_list(value):
    return isinstance(value, _Sequence) and not isinstance(value, str)


# -- the function base classes ------------------------------------------------


class Function:
    """One call of an intrinsic function: ``{fn_name: args}``."""

    def __init__(self, stack, fn_name, args):
        self.stack = stack
        self.fn_name = fn_name
        self.args = args

    def validate(self):
        validate(self.args)

    def result(self):
        return {self.fn_name: self.args}

    def __repr__(self):
        return f"<{type(self).__name__} {{{self.fn_name}: {self.args!r}}}>"


class Macro(Function):
    """A function that controls how its own arguments are parsed."""

    def __init__(self, stack, fn_name, raw_args, parse_func):
        super().__init__(stack, fn_name, raw_args)
        self.parsed = self.parse_args(parse_func)

    def parse_args(self, parse_func):
        return parse_func(self.args)

    def validate(self):
        validate(self.parsed)

    def result(self):
        return resolve(self.parsed, nullable=True)


def resolve(snippet, nullable=False):
    """The value of a parsed snippet, with omitted items left out."""
    if isinstance(snippet, Function):
        result = snippet.result()
        if result is OMITTED and not nullable:
            result = None
        return result
    if isinstance(snippet, _Mapping):
        items = ((k, resolve(v, nullable=True)) for k, v in snippet.items())
        return {k: v for k, v in items if v is not OMITTED}
    if _is_list(snippet):
        values = (resolve(v, nullable=True) for v in snippet)
        return [v for v in values if v is not OMITTED]
    return snippet


def validate(snippet, path=""):
    """Check every function of a parsed snippet without resolving it."""
    if isinstance(snippet, Function):
        try:
            snippet.validate()
        except (ValueError, TypeError, KeyError, _Unsupported) as exc:
            raise validation_failed(_message(exc), _join(path, snippet.fn_name))
    elif isinstance(snippet, _Mapping):
        for key, value in snippet.items():
            validate(value, _join(path, key))
    elif _is_list(snippet):
        for i, value in enumerate(snippet):
            validate(value, f"{path}[{i}]")


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


def parse(functions, stack, snippet, path=""):
    """Turn the function calls of a raw snippet into function objects."""
    recurse = functools.partial(parse, functions, stack)
    if isinstance(snippet, _Mapping):
        if len(snippet) == 1:
            (fn_name, args), = snippet.items()
            fn_class = functions.get(fn_name) if isinstance(fn_name, str) else None
            if fn_class is not None:
                fn_path = _join(path, fn_name)
                try:
                    if isinstance(fn_class, type) and issubclass(fn_class, Macro):
                        return fn_class(stack, fn_name, args, functools.partial(recurse, path=fn_path))
                    return fn_class(stack, fn_name, recurse(args, fn_path))
                except (ValueError, TypeError, KeyError) as exc:
                    raise validation_failed(_message(exc), fn_path)
        return {k: recurse(v, _join(path, k)) for k, v in snippet.items()}
    if _is_list(snippet):
        return [recurse(v, f"{path}[{i}]") for i, v in enumerate(snippet)]
    return snippet


def resolve_checked(snippet, path):
    """Resolve a parsed snippet; a function's failure is a 400 naming the path."""
    try:
        return resolve(snippet)
    except (ValueError, TypeError, KeyError) as exc:
        raise validation_failed(_message(exc), path)
    except AttributeError as exc:
        raise validation_failed(str(exc), path, "AttributeError")


# -- parameters, resources, attributes, files --------------------------------


class GetParam(Function):
    def result(self):
        args = resolve(self.args)
        if not args:
            raise ValueError(f'Function "{self.fn_name}" must have arguments')
        if isinstance(args, str):
            name, path = args, []
        elif isinstance(args, _Sequence):
            name, path = args[0], args[1:]
        else:
            raise TypeError(f'Argument to "{self.fn_name}" must be string or list')
        if not isinstance(name, str):
            raise TypeError(f'Parameter name in "{self.fn_name}" must be string')
        value = self.stack.parameter(name)

        def step(collection, key):
            if not isinstance(collection, (_Mapping, _Sequence)):
                raise TypeError(f'"{self.fn_name}" can\'t traverse path')
            if not isinstance(key, (str, int)):
                raise TypeError(f'Path components in "{self.fn_name}" must be strings')
            if isinstance(collection, _Sequence) and isinstance(key, str):
                try:
                    key = int(key)
                except ValueError:
                    raise TypeError(f"Path components in '{self.fn_name}' must be a string that can be "
                                    "parsed into an integer.")
            return collection[key]

        try:
            return functools.reduce(step, path, value)
        except (KeyError, IndexError, TypeError):
            return ""


class GetResource(Function):
    def validate(self):
        super().validate()
        name = resolve(self.args)
        if isinstance(name, str):
            self.stack.check_reference(name)

    def result(self):
        return self.stack.reference(resolve(self.args))


class GetAttThenSelect(Function):
    """get_attr of 2013-05-23: the attribute, then a path into it."""

    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        self._resource_name, self._attribute, self._path = self._parse_args()

    def _parse_args(self):
        if not _is_list(self.args):
            raise TypeError(f'Argument to "{self.fn_name}" must be a list')
        if len(self.args) < 2:
            raise ValueError(f'Arguments to "{self.fn_name}" must be of the form '
                             '[resource_name, attribute, (path), ...]')
        return self.args[0], self.args[1], self.args[2:]

    def validate(self):
        super().validate()
        name = resolve(self._resource_name)
        if isinstance(name, str):
            self.stack.check_reference(name)

    def _attributes(self):
        name = resolve(self._resource_name)
        attrs = self.stack.attributes(name)
        return name, attrs

    def _attribute_value(self):
        name, attrs = self._attributes()
        attr = resolve(self._attribute)
        if not isinstance(attr, str) or attr not in attrs:
            raise ApiError(400, "InvalidTemplateAttribute",
                           f"The Referenced Attribute ({name} {attr}) is incorrect.")
        return attrs[attr]

    def result(self):
        value = self._attribute_value()
        if value is None:
            return None
        return select_from_attribute(value, resolve(self._path))


class GetAtt(GetAttThenSelect):
    """get_attr from 2014-10-16: the resource follows the path itself."""

    def result(self):
        return select_from_attribute(self._attribute_value(), resolve(self._path))


class GetAttAllAttributes(GetAtt):
    """get_attr from 2015-10-15: ``[resource]`` alone gives every attribute."""

    def _parse_args(self):
        if not self.args:
            raise ValueError(f'Arguments to "{self.fn_name}" can be of the next forms: [resource_name] or '
                             '[resource_name, attribute, (path), ...]')
        if isinstance(self.args, _Sequence):
            if len(self.args) > 1:
                return super()._parse_args()
            return self.args[0], None, []
        raise TypeError(f'Argument to "{self.fn_name}" must be a list')

    def result(self):
        if self._attribute is None:
            _, attrs = self._attributes()
            return {k: v for k, v in attrs.items() if k != "show"}
        return super().result()


def select_from_attribute(value, path):
    def step(collection, key):
        if not isinstance(collection, (_Mapping, _Sequence)):
            raise TypeError("Can't traverse attribute path")
        if not isinstance(key, (str, int)):
            raise TypeError("Path components in attributes must be strings")
        return collection[key]

    try:
        return functools.reduce(step, path, value)
    except (KeyError, IndexError, TypeError):
        return None


class GetFile(Function):
    def result(self):
        key = resolve(self.args)
        if not isinstance(key, str):
            raise TypeError(f'Argument to "{self.fn_name}" must be a string')
        content = self.stack.files.get(key)
        if content is None:
            raise ValueError(f'No content found in the "files" section for {self.fn_name} path: {key}')
        return content


class ResourceFacade(Function):
    ATTRIBUTES = ("metadata", "deletion_policy", "update_policy")

    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        if self.args not in self.ATTRIBUTES:
            raise ValueError(f'Incorrect arguments to "{self.fn_name}" should be one of: '
                             f'{", ".join(self.ATTRIBUTES)}')

    def result(self):
        parent = self.stack.parent_resource
        if parent is None:
            # What Heat says when a top-level stack asks for its facade.
            member = "metadata_get" if self.args == self.ATTRIBUTES[0] else "t"
            raise AttributeError(f"'NoneType' object has no attribute '{member}'")
        return parent.get(self.args)


class CfnResourceFacade(ResourceFacade):
    ATTRIBUTES = ("Metadata", "DeletionPolicy", "UpdatePolicy")


class Removed(Function):
    """A function an older version had; this one refuses it."""

    def validate(self):
        raise _Unsupported(f"The template version is invalid: The function {self.fn_name} is not supported "
                           "in this version of HOT.")


class _Unsupported(Exception):
    """Heat's InvalidTemplateVersion, raised while a function is validated."""


class Invalid(Function):
    """A function that is not allowed where it stands (in a condition)."""

    def __init__(self, stack, fn_name, args):
        raise ValueError(f'The function "{fn_name}" is invalid in this context')


# -- strings -------------------------------------------------------------------


class Replace(Function):
    """str_replace up to 2015-04-30: values must be strings or numbers."""

    strict = False
    allow_empty = True
    example = """{fn}:
              template: This is var1 template var2
              params:
                var1: a
                var2: string"""

    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        self._mapping, self._template = self._parse_args()
        if not isinstance(self._mapping, (_Mapping, Function)):
            raise TypeError(f'"{self.fn_name}" parameters must be a mapping')

    def _parse_args(self):
        if not isinstance(self.args, _Mapping):
            raise TypeError(f'Arguments to "{self.fn_name}" must be a map')
        try:
            return self.args["params"], self.args["template"]
        except KeyError:
            example = self.example.format(fn=self.fn_name)
            raise KeyError(f'"{self.fn_name}" syntax should be {example}')

    def _replacement(self, value, param):
        if value is None:
            return ""
        if not isinstance(value, (str, int, float, bool)):
            raise TypeError(f'"{self.fn_name}" params must be strings or numbers, param {param} is not valid')
        return str(value)

    def result(self):
        template = resolve(self._template)
        mapping = resolve(self._mapping)
        if not isinstance(template, str):
            raise TypeError(f'"{self.fn_name}" template must be a string')
        if not isinstance(mapping, _Mapping):
            raise TypeError(f'"{self.fn_name}" params must be a map')
        unused = set(mapping)
        # Longest placeholders first, ties in sorted order; a replaced value
        # is never searched again.
        keys = sorted(sorted(mapping, key=str), key=lambda k: len(k) if isinstance(k, str) else 0, reverse=True)

        def substitute(text, remaining):
            if not remaining:
                return text
            key, rest = remaining[0], remaining[1:]
            if not isinstance(key, str):
                raise TypeError(f'"{self.fn_name}" param placeholders must be strings')
            value = self._replacement(mapping[key], key)
            pieces = text.split(key)
            if len(pieces) > 1:
                unused.discard(key)
            return value.join(substitute(piece, rest) for piece in pieces)

        text = substitute(template, keys)
        if self.strict and unused:
            names = ",".join(sorted(sorted(unused), key=len, reverse=True))
            raise ValueError(f"The following params were not found in the template: {names}")
        return text


class ReplaceJson(Replace):
    """str_replace from 2015-10-15: lists and maps go in as JSON."""

    def _replacement(self, value, param):
        def empty():
            return ValueError(f"{self.fn_name} has an undefined or empty value for param {param}, "
                              "must be a defined non-empty value")

        if value is None:
            if self.allow_empty:
                return ""
            raise empty()
        if not isinstance(value, (str, int, float, bool)):
            if isinstance(value, (_Mapping, _Sequence)):
                if not self.allow_empty and len(value) == 0:
                    raise empty()
                try:
                    return _dumps(value)
                except TypeError:
                    raise TypeError(f'"{self.fn_name}" params must be strings, numbers, list or map. '
                                    f"Failed to json serialize {value}")
            raise TypeError(f'"{self.fn_name}" params must be strings, numbers, list or map.')
        text = str(value)
        if not self.allow_empty and not text:
            raise empty()
        return text


class ReplaceJsonStrict(ReplaceJson):
    strict = True


class ReplaceJsonVeryStrict(ReplaceJsonStrict):
    allow_empty = False


class CfnReplace(Replace):
    def _parse_args(self):
        example = f'{{"{self.fn_name}": [ {{"$var1": "foo", "%var2%": "bar"}}, "$var1 is %var2%"]}}'
        if isinstance(self.args, (str, _Mapping)):
            raise TypeError(f'Incorrect arguments to "{self.fn_name}" should be: {example}')
        try:
            mapping, template = self.args
        except ValueError:
            raise ValueError(f'Incorrect arguments to "{self.fn_name}" should be: {example}')
        return mapping, template


class Join(Function):
    """list_join up to 2015-04-30: one list of strings."""

    _form = '[ " ", [ "str1", "str2"]]'

    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        wrong = f'Incorrect arguments to "{fn_name}" should be: "{fn_name}" : {self._form}'
        if not isinstance(args, list):
            raise TypeError(wrong)
        self._delim, self._lists = self._split(args, wrong)

    @staticmethod
    def _split(args, wrong):
        if len(args) != 2:
            raise ValueError(wrong)
        return args[0], [args[1]]

    def _strings(self):
        strings = resolve(self._lists[0])
        if strings is None:
            return []
        if not _is_list(strings):
            raise TypeError(f'"{self.fn_name}" must operate on a list')
        return strings

    @staticmethod
    def _text(item):
        if item is None:
            return ""
        if not isinstance(item, str):
            raise TypeError(f"Items to join must be strings not {repr(item)[:200]}")
        return item

    def result(self):
        strings = self._strings()
        delim = resolve(self._delim)
        if not isinstance(delim, str):
            raise TypeError(f'"{self.fn_name}" delimiter must be a string')
        return delim.join(self._text(s) for s in strings)


class JoinMultiple(Join):
    """list_join from 2015-10-15: several lists; lists and maps as JSON."""

    _form = '[ " ", [ "str1", "str2"] ...]'

    @staticmethod
    def _split(args, wrong):
        if len(args) < 2:
            raise ValueError(wrong)
        return args[0], args[1:]

    def _strings(self):
        strings = []
        for item in resolve(self._lists):
            if item:
                if not _is_list(item):
                    raise TypeError(f'"{self.fn_name}" must operate on a list')
                strings += item
        return strings

    @staticmethod
    def _text(item):
        if item is None:
            return ""
        if isinstance(item, str):
            return item
        if isinstance(item, (_Mapping, _Sequence)):
            try:
                return _dumps(item)
            except TypeError:
                raise TypeError(f"Items to join must be string, map or list. {repr(item)[:200]} failed "
                                "json serialization")
        raise TypeError(f"Items to join must be string, map or list not {repr(item)[:200]}")


class StrSplit(Function):
    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        self.example = f'"{fn_name}" : [ ",", "apples,pears", <index>]'
        if isinstance(args, (str, _Mapping)):
            raise TypeError(f'Incorrect arguments to "{fn_name}" should be: {self.example}')

    def result(self):
        args = resolve(self.args)
        try:
            args = list(args)
            delim, text = args[0], args[1]
        except (TypeError, IndexError):
            raise ValueError(f'Incorrect arguments to "{self.fn_name}" should be: {self.example}')
        if text is None:
            return None
        if not isinstance(text, str):
            raise AttributeError(f"'{type(text).__name__}' object has no attribute 'split'")
        parts = text.split(delim)
        if len(args) > 2:
            try:
                index = int(args[2])
            except (TypeError, ValueError):
                raise ValueError(f'Incorrect index to "{self.fn_name}" should be: {self.example}')
            try:
                return parts[index]
            except IndexError:
                raise ValueError(f'Incorrect index to "{self.fn_name}" should be between 0 and '
                                 f'{len(parts) - 1}')
        return parts


class Digest(Function):
    def result(self):
        args = resolve(self.args)
        if not (isinstance(args, list) and all(isinstance(a, str) for a in args)):
            raise TypeError(f'Argument to function "{self.fn_name}" must be a list of strings')
        if len(args) != 2:
            raise ValueError(f'Function "{self.fn_name}" usage: ["<algorithm>", "<value>"]')
        if args[0].lower() not in hashlib.algorithms_available:
            raise ValueError(f"Algorithm must be one of {hashlib.algorithms_available}")
        digest = hashlib.new(args[0])
        digest.update(args[1].encode("latin-1"))
        return digest.hexdigest()


class MakeURL(Function):
    KEYS = ("scheme", "username", "password", "host", "port", "path", "query", "fragment")

    def _check_args(self, args):
        for key in self.KEYS:
            if key not in args:
                continue
            value = args[key]
            if key == "query":
                if not isinstance(value, (Function, _Mapping)):
                    raise TypeError(f'The "{key}" argument to "{self.fn_name}" must be a map')
                return
            if key == "port":
                if isinstance(value, Function):
                    continue
                port = value
                if not isinstance(port, int):
                    try:
                        port = int(port)
                    except (TypeError, ValueError):
                        raise ValueError(f'Invalid URL port "{port}" for {self.fn_name} called with {args}')
                if not 0 < port <= 65535:
                    raise ValueError(f"Invalid URL port {port}, must be in range 1-65535")
            elif not isinstance(value, (Function, str)):
                raise TypeError(f'The "{key}" argument to "{self.fn_name}" must be a string')

    def validate(self):
        super().validate()
        if not isinstance(self.args, _Mapping):
            raise TypeError(f'The arguments to "{self.fn_name}" must be a map')
        invalid = set(self.args) - set(self.KEYS)
        if invalid:
            raise ValueError(f'Invalid arguments to "{self.fn_name}": {", ".join(sorted(map(str, invalid)))}')
        self._check_args(self.args)

    def result(self):
        args = resolve(self.args)
        self._check_args(args)
        scheme = args.get("scheme", "")
        if ":" in scheme:
            raise ValueError("URL \"scheme\" should not contain ':'")
        netloc = ""
        username = urlparse.quote(args.get("username", ""), safe="")
        password = urlparse.quote(args.get("password", ""), safe="")
        if username or password:
            netloc += username + (":" + password if password else "") + "@"
        host = args.get("host", "")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        host = urlparse.quote(host, safe=":")
        netloc += f"[{host}]" if ":" in host else host
        if args.get("port", ""):
            netloc += f":{args['port']}"
        path = urlparse.quote(args.get("path", ""))
        query = urlparse.urlencode(args.get("query", {})).replace("%2F", "/")
        fragment = urlparse.quote(args.get("fragment", ""))
        return urlparse.urlunsplit((scheme, netloc, path, query, fragment))


class Yaql(Function):
    _parser = None
    _context = None

    @classmethod
    def parser(cls):
        if cls._parser is None:
            # Heat's defaults for [yaql] limit_iterators and memory_quota.
            cls._parser = yaql.YaqlFactory().create({"yaql.limitIterators": 200, "yaql.memoryQuota": 10000})
            cls._context = yaql.create_context()
        return cls._parser

    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        if not isinstance(self.args, _Mapping):
            raise TypeError(f'Arguments to "{fn_name}" must be a map.')
        if "expression" not in self.args or set(self.args) - {"expression", "data"}:
            example = f"""{fn_name}:
              expression: $.data.var1.sum()
              data:
                var1: [3, 2, 1]"""
            raise KeyError(f'"{fn_name}" syntax should be {example}')
        self._expression = self.args["expression"]
        self._data = self.args.get("data", {})

    def validate(self):
        super().validate()
        if not isinstance(self._expression, Function):
            self._parse(self._expression)

    def _parse(self, expression):
        if not isinstance(expression, str):
            raise TypeError(f'The "expression" argument to {self.fn_name} must contain a string.')
        try:
            return self.parser()(expression)
        except yaql_exceptions.YaqlException as exc:
            raise ValueError(f"Bad expression {exc}.")

    def result(self):
        statement = self._parse(resolve(self._expression))
        data = resolve(self._data)
        try:
            value = statement.evaluate({"data": data}, self._context.create_child_context())
        except yaql_exceptions.YaqlException as exc:
            raise ValueError(str(exc))
        return _plain(value)


def _plain(value):
    """yaql answers with its own frozen types and iterators; make them JSON."""
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return value
    if isinstance(value, _Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, collections.abc.Iterable):
        return [_plain(v) for v in value]
    return value


# -- lists and maps ------------------------------------------------------------


class MapMerge(Function):
    def result(self):
        args = resolve(self.args)
        if not isinstance(args, _Sequence):
            raise TypeError(f'Incorrect arguments to "{self.fn_name}" should be: "{self.fn_name}" : '
                            '[ { "key1": "val1" }, { "key2": "val2" } ]')
        merged = {}
        for item in args:
            if item is None:
                continue
            if not isinstance(item, _Mapping):
                raise TypeError(f"Incorrect arguments: Items to merge must be maps. {repr(item)[:200]} is type "
                                f"{type(item)} instead of a dict")
            merged.update(item)
        return merged


class MapReplace(Function):
    def result(self):
        args = resolve(self.args)
        example = (f'"{self.fn_name}" : [ {{ "key1": "val1" }}, '
                   '{"keys": {"key1": "key2"}, "values": {"val1": "val2"}}]')
        wrong = f'Incorrect arguments to "{self.fn_name}" should be: {example}'

        def as_map(item):
            if item is None:
                return {}
            if isinstance(item, _Mapping):
                return item
            raise TypeError(f'Incorrect arguments: to "{self.fn_name}", arguments must be a list of maps. '
                            f"Example:  {example}")

        if not isinstance(args, list) or len(args) != 2:
            raise TypeError(wrong)
        source, replacements = as_map(args[0]), as_map(args[1])
        if set(replacements) - {"keys", "values"}:
            raise ValueError(wrong)
        keys = as_map(replacements.get("keys", {}))
        values = as_map(replacements.get("values", {}))
        result = {}
        for key, value in source.items():
            new_key = keys.get(key)
            if new_key is None:
                new_key = key
            elif new_key in source and new_key != key:
                raise ValueError(f"key replacement {new_key} collides with a key in the input map")
            elif new_key in result:
                raise ValueError(f"key replacement {new_key} collides with a key in the output map")
            try:
                result[new_key] = values.get(value, value)
            except TypeError:
                result[new_key] = value
        return result


class Repeat(Function):
    """repeat of 2015-04-30: lists only, every combination of them."""

    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        self._parse_args()

    def _parse_args(self):
        if not isinstance(self.args, _Mapping):
            raise TypeError(f'Arguments to "{self.fn_name}" must be a map')
        try:
            self._for_each = self.args["for_each"]
            self._template = self.args["template"]
        except KeyError:
            example = """repeat:
              template: This is %var%
              for_each:
                %var%: ['a', 'b', 'c']"""
            raise KeyError(f'"repeat" syntax should be {example}')
        self._nested = True

    def validate(self):
        super().validate()
        if not isinstance(self._for_each, (Function, _Mapping)):
            raise TypeError(f'The "for_each" argument to "{self.fn_name}" must contain a map')

    def _check_values(self, value):
        if not _is_list(value) and not isinstance(value, Function):
            raise TypeError(f'The values of the "for_each" argument to "{self.fn_name}" must be lists')

    def _replace(self, keys, values, template):
        if isinstance(template, str):
            for key, value in zip(keys, values, strict=True):
                template = template.replace(key, value)
            return template
        if _is_list(template):
            return [self._replace(keys, values, item) for item in template]
        if isinstance(template, _Mapping):
            return {self._replace(keys, values, k): self._replace(keys, values, v) for k, v in template.items()}
        return template

    def result(self):
        for_each = resolve(self._for_each)
        if not isinstance(for_each, _Mapping):
            raise TypeError(f'The "for_each" argument to "{self.fn_name}" must contain a map')
        if not for_each:
            return []
        keys, lists = zip(*for_each.items(), strict=True)
        values, lengths = [], []
        for value in lists:
            if value is None:
                values.append([])
            else:
                self._check_values(value)
                values.append(value)
                lengths.append(len(value))
        if not self._nested and len(set(lengths)) > 1:
            raise ValueError(f"For {self.fn_name}, the length of for_each values should be equal if no "
                             "nested loop.")
        template = resolve(self._template)
        combine = itertools.product if self._nested else zip
        return [self._replace(keys, combination, template) for combination in combine(*values)]


class RepeatWithMap(Repeat):
    """repeat from 2016-10-14: a map iterates over its keys."""

    def _check_values(self, value):
        if not (_is_list(value) or isinstance(value, (_Mapping, Function))):
            raise TypeError(f'The values of the "for_each" argument to "{self.fn_name}" must be lists or maps')


class RepeatWithNestedLoop(RepeatWithMap):
    """repeat from 2017-09-01: ``permutations: false`` pairs the lists up."""

    def _parse_args(self):
        super()._parse_args()
        self._nested = self.args.get("permutations", True)
        if not isinstance(self._nested, bool):
            raise TypeError(f'"permutations" should be boolean type for {self.fn_name} function.')

    def _check_values(self, value):
        if self._nested:
            super()._check_values(value)
        else:
            Repeat._check_values(self, value)


class Filter(Function):
    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        if not _is_list(self.args):
            raise TypeError(f'Argument to "{fn_name}" must be a list')
        if len(self.args) != 2:
            raise ValueError(f'"{fn_name}" expected 2 arguments of the form [values, sequence] but got '
                             f"{len(self.args)} arguments instead")
        self._values, self._sequence = self.args

    def result(self):
        sequence = resolve(self._sequence)
        if not sequence:
            return sequence
        if not isinstance(sequence, list):
            raise TypeError(f'"{self.fn_name}" only works with lists')
        values = resolve(self._values)
        if not values:
            return sequence
        if not isinstance(values, list):
            raise TypeError(f'"{self.fn_name}" filters a list of values')
        return [item for item in sequence if item not in values]


class ListConcat(Function):
    unique = False

    def result(self):
        args = resolve(self.args)
        if not _is_list(args):
            raise TypeError(f'Incorrect arguments to "{self.fn_name}" should be: "{self.fn_name}" : '
                            '[ [ <value 1>, <value 2> ], [ <value 3>, <value 4> ] ]')
        items = []
        for part in args:
            if part is None:
                continue
            if not _is_list(part):
                raise TypeError(f"Incorrect arguments: Items to concat must be lists. {json.dumps(args)} "
                                f"contains an item that is not a list: {json.dumps(part)}")
            items.extend(part)
        if not self.unique:
            return items
        unique = []
        for item in items:
            if item not in unique:
                unique.append(item)
        return unique


class ListConcatUnique(ListConcat):
    unique = True


class Contains(Function):
    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        if not self.args or not isinstance(self.args, list):
            raise TypeError(f'Incorrect arguments to "{fn_name}" should be: "{fn_name}" : '
                            '[ "value1", [ "value1", "value2"]]')
        if len(self.args) != 2:
            raise ValueError(f'Arguments to "{fn_name}" must be of the form: [value1, [value1, value2]]')
        self._value, self._sequence = self.args

    def result(self):
        value, sequence = resolve(self._value), resolve(self._sequence)
        if not isinstance(sequence, _Sequence):
            raise TypeError(f'Second argument to "{self.fn_name}" should be a sequence.')
        return value in sequence


# -- conditions ------------------------------------------------------------------


class Equals(Function):
    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        if not self.args or not isinstance(self.args, list) or len(self.args) != 2:
            raise ValueError(f'Arguments to "{fn_name}" must be of the form: [value_1, value_2]')
        self._first, self._second = self.args

    def result(self):
        return resolve(self._first) == resolve(self._second)


class _Boolean(Function):
    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        self._check_args()

    def _check_args(self):
        if not _is_list(self.args):
            raise ValueError(f'Arguments to "{self.fn_name}" must be a list of conditions')
        if len(self.args) < 2:
            raise ValueError(f'The minimum number of condition arguments to "{self.fn_name}" is 2.')

    def _condition(self, value):
        if isinstance(value, bool):
            return value
        return self.stack.conditions.is_enabled(value)


class Not(_Boolean):
    def _check_args(self):
        if self.args is None:
            raise ValueError(f'Argument to "{self.fn_name}" must be a condition')

    def result(self):
        return not self._condition(resolve(self.args))


class And(_Boolean):
    def result(self):
        return all(self._condition(c) for c in resolve(self.args))


class Or(_Boolean):
    def result(self):
        return any(self._condition(c) for c in resolve(self.args))


class If(Macro):
    """``if: [condition, value_if_true, value_if_false]``, decided at parse time."""

    def _read_args(self):
        return self.args

    def parse_args(self, parse_func):
        try:
            if not self.args or not _is_list(self.args):
                raise ValueError()
            condition, if_true, if_false = self._read_args()
        except ValueError:
            raise ValueError(f'Arguments to "{self.fn_name}" must be of the form: '
                             '[condition_name, value_if_true, value_if_false]')
        parsed = self.stack.parse_condition(condition, self.fn_name)
        chosen = resolve(parsed)
        if not isinstance(chosen, bool):
            chosen = self.stack.conditions.is_enabled(chosen)
        return parse_func(if_true if chosen else if_false)


class IfNullable(If):
    """From 2021-04-16 the false branch may be left out."""

    def _read_args(self):
        if not 2 <= len(self.args) <= 3:
            raise ValueError()
        if len(self.args) == 2:
            return self.args[0], self.args[1], OMITTED
        return self.args


class Conditions:
    """The ``conditions`` section: each condition evaluated once, on demand."""

    _IN_PROGRESS = object()

    def __init__(self, definitions):
        self._definitions = definitions
        self._resolved = {}

    def validate(self):
        for name, definition in self._definitions.items():
            self._check_type(name, definition)
            validate(definition, f"conditions.{name}")

    @staticmethod
    def _check_type(name, definition):
        if not isinstance(definition, (bool, Function)):
            raise validation_failed(f'The definition of condition "{name}" is invalid: {definition}',
                                    error="Condition validation error")

    def is_enabled(self, name):
        if name is None:
            return True
        if isinstance(name, bool):
            return name
        if not (isinstance(name, str) and name in self._definitions):
            raise ValueError(f'Invalid condition "{name}"')
        if name not in self._resolved:
            self._resolved[name] = self._IN_PROGRESS
            value = resolve(self._definitions[name])
            self._check_type(name, value)
            self._resolved[name] = value
        if self._resolved[name] is self._IN_PROGRESS:
            raise validation_failed(f'Circular definition for condition "{name}"',
                                    error="Condition validation error")
        return self._resolved[name]


# -- CloudFormation functions HOT 2013-05-23 still has ---------------------------


class GetAZs(Function):
    def result(self):
        return ["nova"]


class ParamRef(Function):
    def result(self):
        name = resolve(self.args)
        if name not in self.stack.parameter_names():
            raise ApiError(400, "InvalidTemplateReference",
                           f'The specified reference "{name}" (in unknown) is incorrect.')
        return self.stack.parameter(name)


def Ref(stack, fn_name, args):  # noqa: N802 - named as the function it builds
    if isinstance(args, str) and args in stack.all_resource_names:
        return GetResource(stack, fn_name, args)
    return ParamRef(stack, fn_name, args)


class Select(Function):
    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        try:
            self._index, self._collection = self.args
        except (TypeError, ValueError):
            raise ValueError(f'Arguments to "{fn_name}" must be of the form [index, collection]')

    def result(self):
        index, collection = resolve(self._index), resolve(self._collection)
        if collection == "":
            return ""
        if isinstance(collection, str):
            try:
                collection = json.loads(collection)
            except ValueError as exc:
                raise ValueError(f'"{self.fn_name}": {exc}')
        if isinstance(collection, _Mapping):
            if not isinstance(index, str):
                raise TypeError(f'Index to "{self.fn_name}" must be a string')
            return collection.get(index, "")
        try:
            index = int(index)
        except (TypeError, ValueError):
            pass
        if _is_list(collection):
            if not isinstance(index, int):
                raise TypeError(f'Index to "{self.fn_name}" must be an integer')
            try:
                return collection[index]
            except IndexError:
                return ""
        if collection is None:
            return ""
        raise TypeError(f"Arguments to {self.fn_name} not fully resolved")


class Split(Function):
    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        wrong = f'Incorrect arguments to "{fn_name}" should be: "{fn_name}" : [ ",", "str1,str2"]]'
        if isinstance(args, (str, _Mapping)):
            raise TypeError(wrong)
        try:
            self._delim, self._string = args
        except (TypeError, ValueError):
            raise ValueError(wrong)

    def result(self):
        text = resolve(self._string)
        if not isinstance(self._delim, str):
            raise TypeError(f"Delimiter for {self.fn_name} must be string")
        if not isinstance(text, str):
            raise TypeError(f"String to split must be string; got {type(text)}")
        return text.split(self._delim)


class Base64(Function):
    def result(self):
        value = resolve(self.args)
        if not isinstance(value, str):
            raise TypeError(f'"{self.fn_name}" argument must be a string')
        return value


class MemberListToMap(Function):
    def __init__(self, stack, fn_name, args):
        super().__init__(stack, fn_name, args)
        try:
            self._key_name, self._value_name, self._list = self.args
        except (TypeError, ValueError):
            correct = """
            {'Fn::MemberListToMap': ['Name', 'Value',
                                     ['.member.0.Name=key',
                                      '.member.0.Value=door']]}
            """
            raise TypeError(f'Wrong Arguments try: "{correct}"')
        if not isinstance(self._key_name, str):
            raise TypeError(f"{fn_name} Key Name must be a string")
        if not isinstance(self._value_name, str):
            raise TypeError(f"{fn_name} Value Name must be a string")

    def result(self):
        members = resolve(self._list)
        if not isinstance(members, collections.abc.Iterable):
            raise TypeError("Member list must be a list")
        fields = {}
        for item in members:
            if not isinstance(item, str):
                raise TypeError("Member list items must be strings")
            key, _, value = item.partition("=")
            fields[key] = value
        # ".member.<n>.<KeyName>=k" and ".member.<n>.<ValueName>=v" pair up by n.
        keys, values = {}, {}
        for field, value in fields.items():
            parts = field.split(".")
            if len(parts) == 4 and parts[1] == "member":
                if parts[3] == self._key_name:
                    keys[parts[2]] = value
                elif parts[3] == self._value_name:
                    values[parts[2]] = value
        return {keys[n]: values[n] for n in keys if n in values}


# -- the versions ------------------------------------------------------------------

_REMOVED_IN_2014 = ("Fn::GetAZs", "Fn::Join", "Fn::Split", "Fn::Replace", "Fn::Base64",
                    "Fn::MemberListToMap", "Fn::ResourceFacade", "Ref")

_F20130523 = {
    "Fn::GetAZs": GetAZs, "get_param": GetParam, "get_resource": GetResource, "Ref": Ref,
    "get_attr": GetAttThenSelect, "Fn::Select": Select, "Fn::Join": Join, "list_join": Join,
    "Fn::Split": Split, "str_replace": Replace, "Fn::Replace": CfnReplace, "Fn::Base64": Base64,
    "Fn::MemberListToMap": MemberListToMap, "resource_facade": ResourceFacade,
    "Fn::ResourceFacade": CfnResourceFacade, "get_file": GetFile,
}
_F20141016 = {
    "get_attr": GetAtt, "get_file": GetFile, "get_param": GetParam, "get_resource": GetResource,
    "list_join": Join, "resource_facade": ResourceFacade, "str_replace": Replace, "Fn::Select": Select,
    **{name: Removed for name in _REMOVED_IN_2014},
}
_F20150430 = {**_F20141016, "repeat": Repeat, "digest": Digest}
_F20151015 = {**_F20150430, "get_attr": GetAttAllAttributes, "list_join": JoinMultiple,
              "str_replace": ReplaceJson, "str_split": StrSplit, "Fn::Select": Removed}
_F20160408 = {**_F20151015, "map_merge": MapMerge}
_F20161014 = {**_F20160408, "repeat": RepeatWithMap, "yaql": Yaql, "map_replace": MapReplace, "if": If}
_F20170224 = {**_F20161014, "filter": Filter, "str_replace_strict": ReplaceJsonStrict}
_F20170901 = {**_F20170224, "repeat": RepeatWithNestedLoop, "make_url": MakeURL, "list_concat": ListConcat,
              "str_replace_vstrict": ReplaceJsonVeryStrict, "list_concat_unique": ListConcatUnique,
              "contains": Contains}
_F20210416 = {**_F20170901, "if": IfNullable}

_C20161014 = {"get_param": GetParam, "equals": Equals, "not": Not, "and": And, "or": Or}
_C20170901 = {**_C20161014, "yaql": Yaql, "contains": Contains}


class Version:
    """What one ``heat_template_version`` allows."""

    def __init__(self, name, functions, condition_functions=None, conditions=False, modulo=False, tags=False):
        self.name = name
        self.functions = functions
        # In a condition, every other function of the version is refused
        # (those it removed keep their own refusal).
        table = {n: (f if f is Removed else Invalid) for n, f in functions.items()}
        table.update(condition_functions or {})
        self.condition_functions = table
        self.conditions = conditions  # the conditions section, resource and output "condition"
        self.modulo = modulo  # the modulo parameter constraint
        self.tags = tags  # the parameter key "tags"

    @property
    def resource_keys(self):
        keys = ("type", "properties", "metadata", "depends_on", "deletion_policy", "update_policy",
                "description")
        return keys + (("external_id", "condition") if self.conditions else ())

    @property
    def output_keys(self):
        return ("description", "value") + (("condition",) if self.conditions else ())

    @property
    def deletion_policies(self):
        policies = ("Delete", "Retain", "Snapshot")
        return policies + (tuple(p.lower() for p in policies) if self.conditions else ())


def _versions():
    table = {
        "2013-05-23": Version("2013-05-23", _F20130523),
        "2014-10-16": Version("2014-10-16", _F20141016),
        "2015-04-30": Version("2015-04-30", _F20150430),
        "2015-10-15": Version("2015-10-15", _F20151015),
        "2016-04-08": Version("2016-04-08", _F20160408),
        "2016-10-14": Version("2016-10-14", _F20161014, _C20161014, conditions=True),
        "2017-02-24": Version("2017-02-24", _F20170224, _C20161014, conditions=True, modulo=True),
        "2017-09-01": Version("2017-09-01", _F20170901, _C20170901, conditions=True, modulo=True),
        "2018-03-02": Version("2018-03-02", _F20170901, _C20170901, conditions=True, modulo=True, tags=True),
        "2018-08-31": Version("2018-08-31", _F20170901, _C20170901, conditions=True, modulo=True, tags=True),
        "2021-04-16": Version("2021-04-16", _F20210416, _C20170901, conditions=True, modulo=True, tags=True),
    }
    aliases = {"newton": "2016-10-14", "ocata": "2017-02-24", "pike": "2017-09-01", "queens": "2018-03-02",
               "rocky": "2018-08-31", "wallaby": "2021-04-16"}
    table.update({alias: table[date] for alias, date in aliases.items()})
    return table


VERSIONS = _versions()


class Scope:
    """What functions may ask of the stack they are evaluated in.

    ``builder`` is the stack's resource builder: ``builder.reference(name)``
    and ``builder.attributes(name)`` build a resource on first use.
    """

    parent_resource = None  # the fake cloud has no provider (nested) stacks

    def __init__(self, version, parameters, files, resource_names, builder, condition_definitions=None):
        self.version = version
        self.parameters = parameters
        self.files = files or {}
        self.all_resource_names = set(resource_names)
        self.enabled = set(resource_names)
        self.builder = builder
        self.where = "unknown"
        defs = condition_definitions or {}
        self.conditions = Conditions({name: self.parse_condition(cond, f"conditions.{name}")
                                      for name, cond in defs.items()})

    def parse(self, snippet, path=""):
        return parse(self.version.functions, self, snippet, path)

    def parse_condition(self, snippet, path=""):
        return parse(self.version.condition_functions, self, snippet, path)

    def parameter_names(self):
        return self.parameters.keys()

    def parameter(self, name):
        if name not in self.parameters:
            raise ApiError(400, "InvalidTemplateReference", f"The Parameter ({name}) was not defined in template.")
        return self.parameters[name]

    def check_reference(self, name):
        if not isinstance(name, str) or name not in self.enabled:
            raise ApiError(400, "InvalidTemplateReference",
                           f'The specified reference "{name}" (in {self.where}) is incorrect.')

    def reference(self, name):
        self.check_reference(name)
        return self.builder.reference(name)

    def attributes(self, name):
        self.check_reference(name)
        return self.builder.attributes(name)
