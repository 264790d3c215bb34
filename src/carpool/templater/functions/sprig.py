"""sprig v2's template functions, as dgr vendored them (``GenericFuncMap()``).

dgr pinned Masterminds/sprig at a mid-2017 commit: release 2.12 plus the functions
on master then (``regex*``, ``ceil``/``floor``/``round``).  Functions keep sprig's
Go signatures and quirks: integer math goes through ``toInt64`` and returns
``int64`` (a YAML ``3.7`` counts as ``3``), list functions take ``[]interface {}``,
``keys`` returns ``[]string``, ``split`` returns a map with keys ``_0``, ``_1``…,
``b64dec`` returns Go's error text instead of failing, and so on.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

from carpool.templater.functions import semver as _semver
from carpool.templater.functions.dgr import deep_equal, go_path_base, go_path_clean, go_path_dir
from carpool.templater.functions.golib import (
    GoPanic,
    GoTime,
    divide_by_zero,
    float_to_int64,
    go_lower,
    go_trim_space,
    go_upper,
    int64,
    json_marshal,
    slice_bounds,
    string_map,
    string_slice,
    strval,
)
from carpool.templater.gofmt import format_value
from carpool.templater.gofmt import quote as go_quote
from carpool.templater.gotypes import (
    FLOAT_TYPES,
    INT_TYPES,
    UINT_TYPES,
    GoError,
    GoSlice,
    go_signature,
    go_type,
    kind_of,
    make_int,
)

IFACE = "interface {}"


F = TypeVar("F", bound=Callable[..., Any])


def sig(
    *params: str, variadic: str | None = None, result: str = IFACE, error: bool = False
) -> Callable[[F], F]:
    """Declare a sprig function's Go signature (no error result unless ``error``)."""
    return go_signature(*params, variadic=variadic, result=result, returns_error=error)


# ------------------------------------------------------------------ conversions


@functools.cache
def _go_int_re() -> re.Pattern[str]:
    """Compiled on first use: module-level compiles cost start-up time."""
    return re.compile(r"^[+-]?[0-9]+$")


@functools.cache
def _go_float_re() -> re.Pattern[str]:
    """Compiled on first use: module-level compiles cost start-up time."""
    return re.compile(
        r"^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)$",
        re.IGNORECASE,
    )


def go_parse_int(s: str) -> int | None:
    """``strconv.ParseInt(s, 10, 64)``; ``None`` where Go returns an error."""
    if not _go_int_re().match(s):
        return None
    value = int(s)
    return value if -(2**63) <= value < 2**63 else None


def go_parse_float(s: str) -> float | None:
    """``strconv.ParseFloat(s, 64)`` for decimal input; ``None`` on error."""
    if not _go_float_re().match(s):
        return None
    value = float(s)
    if math.isinf(value) and "inf" not in s.lower():
        return None  # out of range is an error in Go
    return value


def to_int64(v: Any) -> int:
    """sprig's ``toInt64``: numbers truncate, strings parse (else 0), bools are 0/1."""
    if isinstance(v, str):
        parsed = go_parse_int(v)
        return 0 if parsed is None else parsed
    t = go_type(v)
    if t == "bool":
        return 1 if v else 0
    if t in INT_TYPES:
        return int(v)
    if t in UINT_TYPES:
        return min(int(v), 2**63 - 1)
    if t in FLOAT_TYPES:
        return float_to_int64(v)
    return 0


def to_float64(v: Any) -> float:
    """sprig's ``toFloat64``."""
    if isinstance(v, str):
        parsed = go_parse_float(v)
        return 0.0 if parsed is None else parsed
    t = go_type(v)
    if t == "bool":
        return 1.0 if v else 0.0
    if t in INT_TYPES or t in UINT_TYPES or t in FLOAT_TYPES:
        return float(v)
    return 0.0


@sig("string", result="int")
def atoi(a: str) -> int:
    parsed = go_parse_int(a)
    return 0 if parsed is None else parsed


@sig(IFACE, result="int64")
def int64_(v: Any) -> int:
    return int64(to_int64(v))


@sig(IFACE, result="int")
def int_(v: Any) -> int:
    return to_int64(v)


@sig(IFACE, result="float64")
def float64_(v: Any) -> float:
    return to_float64(v)


@sig(IFACE, result="string")
def to_string(v: Any) -> str:
    return strval(v)


def strslice(v: Any) -> GoSlice:
    """sprig's ``strslice``: a ``[]string`` of any list, or of a single value."""
    if isinstance(v, list | tuple):
        return string_slice(strval(x) for x in v)
    return string_slice([strval(v)])


# ------------------------------------------------------------------ strings


@sig("int", "string", result="string")
def abbrev(width: int, s: str) -> str:
    if width < 4:
        return s
    return _abbreviate_full(s, 0, width)


@sig("int", "int", "string", result="string")
def abbrevboth(left: int, right: int, s: str) -> str:
    if right < 4 or (left > 0 and right < 7):
        return s
    return _abbreviate_full(s, left, right)


def _abbreviate_full(s: str, offset: int, max_width: int) -> str:
    """goutils.AbbreviateFull (errors give ``""``, as sprig ignores them)."""
    if s == "" or max_width < 4:
        return ""
    if len(s) <= max_width:
        return s
    offset = min(offset, len(s))
    if len(s) - offset < max_width - 3:
        offset = len(s) - (max_width - 3)
    if offset <= 4:
        return s[: max_width - 3] + "..."
    if max_width < 7:
        return ""
    if offset + max_width - 3 < len(s):
        return "..." + _abbreviate_full(s[offset:], 0, max_width - 3)
    return "..." + s[len(s) - (max_width - 3) :]


@sig("int", "string", result="string")
def trunc(c: int, s: str) -> str:
    if len(s) <= c:
        return s
    if c < 0:
        raise slice_bounds(0, c, len(s))
    return s[:c]


def _is_go_title_separator(ch: str) -> bool:
    if ch.isascii():
        return not (ch.isalnum() or ch == "_")
    return ch.isspace()


@sig("string", result="string")
def title(s: str) -> str:
    """``strings.Title``: upper-case the first letter of every word."""
    out = []
    prev = " "
    for ch in s:
        out.append(go_upper(ch) if _is_go_title_separator(prev) else ch)
        prev = ch
    return "".join(out)


@sig("string", result="string")
def untitle(s: str) -> str:
    out = []
    next_lower = True
    for ch in s:
        if ch.isspace():
            next_lower = True
            out.append(ch)
        elif next_lower:
            out.append(go_lower(ch))
            next_lower = False
        else:
            out.append(ch)
    return "".join(out)


@sig("int", "int", "string", result="string")
def substr(start: int, end: int, s: str) -> str:
    if start < 0:
        if end < 0 or end > len(s):
            raise slice_bounds(0, end, len(s))
        return s[:end]
    if end < 0 or end > len(s):
        if start > len(s):
            raise slice_bounds(start, len(s), len(s))
        return s[start:]
    if start > end:
        raise slice_bounds(start, end, len(s))
    return s[start:end]


@sig("int", "string", result="string")
def repeat(count: int, s: str) -> str:
    if count < 0:
        raise GoPanic("strings: negative Repeat count")
    return s * count


def _go_trim(s: str, cutset: str) -> str:
    return s.strip(cutset) if cutset else s


@sig("string", result="string")
def nospace(s: str) -> str:
    return "".join(ch for ch in s if not ch.isspace())


@sig("string", result="string")
def initials(s: str) -> str:
    out = []
    gap = True
    for ch in s:
        if ch.isspace():
            gap = True
        elif gap:
            out.append(ch)
            gap = False
    return "".join(out)


# string's constants, spelt out: ``import string`` costs start-up time for three names
_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALPHA = _UPPER.lower() + _UPPER
_ALNUM = _ALPHA + _DIGITS
_ASCII = "".join(chr(c) for c in range(32, 127))


def _random_string(count: int, alphabet: str) -> str:
    import secrets

    if count < 0:
        return ""
    return "".join(secrets.choice(alphabet) for _ in range(count))


@sig("string", result="string")
def swapcase(s: str) -> str:
    # goutils.SwapCase: upper/title → lower, lower → upper (title case after a space)
    out = []
    for ch in s:
        if ch.isupper() or ch.istitle():
            out.append(go_lower(ch))
        elif ch.islower():
            out.append(go_upper(ch))
        else:
            out.append(ch)
    return "".join(out)


@sig("string", result="string")
def shuffle(s: str) -> str:
    import random

    chars = list(s)
    random.shuffle(chars)
    return "".join(chars)


@sig("string", result="string")
def snakecase(s: str) -> str:
    """xstrings.ToSnakeCase: ``HTTPServer`` → ``http_server``, ``FirstName`` → ``first_name``."""
    out: list[str] = []
    n = len(s)
    i = 0
    prev = "_"
    while i < n:
        ch = s[i]
        if ch.isupper():
            j = i
            while j < n and s[j].isupper():
                j += 1
            run = s[i:j]
            if prev != "_" and out:
                out.append("_")
            if j < n and len(run) > 1 and s[j].isalpha():
                out.append(go_lower(run[:-1]) + "_" + go_lower(run[-1]))
            else:
                out.append(go_lower(run))
            prev = run[-1]
            i = j
            continue
        if ch in " -":
            ch = "_"
        out.append(ch)
        prev = ch
        i += 1
    return "".join(out)


@sig("string", result="string")
def camelcase(s: str) -> str:
    """xstrings.ToCamelCase: ``some_words`` → ``SomeWords`` (leading ``_`` kept)."""
    i = 0
    out: list[str] = []
    while i < len(s) and s[i] == "_":
        out.append("_")
        i += 1
    rest = s[i:]
    if not rest:
        return "".join(out)
    out.append(go_upper(rest[0]))
    if len(rest) == 1:
        return "".join(out)
    r0 = rest[1]
    for ch in rest[2:]:
        r1, r0 = r0, ch
        if r1 == "_" and r0 != "_":
            r0 = go_upper(r0)
        else:
            out.append(r1)
    out.append(r0)
    return "".join(out)


def _wrap_custom(s: str, length: int, newline: str, wrap_long: bool) -> str:
    """goutils.WrapCustom."""
    if s == "":
        return ""
    if newline == "":
        newline = "\n"
    length = max(length, 1)
    out: list[str] = []
    offset = 0
    n = len(s)
    while n - offset > length:
        if s[offset] == " ":
            offset += 1
            continue
        end = length + offset + 1
        space = s.rfind(" ", offset, end)
        if space >= offset:
            out.append(s[offset:space] + newline)
            offset = space + 1
        elif wrap_long:
            out.append(s[offset : offset + length] + newline)
            offset += length
        else:
            space = s.find(" ", offset + length)
            if space >= 0:
                out.append(s[offset:space] + newline)
                offset = space + 1
            else:
                out.append(s[offset:])
                offset = n
    out.append(s[offset:])
    return "".join(out)


@sig(variadic=IFACE, result="string")
def quote(*items: Any) -> str:
    return " ".join(go_quote(strval(s)) for s in items)


@sig(variadic=IFACE, result="string")
def squote(*items: Any) -> str:
    return " ".join(f"'{format_value(s)}'" for s in items)


@sig(variadic=IFACE, result="string")
def cat(*items: Any) -> str:
    return " ".join(format_value(s) for s in items)


@sig("int", "string", result="string")
def indent(spaces: int, v: str) -> str:
    pad = " " * max(spaces, 0)
    if spaces < 0:
        raise GoPanic("strings: negative Repeat count")
    return pad + v.replace("\n", "\n" + pad)


@sig("string", "string", "int", result="string")
def plural(one: str, many: str, count: int) -> str:
    return one if count == 1 else many


@sig("string", "string", result="map[string]string")
def split(sep: str, orig: str) -> Any:
    parts = list(orig) if sep == "" else orig.split(sep)
    return string_map((f"_{i}", p) for i, p in enumerate(parts))


@sig("int", result="[]int")
def until(count: int) -> GoSlice:
    return until_step(0, count, 1 if count >= 0 else -1)


@sig("int", "int", "int", result="[]int")
def until_step(start: int, stop: int, step: int) -> GoSlice:
    if stop < start:
        values = list(range(start, stop, step)) if step < 0 else []
    else:
        values = list(range(start, stop, step)) if step > 0 else []
    return GoSlice("int", values)


# ------------------------------------------------------------------ math (int64)


def _i64(value: int) -> int:
    return int64(value)


@sig(variadic=IFACE, result="int64")
def add(*items: Any) -> int:
    return _i64(sum(to_int64(b) for b in items))


@sig(IFACE, "interface {}", result="int64")
def sub(a: Any, b: Any) -> int:
    return _i64(to_int64(a) - to_int64(b))


def _quo64(x: int, y: int) -> int:
    if y == 0:
        raise divide_by_zero()
    if x == -(2**63) and y == -1:
        return x
    q = abs(x) // abs(y)
    return q if (x >= 0) == (y >= 0) else -q


@sig(IFACE, IFACE, result="int64")
def div(a: Any, b: Any) -> int:
    return _i64(_quo64(to_int64(a), to_int64(b)))


@sig(IFACE, IFACE, result="int64")
def mod(a: Any, b: Any) -> int:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise divide_by_zero()
    return _i64(x - _quo64(x, y) * y)


@sig(IFACE, variadic=IFACE, result="int64")
def mul(a: Any, *v: Any) -> int:
    val = to_int64(a)
    for b in v:
        val = make_int("int64", val * to_int64(b))
    return _i64(val)


@sig(IFACE, result="int64")
def add1(i: Any) -> int:
    return _i64(to_int64(i) + 1)


@sig(IFACE, variadic=IFACE, result="int64")
def max_(a: Any, *i: Any) -> int:
    return _i64(max([to_int64(a), *(to_int64(b) for b in i)]))


@sig(IFACE, variadic=IFACE, result="int64")
def min_(a: Any, *i: Any) -> int:
    return _i64(min([to_int64(a), *(to_int64(b) for b in i)]))


@sig(IFACE, result="float64")
def ceil(a: Any) -> float:
    return float(math.ceil(to_float64(a))) if math.isfinite(to_float64(a)) else to_float64(a)


@sig(IFACE, result="float64")
def floor(a: Any) -> float:
    return float(math.floor(to_float64(a))) if math.isfinite(to_float64(a)) else to_float64(a)


@sig(IFACE, "int", variadic="float64", result="float64")
def round_(a: Any, p: int, *r_opt: float) -> float:
    round_on = r_opt[0] if r_opt else 0.5
    val = to_float64(a)
    pow_ = math.pow(10, float(p))
    digit = pow_ * val
    frac = math.modf(digit)[0]
    rounded = math.ceil(digit) if frac >= round_on else math.floor(digit)
    return rounded / pow_


# ------------------------------------------------------------------ defaults


def empty(given: Any) -> bool:
    """sprig's ``empty``: the zero value of its type (nil, 0, "", false, empty list/map)."""
    if given is None:
        return True
    if isinstance(given, str | list | tuple | dict):
        return len(given) == 0
    if isinstance(given, bool):
        return not given
    if isinstance(given, int | float):
        return given == 0
    return False


@sig(IFACE, variadic=IFACE)
def default(d: Any, *given: Any) -> Any:
    if empty(list(given)) or empty(given[0]):
        return d
    return given[0]


@sig(variadic=IFACE)
def coalesce(*v: Any) -> Any:
    for val in v:
        if not empty(val):
            return val
    return None


@sig(IFACE, result="string")
def to_json(v: Any) -> str:
    try:
        return json_marshal(v)
    except GoError:
        return ""


@sig(IFACE, result="string")
def to_pretty_json(v: Any) -> str:
    try:
        return json_marshal(v, "  ")
    except GoError:
        return ""


# ------------------------------------------------------------------ reflection


def _type_string(v: Any) -> str:
    t = go_type(v)
    return "<nil>" if t is None else t


@sig(IFACE, result="string")
def type_of(src: Any) -> str:
    return _type_string(src)


@sig("string", IFACE, result="bool")
def type_is(target: str, src: Any) -> bool:
    return target == _type_string(src)


@sig("string", IFACE, result="bool")
def type_is_like(target: str, src: Any) -> bool:
    t = _type_string(src)
    return target in (t, "*" + t) or "*" + target == t


@sig(IFACE, result="string")
def kind_of_(src: Any) -> str:
    return kind_of(go_type(src))


@sig("string", IFACE, result="bool")
def kind_is(target: str, src: Any) -> bool:
    return target == kind_of(go_type(src))


# ------------------------------------------------------------------ OS


@sig("string", result="string")
def env(name: str) -> str:
    return os.environ.get(name, "")


@functools.cache
def _env_name_re() -> re.Pattern[str]:
    """Compiled on first use: module-level compiles cost start-up time."""
    return re.compile(r"[A-Za-z0-9_]+")


def _shell_special(ch: str) -> bool:
    return ch in "*#$@!?-" or ch.isdigit()


@sig("string", result="string")
def expandenv(s: str) -> str:
    """``os.ExpandEnv``: ``$VAR`` and ``${VAR}``; unset variables expand to ``""``."""
    out: list[str] = []
    i = 0
    n = len(s)
    while i < n:
        ch = s[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = s[i + 1]
        if nxt == "{":
            close = s.find("}", i + 2)
            if close < 0:  # bad syntax: Go drops "${" and the rest is the name
                i = n
                continue
            name = s[i + 2 : close]
            out.append(os.environ.get(name, "") if name else "")
            i = close + 1
        elif _shell_special(nxt):
            out.append(os.environ.get(nxt, ""))
            i += 2
        else:
            m = _env_name_re().match(s, i + 1)
            if m is None:
                out.append("$")
                i += 1
            else:
                out.append(os.environ.get(m.group(), ""))
                i = m.end()
    return "".join(out)


# ------------------------------------------------------------------ paths


@sig("string", result="string")
def path_ext(path: str) -> str:
    for i in range(len(path) - 1, -1, -1):
        if path[i] == "/":
            break
        if path[i] == ".":
            return path[i:]
    return ""


# ------------------------------------------------------------------ encoding


def _go_base64_error(exc: Exception, data: str, alphabet: str) -> str:
    for i, ch in enumerate(data):
        if ch not in alphabet and ch != "=":
            return f"illegal base64 data at input byte {i}"
    return f"illegal base64 data at input byte {len(data.rstrip('='))}"


@sig("string", result="string")
def b64enc(v: str) -> str:
    import base64

    return base64.b64encode(v.encode()).decode()


@sig("string", result="string")
def b64dec(v: str) -> str:
    import base64
    import binascii

    try:
        return base64.b64decode(v.encode(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError) as exc:
        return _go_base64_error(exc, v, _ALNUM + "+/")


@sig("string", result="string")
def b32enc(v: str) -> str:
    import base64

    return base64.b32encode(v.encode()).decode()


@sig("string", result="string")
def b32dec(v: str) -> str:
    import base64
    import binascii

    try:
        return base64.b32decode(v.encode()).decode("utf-8", "replace")
    except (binascii.Error, ValueError) as exc:
        return _go_base64_error(exc, v, _UPPER + "234567").replace("base64", "base32")


# ------------------------------------------------------------------ lists and dicts


@sig(variadic=IFACE, result="[]interface {}")
def list_(*v: Any) -> list[Any]:
    return list(v)


@sig(variadic=IFACE, result="map[string]interface {}")
def dict_(*v: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(v), 2):
        key = strval(v[i])
        out[key] = v[i + 1] if i + 1 < len(v) else ""
    return out


_MAP = "map[string]interface {}"
_LIST = "[]interface {}"


@sig(_MAP, "string", IFACE, result=_MAP)
def set_(d: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    d[key] = value
    return d


@sig(_MAP, "string", result=_MAP)
def unset(d: dict[str, Any], key: str) -> dict[str, Any]:
    d.pop(key, None)
    return d


@sig(_MAP, "string", result="bool")
def has_key(d: dict[str, Any], key: str) -> bool:
    return key in d


@sig("string", variadic=_MAP, result=_LIST)
def pluck(key: str, *dicts: dict[str, Any]) -> list[Any]:
    return [d[key] for d in dicts if d is not None and key in d]


@sig(_MAP, result="[]string")
def keys(d: dict[str, Any]) -> GoSlice:
    return string_slice(list(d or {}))


@sig(_MAP, variadic="string", result=_MAP)
def pick(d: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: d[k] for k in names if d is not None and k in d}


@sig(_MAP, variadic="string", result=_MAP)
def omit(d: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in (d or {}).items() if k not in names}


def _mergo(dst: dict[str, Any], src: dict[str, Any]) -> None:
    """mergo.Merge without overwrite: fill keys ``dst`` lacks with non-empty ``src`` values."""
    filling = not dst
    for key, value in src.items():
        current = dst.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _mergo(current, value)
        if not empty(value) and (key not in dst or filling):
            dst[key] = value


@sig(_MAP, _MAP)
def merge(dst: dict[str, Any], src: dict[str, Any]) -> Any:
    if dst is None:
        return ""
    _mergo(dst, src or {})
    return dst


@sig(_LIST, IFACE, result=_LIST)
def push(items: list[Any], v: Any) -> list[Any]:
    return [*(items or []), v]


@sig(_LIST, IFACE, result=_LIST)
def prepend(items: list[Any], v: Any) -> list[Any]:
    return [v, *(items or [])]


@sig(_LIST)
def first(items: list[Any]) -> Any:
    return items[0] if items else None


@sig(_LIST)
def last(items: list[Any]) -> Any:
    return items[-1] if items else None


@sig(_LIST, result=_LIST)
def rest(items: list[Any]) -> list[Any]:
    return list(items[1:]) if items else items


@sig(_LIST, result=_LIST)
def initial(items: list[Any]) -> list[Any]:
    return list(items[:-1]) if items else items


@sig(IFACE, result="[]string")
def sort_alpha(items: Any) -> GoSlice:
    if isinstance(items, list | tuple):
        return string_slice(sorted(strslice(items), key=lambda s: s.encode("utf-8", "replace")))
    return string_slice([strval(items)])


@sig(_LIST, result=_LIST)
def reverse(items: list[Any]) -> list[Any]:
    return list(reversed(items or []))


@sig(_LIST, result=_LIST)
def compact(items: list[Any]) -> list[Any]:
    return [x for x in items or [] if not empty(x)]


def _in_list(haystack: list[Any], needle: Any) -> bool:
    return any(deep_equal(needle, h) for h in haystack)


@sig(_LIST, result=_LIST)
def uniq(items: list[Any]) -> list[Any]:
    dest: list[Any] = []
    for item in items or []:
        if not _in_list(dest, item):
            dest.append(item)
    return dest


@sig(_LIST, variadic=IFACE, result=_LIST)
def without(items: list[Any], *omit_values: Any) -> list[Any]:
    return [x for x in items or [] if not _in_list(list(omit_values), x)]


@sig(IFACE, _LIST, result="bool")
def has(needle: Any, haystack: list[Any]) -> bool:
    return _in_list(haystack or [], needle)


# ------------------------------------------------------------------ crypto, uuid


@sig("string", result="string")
def sha256sum(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


_PASSWORD_TEMPLATES: dict[str, list[str]] = {
    "maximum": ["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
    "long": [
        "CvcvnoCvcvCvcv",
        "CvcvCvcvnoCvcv",
        "CvcvCvcvCvcvno",
        "CvccnoCvcvCvcv",
        "CvccCvcvnoCvcv",
        "CvccCvcvCvcvno",
        "CvcvnoCvccCvcv",
        "CvcvCvccnoCvcv",
        "CvcvCvccCvcvno",
        "CvcvnoCvcvCvcc",
        "CvcvCvcvnoCvcc",
        "CvcvCvcvCvccno",
        "CvccnoCvccCvcv",
        "CvccCvccnoCvcv",
        "CvccCvccCvcvno",
        "CvcvnoCvccCvcc",
        "CvcvCvccnoCvcc",
        "CvcvCvccCvccno",
        "CvccnoCvcvCvcc",
        "CvccCvcvnoCvcc",
        "CvccCvcvCvccno",
    ],
    "medium": ["CvcnoCvc", "CvcCvcno"],
    "short": ["Cvcn"],
    "basic": ["aaanaaan", "aannaaan", "aaannaaa"],
    "pin": ["nnnn"],
}
_PASSWORD_CHARS = {
    "V": "AEIOU",
    "C": "BCDFGHJKLMNPQRSTVWXYZ",
    "v": "aeiou",
    "c": "bcdfghjklmnpqrstvwxyz",
    "A": "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
    "a": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
    "n": "0123456789",
    "o": "@&%?,=[]_:-+*$#!'^~;()/.",
    "x": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
}
_MASTER_SEED = b"com.lyndir.masterpassword"


@sig("uint32", "string", "string", "string", "string", result="string")
def derive_password(counter: int, password_type: str, password: str, user: str, site: str) -> str:
    """Master Password algorithm (scrypt N=32768 r=8 p=2), as sprig implements it."""
    import hashlib
    import hmac
    import struct

    templates = _PASSWORD_TEMPLATES.get(password_type)
    if templates is None:
        return f"cannot find password template {password_type}"
    user_b = user.encode()
    salt = _MASTER_SEED + struct.pack(">I", len(user_b)) + user_b
    key = hashlib.scrypt(
        password.encode(), salt=salt, n=32768, r=8, p=2, dklen=64, maxmem=128 * 1024 * 1024
    )
    site_b = site.encode()
    message = _MASTER_SEED + struct.pack(">I", len(site_b)) + site_b + struct.pack(">I", counter)
    seed = hmac.new(key, message, hashlib.sha256).digest()
    template = templates[seed[0] % len(templates)]
    return "".join(
        _PASSWORD_CHARS[c][seed[i + 1] % len(_PASSWORD_CHARS[c])] for i, c in enumerate(template)
    )


@sig("string", result="string")
def gen_private_key(typ: str) -> str:
    """A PEM private key (``rsa`` 4096 by default, ``ecdsa`` P-256, ``dsa`` 2048) via openssl."""
    import subprocess

    commands = {
        "": ["openssl", "genrsa", "-traditional", "4096"],
        "rsa": ["openssl", "genrsa", "-traditional", "4096"],
        "ecdsa": ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout"],
        "dsa": ["sh", "-c", "openssl dsaparam -genkey -noout 2048 | openssl dsa -traditional"],
    }
    command = commands.get(typ)
    if command is None:
        return "Unknown type " + typ
    try:
        proc = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"failed to generate private key: {exc}"
    return proc.stdout


@sig(result="string")
def uuidv4() -> str:
    import uuid

    return str(uuid.uuid4())


# ------------------------------------------------------------------ regex (Go RE2 syntax)


def _compile(regex: str) -> re.Pattern[str]:
    try:
        return re.compile(regex)
    except re.error as exc:
        raise GoPanic(
            f"regexp: Compile({go_quote(regex)}): error parsing regexp: {exc.msg}"
        ) from None


def _go_matches(pattern: re.Pattern[str], s: str, n: int) -> list[re.Match[str]]:
    """Matches as Go's ``FindAll`` finds them: an empty match right after a match is skipped."""
    if n == 0:
        return []
    found: list[re.Match[str]] = []
    prev_end = -1
    for m in pattern.finditer(s):
        if m.start() == m.end() and m.start() == prev_end:
            continue
        found.append(m)
        prev_end = m.end()
        if 0 < n <= len(found):
            break
    return found


@sig("string", "string", result="bool")
def regex_match(regex: str, s: str) -> bool:
    try:
        return re.search(regex, s) is not None
    except re.error:
        return False


@sig("string", "string", "int", result="[]string")
def regex_find_all(regex: str, s: str, n: int) -> Any:
    matches = _go_matches(_compile(regex), s, n)
    return string_slice(m.group() for m in matches) if matches else None


@sig("string", "string", result="string")
def regex_find(regex: str, s: str) -> str:
    m = _compile(regex).search(s)
    return m.group() if m else ""


@functools.cache
def _go_expand_re() -> re.Pattern[str]:
    """Compiled on first use: module-level compiles cost start-up time."""
    return re.compile(r"\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


def _expand(template: str, m: re.Match[str]) -> str:
    def group(g: re.Match[str]) -> str:
        if g.group() == "$$":
            return "$"
        name = g.group(1) or g.group(2)
        try:
            value = m.group(int(name)) if name.isdigit() else m.group(name)
        except (IndexError, re.error):
            return ""
        return value or ""

    return _go_expand_re().sub(group, template)


def _replace_all(regex: str, s: str, repl: Callable[[re.Match[str]], str]) -> str:
    pattern = _compile(regex)
    out: list[str] = []
    last_end = 0
    for m in _go_matches(pattern, s, -1):
        out.append(s[last_end : m.start()])
        out.append(repl(m))
        last_end = m.end()
    out.append(s[last_end:])
    return "".join(out)


@sig("string", "string", "string", result="string")
def regex_replace_all(regex: str, s: str, repl: str) -> str:
    return _replace_all(regex, s, lambda m: _expand(repl, m))


@sig("string", "string", "string", result="string")
def regex_replace_all_literal(regex: str, s: str, repl: str) -> str:
    return _replace_all(regex, s, lambda m: repl)


@sig("string", "string", "int", result="[]string")
def regex_split(regex: str, s: str, n: int) -> Any:
    if n == 0:
        return None
    pattern = _compile(regex)
    if regex and s == "":
        return string_slice([""])
    pieces: list[str] = []
    beg = end = 0
    for m in _go_matches(pattern, s, n):
        if n > 0 and len(pieces) == n - 1:
            break
        end = m.start()
        if m.end() != 0:
            pieces.append(s[beg:end])
        beg = m.end()
    if end != len(s):
        pieces.append(s[beg:])
    return string_slice(pieces)


# ------------------------------------------------------------------ dates


def _load_zone(zone: str) -> Any:
    import datetime as _dt
    import zoneinfo

    if zone == "Local":
        return _dt.datetime.now().astimezone().tzinfo
    if zone in ("", "UTC"):
        return _dt.UTC
    try:
        return zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return _dt.UTC


def _as_time(date: Any) -> GoTime:
    import datetime as _dt

    if isinstance(date, GoTime):
        return date
    if go_type(date) in ("int", "int64", "int32"):
        return GoTime(_dt.datetime.fromtimestamp(int(date), _dt.UTC))
    return GoTime.now()


@sig("string", IFACE, "string", result="string")
def date_in_zone(fmt: str, date: Any, zone: str) -> str:
    t = _as_time(date)
    return t.format_in(fmt, _load_zone(zone))


@sig("string", IFACE, result="string")
def date(fmt: str, date: Any) -> str:
    return date_in_zone(fmt, date, "Local")


@sig(IFACE, result="string")
def html_date(date: Any) -> str:
    return date_in_zone("2006-01-02", date, "Local")


@sig(IFACE, "string", result="string")
def html_date_in_zone(date: Any, zone: str) -> str:
    return date_in_zone("2006-01-02", date, zone)


@functools.cache
def _duration_re() -> re.Pattern[str]:
    """Compiled on first use: module-level compiles cost start-up time."""
    return re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> float | None:
    """``time.ParseDuration`` in seconds, ``None`` when Go would fail."""
    sign = 1
    body = text
    if body[:1] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        return None
    total = 0.0
    pos = 0
    for m in _duration_re().finditer(body):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return sign * total if pos == len(body) and pos else None


@sig("string", "time.Time", result="time.Time")
def date_modify(fmt: str, date: GoTime) -> GoTime:
    import datetime as _dt

    seconds = parse_duration(fmt)
    if seconds is None:
        return date
    return GoTime(date.dt + _dt.timedelta(seconds=seconds))


@sig(result="time.Time")
def now() -> GoTime:
    return GoTime.now()


# ------------------------------------------------------------------ the map


def _s(fn: Callable[..., Any], *params: str, result: str = "string") -> Callable[..., Any]:
    return sig(*params, result=result)(fn)


def functions() -> dict[str, Callable[..., Any]]:
    """sprig's ``GenericFuncMap()`` as dgr vendored it."""
    return {
        "hello": _s(lambda: "Hello!"),
        # dates
        "date": date,
        "date_in_zone": date_in_zone,
        "date_modify": date_modify,
        "now": now,
        "htmlDate": html_date,
        "htmlDateInZone": html_date_in_zone,
        "dateInZone": date_in_zone,
        "dateModify": date_modify,
        # strings
        "abbrev": abbrev,
        "abbrevboth": abbrevboth,
        "trunc": trunc,
        "trim": _s(go_trim_space, "string"),
        "upper": _s(go_upper, "string"),
        "lower": _s(go_lower, "string"),
        "title": title,
        "untitle": untitle,
        "substr": substr,
        "repeat": repeat,
        "trimall": _s(lambda a, b: _go_trim(b, a), "string", "string"),
        "trimAll": _s(lambda a, b: _go_trim(b, a), "string", "string"),
        "trimSuffix": _s(
            lambda a, b: b[: -len(a)] if a and b.endswith(a) else b, "string", "string"
        ),
        "trimPrefix": _s(lambda a, b: b[len(a) :] if b.startswith(a) else b, "string", "string"),
        "nospace": nospace,
        "initials": initials,
        "randAlphaNum": _s(lambda n: _random_string(n, _ALNUM), "int"),
        "randAlpha": _s(lambda n: _random_string(n, _ALPHA), "int"),
        "randAscii": _s(lambda n: _random_string(n, _ASCII), "int"),
        "randNumeric": _s(lambda n: _random_string(n, _DIGITS), "int"),
        "swapcase": swapcase,
        "shuffle": shuffle,
        "snakecase": snakecase,
        "camelcase": camelcase,
        "wrap": _s(lambda n, s: _wrap_custom(s, n, "", False), "int", "string"),
        "wrapWith": _s(lambda n, sep, s: _wrap_custom(s, n, sep, True), "int", "string", "string"),
        "contains": _s(lambda sub, s: sub in s, "string", "string", result="bool"),
        "hasPrefix": _s(lambda sub, s: s.startswith(sub), "string", "string", result="bool"),
        "hasSuffix": _s(lambda sub, s: s.endswith(sub), "string", "string", result="bool"),
        "quote": quote,
        "squote": squote,
        "cat": cat,
        "indent": indent,
        "replace": _s(lambda old, new, src: src.replace(old, new), "string", "string", "string"),
        "plural": plural,
        "sha256sum": sha256sum,
        "toString": to_string,
        # conversions
        "atoi": atoi,
        "int64": int64_,
        "int": int_,
        "float64": float64_,
        # lists of strings
        "split": split,
        "splitList": _s(
            lambda sep, orig: string_slice(list(orig) if sep == "" else orig.split(sep)),
            "string",
            "string",
            result="[]string",
        ),
        "toStrings": _s(strslice, IFACE, result="[]string"),
        "until": until,
        "untilStep": until_step,
        # math
        "add1": add1,
        "add": add,
        "sub": sub,
        "div": div,
        "mod": mod,
        "mul": mul,
        "biggest": max_,
        "max": max_,
        "min": min_,
        "ceil": ceil,
        "floor": floor,
        "round": round_,
        "join": _s(lambda sep, v: sep.join(strslice(v) if v is not None else []), "string", IFACE),
        "sortAlpha": sort_alpha,
        # defaults
        "default": default,
        "empty": _s(empty, IFACE, result="bool"),
        "coalesce": coalesce,
        "compact": compact,
        "toJson": to_json,
        "toPrettyJson": to_pretty_json,
        # reflection
        "typeOf": type_of,
        "typeIs": type_is,
        "typeIsLike": type_is_like,
        "kindOf": kind_of_,
        "kindIs": kind_is,
        # OS
        "env": env,
        "expandenv": expandenv,
        # paths
        "base": _s(go_path_base, "string"),
        "dir": _s(go_path_dir, "string"),
        "clean": _s(go_path_clean, "string"),
        "ext": path_ext,
        "isAbs": _s(lambda p: p.startswith("/"), "string", result="bool"),
        # encoding
        "b64enc": b64enc,
        "b64dec": b64dec,
        "b32enc": b32enc,
        "b32dec": b32dec,
        # data structures
        "tuple": list_,
        "list": list_,
        "dict": dict_,
        "set": set_,
        "unset": unset,
        "hasKey": has_key,
        "pluck": pluck,
        "keys": keys,
        "pick": pick,
        "omit": omit,
        "merge": merge,
        "append": push,
        "push": push,
        "prepend": prepend,
        "first": first,
        "rest": rest,
        "last": last,
        "initial": initial,
        "reverse": reverse,
        "uniq": uniq,
        "without": without,
        "has": has,
        # crypto
        "genPrivateKey": gen_private_key,
        "derivePassword": derive_password,
        # uuid
        "uuidv4": uuidv4,
        # semver
        "semver": _semver.semver,
        "semverCompare": _semver.semver_compare,
        # flow control
        "fail": sig("string", result="string", error=True)(_fail),
        # regex
        "regexMatch": regex_match,
        "regexFindAll": regex_find_all,
        "regexFind": regex_find,
        "regexReplaceAll": regex_replace_all,
        "regexReplaceAllLiteral": regex_replace_all_literal,
        "regexSplit": regex_split,
    }


def _fail(msg: str) -> str:
    raise GoError(msg)
