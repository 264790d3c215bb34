"""gtf's Django-style template functions (``github.com/leekchan/gtf``, as dgr vendored it).

gtf wraps every function in ``defer recovery()``: a panic inside one (the first
letter of an empty string, an index past the end) is swallowed and the function
returns the zero value of its result type (``""``, ``0``, ``false`` or nil).
Numeric helpers only accept Go integer kinds, so a YAML number (a ``float64``)
makes ``pluralize``, ``intcomma`` and ``ordinal`` return ``""`` — as in dgr.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

from carpool.templater.functions.golib import go_fields, go_lower, go_trim_space, go_upper
from carpool.templater.gofmt import sprintf
from carpool.templater.gotypes import (
    FLOAT_TYPES,
    INT_TYPES,
    UINT_TYPES,
    GoSlice,
    go_signature,
    go_type,
)


@functools.cache
def _striptags_re() -> re.Pattern[str]:
    """Compiled on first use: module-level compiles cost start-up time."""
    return re.compile(r"<[^>]*?>", re.DOTALL)


_ZERO: dict[str, Any] = {"string": "", "int": 0, "bool": False, "interface {}": None}


def _gtf(*params: str, result: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a gtf function: Go signature plus gtf's swallow-every-panic recovery."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        zero = _ZERO[result]

        @functools.wraps(fn)
        def recovered(*args: Any) -> Any:
            try:
                return fn(*args)
            except (IndexError, ValueError, ZeroDivisionError, TypeError, KeyError):
                return zero

        return go_signature(*params, result=result, returns_error=False)(recovered)

    return deco


def _is_int(v: Any) -> bool:
    return go_type(v) in INT_TYPES or go_type(v) in UINT_TYPES


def _as_float(v: Any) -> float | None:
    t = go_type(v)
    if t in INT_TYPES or t in UINT_TYPES or t in FLOAT_TYPES:
        return float(v)
    return None


def _length_of(value: Any) -> int | None:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple | dict):
        return len(value)
    return None


@_gtf("string", "string", result="string")
def replace(s1: str, s2: str) -> str:
    return s2.replace(s1, "")


@_gtf("interface {}", "interface {}", result="interface {}")
def default(arg: Any, value: Any) -> Any:
    if isinstance(value, str | list | tuple | dict):
        return arg if len(value) == 0 else value
    if isinstance(value, bool):
        return value if value else arg
    return value


@_gtf("interface {}", result="int")
def length(value: Any) -> int:
    n = _length_of(value)
    return 0 if n is None else n


@_gtf("string", result="string")
def lower(s: str) -> str:
    return go_lower(s)


@_gtf("string", result="string")
def upper(s: str) -> str:
    return go_upper(s)


@_gtf("int", "string", result="string")
def truncatechars(n: int, s: str) -> str:
    if n < 0 or n >= len(s):
        return s
    if n > 3 and len(s) > 3:
        return s[: n - 3] + "..."
    return s[:n]


@_gtf("string", result="string")
def urlencode(s: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(s, safe="")


@_gtf("string", result="int")
def wordcount(s: str) -> int:
    return len(go_fields(s))


@_gtf("interface {}", "interface {}", result="bool")
def divisibleby(arg: Any, value: Any) -> bool:
    v = _as_float(value)
    a = _as_float(arg)
    if v is None or a is None or a == 0:
        return False
    return math.fmod(v, a) == 0


@_gtf("int", "interface {}", result="bool")
def lengthis(arg: int, value: Any) -> bool:
    n = _length_of(value)
    return n is not None and n == arg


@_gtf("string", result="string")
def trim(s: str) -> str:
    return go_trim_space(s)


@_gtf("string", result="string")
def capfirst(s: str) -> str:
    # strings.ToUpper(string(s[0])) + s[1:]: the first *byte* is upper-cased
    data = s.encode("utf-8", "surrogateescape")
    first = go_upper(chr(data[0]))
    return (first.encode() + data[1:]).decode("utf-8", "replace")


@_gtf("string", "interface {}", result="string")
def pluralize(arg: str, value: Any) -> str:
    if not _is_int(value):
        return ""
    if "," not in arg:
        arg = "," + arg
    bits = arg.split(",")
    if len(bits) > 2:
        return ""
    return bits[0] if value == 1 else bits[1]


@_gtf("string", "string", "bool", result="string")
def yesno(yes: str, no: str, value: bool) -> str:
    return yes if value else no


@_gtf("int", "string", result="string")
def rjust(arg: int, value: str) -> str:
    n = arg - len(value)
    return " " * n + value if n > 0 else value


@_gtf("int", "string", result="string")
def ljust(arg: int, value: str) -> str:
    n = arg - len(value)
    return value + " " * n if n > 0 else value


@_gtf("int", "string", result="string")
def center(arg: int, value: str) -> str:
    n = arg - len(value)
    if n > 0:
        left = n // 2
        return " " * left + value + " " * (n - left)
    return value


@_gtf("interface {}", result="string")
def filesizeformat(value: Any) -> str:
    size = _as_float(value)
    if size is None:
        return ""
    units = [("bytes", 1.0), ("KB", 2.0**10), ("MB", 2.0**20), ("GB", 2.0**30), ("TB", 2.0**40)]
    for (suffix, unit), (_, bound) in zip(units, [*units[1:], ("PB", 2.0**50)], strict=True):
        if size < bound:
            return sprintf("%.1f %s", size / unit, suffix).replace(".0", "")
    return sprintf("%.1f %s", size / 2.0**50, "PB").replace(".0", "")


_AP_NAMES = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", ""]


@_gtf("interface {}", result="interface {}")
def apnumber(value: Any) -> Any:
    if _is_int(value) and value < 10:
        if value < 1:
            raise IndexError(value)  # name[v-1] panics, recovered to nil
        return _AP_NAMES[value - 1]
    return value


@_gtf("interface {}", result="string")
def intcomma(value: Any) -> str:
    if not _is_int(value):
        return ""
    x = abs(int(value))
    result = ""
    while x >= 1000:
        result = f",{x % 1000:03d}{result}"
        x //= 1000
    result = f"{x}{result}"
    return "-" + result if value < 0 else result


@_gtf("interface {}", result="string")
def ordinal(value: Any) -> str:
    if not _is_int(value) or value < 0:
        return ""
    x = int(value)
    suffixes = ["th", "st", "nd", "rd", "th", "th", "th", "th", "th", "th"]
    if x % 100 in (11, 12, 13):
        return f"{x}th"
    return f"{x}{suffixes[x % 10]}"


@_gtf("interface {}", result="interface {}")
def first(value: Any) -> Any:
    if isinstance(value, str | list | tuple):
        return value[0]
    return ""


@_gtf("interface {}", result="interface {}")
def last(value: Any) -> Any:
    if isinstance(value, str | list | tuple):
        return value[-1]
    return ""


@_gtf("string", "[]string", result="string")
def join(arg: str, value: list[str]) -> str:
    return arg.join(value)


@_gtf("int", "int", "interface {}", result="interface {}")
def slice_(start: int, end: int, value: Any) -> Any:
    start = max(start, 0)
    if isinstance(value, str):
        end = min(end, len(value))
        if start > end:
            raise IndexError(start)
        return value[start:end]
    if isinstance(value, list):
        if end > len(value) or start > end:
            raise IndexError(end)
        sliced = value[start:end]
        return GoSlice(value.elem, sliced) if isinstance(value, GoSlice) else sliced
    return ""


@_gtf("interface {}", result="interface {}")
def random(value: Any) -> Any:
    import random as _random

    if isinstance(value, str | list | tuple):
        return value[_random.randrange(len(value))]
    return ""


@go_signature("string", result="string", returns_error=False)
def striptags(s: str) -> str:
    return go_trim_space(_striptags_re().sub("", s))


def functions() -> dict[str, Callable[..., Any]]:
    """gtf's ``GtfFuncMap``."""
    return {
        "replace": replace,
        "default": default,
        "length": length,
        "lower": lower,
        "upper": upper,
        "truncatechars": truncatechars,
        "urlencode": urlencode,
        "wordcount": wordcount,
        "divisibleby": divisibleby,
        "lengthis": lengthis,
        "trim": trim,
        "capfirst": capfirst,
        "pluralize": pluralize,
        "yesno": yesno,
        "rjust": rjust,
        "ljust": ljust,
        "center": center,
        "filesizeformat": filesizeformat,
        "apnumber": apnumber,
        "intcomma": intcomma,
        "ordinal": ordinal,
        "first": first,
        "last": last,
        "join": join,
        "slice": slice_,
        "random": random,
        "striptags": striptags,
    }
