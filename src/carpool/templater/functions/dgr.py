"""dgr's own template functions (``TemplateFunctions`` in ``bin-templater/template/templating.go``).

Each function keeps the Go signature dgr registered, so argument types are checked the
way Go's ``text/template`` checks them: ``add``/``sub``/``mul``/``div``/``mod`` take Go
``int`` (a YAML number, which is a ``float64``, is a type error, as in dgr), ``join``
takes a ``[]string`` and ``replace`` is ``strings.Replace(s, old, new, n)``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from carpool.templater.functions.golib import (
    NIL_DEREFERENCE,
    GoPanic,
    GoTime,
    go_int,
    go_lower,
    go_upper,
    index_out_of_range,
    json_marshal,
    quo,
    rem,
    string_slice,
    yaml_marshal,
)
from carpool.templater.gofmt import format_value
from carpool.templater.gotypes import GoError, go_signature, go_type, kind_of

# ------------------------------------------------------------------ Go stdlib wrappers


def go_path_base(path: str) -> str:
    """``path.Base``: last element, trailing slashes removed; ``.`` for empty, ``/`` for root."""
    if path == "":
        return "."
    path = path.rstrip("/")
    if path == "":
        return "/"
    return path.rsplit("/", 1)[-1]


def go_path_clean(path: str) -> str:
    """``path.Clean``."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if rooted and not cleaned.startswith("/"):
        cleaned = "/" + cleaned
    return cleaned


def go_path_dir(path: str) -> str:
    """``path.Dir``: everything before the last slash, cleaned."""
    head = path[: path.rfind("/") + 1]
    return go_path_clean(head)


def go_split(s: str, sep: str) -> list[str]:
    """``strings.Split`` (an empty separator splits into UTF-8 characters)."""
    if sep == "":
        return list(s)
    return s.split(sep)


def go_repeat(s: str, count: int) -> str:
    if count < 0:
        raise GoPanic("strings: negative Repeat count")
    return s * count


def go_replace(s: str, old: str, new: str, n: int) -> str:
    """``strings.Replace``: ``n < 0`` replaces all."""
    return s.replace(old, new, n if n >= 0 else -1)


# ------------------------------------------------------------------ JSON


def go_json_error(exc: Any, text: str) -> GoError:
    """The message Go's ``encoding/json`` gives for the same syntax error (approximately)."""
    if exc.pos >= len(text.rstrip()):
        return GoError("unexpected end of JSON input")
    ch = text[exc.pos]
    context = "looking for beginning of value"
    if exc.msg.startswith("Expecting property name"):
        context = "looking for beginning of object key string"
    elif exc.msg.startswith("Expecting ',' delimiter"):
        context = "after object key:value pair" if "{" in text else "after array element"
    elif exc.msg.startswith("Expecting ':' delimiter"):
        context = "after object key"
    elif exc.msg.startswith("Extra data"):
        context = "after top-level value"
    return GoError(f"invalid character {_go_char(ch)} {context}")


def _go_char(ch: str) -> str:
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    return "'" + ch + "'"


def json_decode(text: str) -> Any:
    import json as _json

    try:
        return _json.loads(text, parse_int=float)
    except _json.JSONDecodeError as exc:
        raise go_json_error(exc, text) from None


def _unmarshal_into(value: Any, target: str) -> GoError:
    kinds = {dict: "object", list: "array", str: "string", bool: "bool", float: "number"}
    return GoError(
        f"json: cannot unmarshal {kinds.get(type(value), 'value')} into Go value of type {target}"
    )


@go_signature("string", result="map[string]interface {}")
def json_object(data: str) -> Any:
    value = json_decode(data)
    if value is None or isinstance(value, dict):
        return value
    raise _unmarshal_into(value, "map[string]interface {}")


@go_signature("string", result="[]interface {}")
def json_array(data: str) -> Any:
    value = json_decode(data)
    if value is None or isinstance(value, list):
        return value
    raise _unmarshal_into(value, "[]interface {}")


@go_signature("interface {}", result="string")
def to_json(data: Any) -> str:
    return json_marshal(data, "  ")


@go_signature("interface {}", result="string")
def to_yaml(data: Any) -> str:
    return yaml_marshal(data)


# ------------------------------------------------------------------ defaults


@go_signature(variadic="interface {}", result="map[interface {}]interface {}")
def pairs(*values: Any) -> dict[Any, Any]:
    if len(values) % 2:
        raise GoError("Missing value on key/value Pairs call")
    return {values[i]: values[i + 1] for i in range(0, len(values), 2)}


@go_signature("interface {}", "interface {}", "interface {}", returns_error=False)
def if_or_def(test: Any, yes: Any, no: Any) -> Any:
    return yes if test is not None else no


@go_signature("interface {}", "interface {}", returns_error=False)
def or_def(val: Any, default: Any) -> Any:
    return val if val is not None else default


@go_signature("[]interface {}", "interface {}", returns_error=False)
def or_defs(val: Any, default: Any) -> Any:
    if val:
        return val
    return [default]


# ------------------------------------------------------------------ types


@go_signature("interface {}", "string", result="bool", returns_error=False)
def is_type(data: Any, t: str) -> bool:
    name = go_type(data)
    return name is not None and name == t


@go_signature("interface {}", "string", result="bool", returns_error=False)
def is_kind(data: Any, t: str) -> bool:
    name = go_type(data)
    return name is not None and kind_of(name) == t


@go_signature("interface {}", result="bool", returns_error=False)
def is_map(data: Any) -> bool:
    return isinstance(data, dict)


@go_signature("interface {}", result="bool", returns_error=False)
def is_array(data: Any) -> bool:
    return isinstance(data, list | tuple)


@go_signature("interface {}", result="bool", returns_error=False)
def is_string(data: Any) -> bool:
    return isinstance(data, str)


@go_signature("interface {}", result="bool", returns_error=False)
def is_nil(data: Any) -> bool:
    return data is None


def _sorted_key_strings(data: dict[Any, Any]) -> list[str]:
    keys = [k if isinstance(k, str) else f"<{go_type(k)} Value>" for k in data]
    return sorted(keys, key=lambda k: k.encode("utf-8", "surrogatepass"))


def _map_edge(data: Any, element: Any, last: bool) -> bool:
    if data is None:
        raise GoPanic(NIL_DEREFERENCE)
    if not isinstance(data, dict):
        return False
    keys = _sorted_key_strings(data)
    if not keys:
        raise index_out_of_range(-1 if last else 0, 0)
    key = keys[-1] if last else keys[0]
    return isinstance(element, str) and key == element


@go_signature("interface {}", "interface {}", result="bool", returns_error=False)
def is_map_first(data: Any, element: Any) -> bool:
    """Whether ``element`` is the first key of the map ``data`` in sorted order."""
    return _map_edge(data, element, last=False)


@go_signature("interface {}", "interface {}", result="bool", returns_error=False)
def is_map_last(data: Any, element: Any) -> bool:
    """Whether ``element`` is the last key of the map ``data`` in sorted order."""
    return _map_edge(data, element, last=True)


def deep_equal(a: Any, b: Any) -> bool:
    """``reflect.DeepEqual`` on template values (types must match too)."""
    if a is None or b is None:
        return a is None and b is None
    if go_type(a) != go_type(b):
        return False
    if isinstance(a, dict):
        return len(a) == len(b) and all(k in b and deep_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float | str | bool):
        return bool(a == b)
    return a is b


@go_signature("interface {}", "interface {}", result="int", returns_error=False)
def how_deep(data: Any, element: Any) -> int:
    """How many maps down ``element`` (a map) sits in ``data``."""
    return _how_deep(data, element, 0)


def _how_deep(data: Any, element: Any, deep: int) -> int:
    if element is None:
        raise GoPanic(NIL_DEREFERENCE)
    if isinstance(element, dict):
        if not isinstance(data, dict):
            raise GoPanic(
                f"reflect: call of reflect.Value.MapKeys on {kind_of(go_type(data))} Value"
            )
        for key in sorted(data, key=format_value):
            value = data[key]
            if deep_equal(value, element):
                return deep + 1
            if isinstance(value, dict):
                index = _how_deep(value, element, deep + 1)
                if index == deep + 2:
                    return index
    return deep


# ------------------------------------------------------------------ arithmetic (Go int)


@go_signature("int", "int", result="int", returns_error=False)
def add(x: int, y: int) -> int:
    return go_int(x + y)


@go_signature("int", "int", result="int", returns_error=False)
def sub(x: int, y: int) -> int:
    return go_int(x - y)


@go_signature("int", "int", result="int", returns_error=False)
def mul(x: int, y: int) -> int:
    return go_int(x * y)


@go_signature("int", "int", result="int", returns_error=False)
def div(x: int, y: int) -> int:
    return go_int(quo(x, y))


@go_signature("int", "int", result="int", returns_error=False)
def mod(x: int, y: int) -> int:
    return rem(x, y)


# ------------------------------------------------------------------ eq, cell


_SCALAR_TYPES = frozenset({"string", "int", "int64", "uint8", "float32", "float64"})


@go_signature(variadic="interface {}", result="bool", returns_error=False)
def eq(*args: Any) -> bool:
    """dgr's variadic ``eq``: true when the first argument equals any other.

    It replaces Go's builtin ``eq``: values of different Go types are simply not
    equal (``eq 80.0 80`` is false, not an error).
    """
    if not args:
        return False
    x, rest = args[0], args[1:]
    if go_type(x) in _SCALAR_TYPES:
        tx = go_type(x)
        return any(go_type(y) == tx and x == y for y in rest)
    return any(deep_equal(x, y) for y in rest)


class Cell:
    """dgr's mutable ``*Cell``: ``{{$c := cell 0}}{{$c.Set 3}}{{$c.Get}}``."""

    __slots__ = ("v",)
    go_type = "*template.Cell"

    def __init__(self, v: Any = None) -> None:
        self.v = v

    @go_signature("interface {}", result="*template.Cell", returns_error=False)
    def Set(self, v: Any) -> Cell:
        self.v = v
        return self

    @go_signature(returns_error=False)
    def Get(self) -> Any:
        return self.v

    def go_string(self) -> str:
        # text/template prints a pointer's target: the struct, "{5}"
        return "{" + format_value(self.v) + "}"


@go_signature(variadic="interface {}", result="*template.Cell")
def new_cell(*v: Any) -> Cell:
    if len(v) > 1:
        raise GoError(f"wrong number of args: want 0 or 1, got {len(v)}")
    return Cell(v[0] if v else None)


@go_signature(result="time.Time", returns_error=False)
def datetime() -> GoTime:
    return GoTime.now()


def _strings(fn: Callable[..., Any], *params: str, result: str = "string") -> Callable[..., Any]:
    return go_signature(*params, result=result, returns_error=False)(fn)


def functions() -> dict[str, Callable[..., Any]]:
    """dgr's function map, as ``init()`` in templating.go builds it."""
    fns: dict[str, Callable[..., Any]] = {
        "base": _strings(go_path_base, "string"),
        "split": _strings(
            lambda s, sep: string_slice(go_split(s, sep)), "string", "string", result="[]string"
        ),
        "json": json_object,
        "jsonArray": json_array,
        "dir": _strings(go_path_dir, "string"),
        "join": _strings(lambda elems, sep: sep.join(elems), "[]string", "string"),
        "datetime": datetime,
        "toUpper": _strings(go_upper, "string"),
        "toLower": _strings(go_lower, "string"),
        "contains": _strings(lambda s, sub: sub in s, "string", "string", result="bool"),
        "replace": _strings(go_replace, "string", "string", "string", "int"),
        "repeat": _strings(go_repeat, "string", "int"),
        "hasPrefix": _strings(lambda s, p: s.startswith(p), "string", "string", result="bool"),
        "hasSuffix": _strings(lambda s, p: s.endswith(p), "string", "string", result="bool"),
        "pairs": pairs,
        "orDef": or_def,
        "orDefs": or_defs,
        "ifOrDef": if_or_def,
        "isType": is_type,
        "isMap": is_map,
        "isArray": is_array,
        "isKind": is_kind,
        "isString": is_string,
        "isMapFirst": is_map_first,
        "isNil": is_nil,
        "isMapLast": is_map_last,
        "howDeep": how_deep,
        "add": add,
        "mul": mul,
        "div": div,
        "sub": sub,
        "mod": mod,
        "toJson": to_json,
        "toYaml": to_yaml,
        "cell": new_cell,
        "eq": eq,
        "IsMapFirst": is_map_first,
        "IsMapLast": is_map_last,
        "HowDeep": how_deep,
    }
    return fns
