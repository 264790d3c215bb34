"""YAML read the way dgr reads it (``ghodss/yaml`` over ``gopkg.in/yaml.v2``).

dgr's attribute files and the ``.cfg`` of templates are YAML 1.1 as yaml.v2
resolves plain scalars, then (for attributes) round-tripped through JSON, so:

* booleans: ``y Y yes Yes YES on On ON true True TRUE`` and their negatives;
* integers: decimal, ``0x`` hex, ``0`` octal, ``0b`` binary, ``_`` ignored —
  no sexagesimal (``1:20`` stays a string, PyYAML would make it ``80``);
* floats: anything Go's ``ParseFloat`` takes in YAML style (``1e3``, ``.5``,
  ``.inf``) — PyYAML would leave ``1e3`` a string;
* timestamps stay strings (yaml.v2 keeps them as strings for ``interface{}``);
* after the JSON round trip every number is a ``float64`` and map keys are
  strings; ``exact_numbers`` keeps integers as Python ``int`` instead.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from carpool.templater.goint import parse_go_int

_BaseLoader: type[yaml.SafeLoader]
try:
    _BaseLoader = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # PyYAML without libyaml
    _BaseLoader = yaml.SafeLoader

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"

_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_FALSE = frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})

_BOOL_RE = re.compile("^(?:" + "|".join(sorted(_TRUE | _FALSE, key=len, reverse=True)) + ")$")
_INT_RE = re.compile(r"^[-+]?(?:0[bB][01_]+|0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")


class GoYamlLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """A safe loader whose implicit typing follows yaml.v2 instead of PyYAML.

    Map keys become strings as ``ghodss/yaml`` makes them (``1`` → ``"1"``,
    ``true``/``y`` → ``"true"``), so ``1`` and ``true`` stay distinct keys.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[str, Any]:
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            mapping[_key_string(key)] = self.construct_object(value_node, deep=deep)
        return mapping


GoYamlLoader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    (_BOOL, _BOOL_RE, list("yYnNtTfFoO")),
    (_INT, _INT_RE, list("-+0123456789")),
    (_FLOAT, _FLOAT_RE, list("-+0123456789.")),
    (_NULL, _NULL_RE, ["~", "n", "N", ""]),
    (_MERGE, re.compile(r"^(?:<<)$"), ["<"]),
):
    GoYamlLoader.add_implicit_resolver(_tag, _regexp, _first)


def _construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)) in _TRUE


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | float | str:
    return parse_go_int(str(loader.construct_scalar(node)))


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).replace("_", "")
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered == ".nan":
        return math.nan
    return float(text)


def _construct_timestamp_as_string(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


GoYamlLoader.add_constructor(_BOOL, _construct_bool)
GoYamlLoader.add_constructor(_INT, _construct_int)
GoYamlLoader.add_constructor(_FLOAT, _construct_float)
GoYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_string)


def load_yaml(text: str | bytes) -> Any:
    """The first YAML document of ``text`` as yaml.v2 types it (``None`` if empty)."""
    for document in yaml.load_all(text, Loader=GoYamlLoader):
        return document
    return None


def load_yaml_strings(text: str | bytes) -> Any:
    """The first YAML document with every scalar kept as its source text.

    yaml.v2 decoding into a Go ``string`` field takes any scalar's text (so a
    ``.cfg``'s ``checkCmd: true`` is the command ``true``); integer fields are
    then resolved with :func:`parse_go_int`.
    """
    for document in yaml.load_all(text, Loader=yaml.BaseLoader):
        return document
    return None


def _key_string(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return _format_float_key(key)
    raise ValueError(f"unsupported map key {key!r}")


def _format_float_key(value: float) -> str:
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    if math.isnan(value):
        return ".nan"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def to_json_types(value: Any, *, exact_numbers: bool = False) -> Any:
    """What ``ghodss/yaml`` hands back: string keys, float64 numbers (unless exact)."""
    if isinstance(value, dict):
        return {
            _key_string(k): to_json_types(v, exact_numbers=exact_numbers) for k, v in value.items()
        }
    if isinstance(value, list):
        return [to_json_types(v, exact_numbers=exact_numbers) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if exact_numbers else float(value)
    if isinstance(value, float):
        return value
    if isinstance(value, bytes):  # !!binary: yaml.v2 gives the decoded bytes as a string
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def load_yaml_as_json(text: str | bytes, *, exact_numbers: bool = False) -> Any:
    """Parse YAML like dgr's ``ghodss/yaml.Unmarshal`` into ``interface{}``."""
    return to_json_types(load_yaml(text), exact_numbers=exact_numbers)


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """A one-line description with the line and column when YAML knows them."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        problem = exc.problem or exc.context or "invalid YAML"
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return str(exc).replace("\n", " ")
