"""Pieces of Go's standard library the template functions need to behave like Go.

Integer arithmetic (truncating division, wrap-around), ``encoding/json``'s output,
``gopkg.in/yaml.v2``'s ``Marshal``, ``time.Time`` with Go layouts, and the panics
Go functions raise — each as small as the functions using it require.
"""

from __future__ import annotations

import functools
import math
import re
import time as _time
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from carpool.templater.gofmt import format_float, format_value
from carpool.templater.gotypes import GoError, GoMap, GoSlice, Int64, go_signature, make_int

if TYPE_CHECKING:  # datetime costs ~1.5 ms to import; only time functions need it
    import datetime as _dt

# ------------------------------------------------------------------ panics


class GoPanic(GoError):
    """A Go runtime panic inside a function (text/template reports it as the call's error)."""


def divide_by_zero() -> GoPanic:
    return GoPanic("runtime error: integer divide by zero")


def index_out_of_range(index: int, length: int) -> GoPanic:
    return GoPanic(f"runtime error: index out of range [{index}] with length {length}")


def slice_bounds(low: int, high: int, cap: int) -> GoPanic:
    if high > cap or high < 0:
        return GoPanic(f"runtime error: slice bounds out of range [:{high}] with length {cap}")
    return GoPanic(f"runtime error: slice bounds out of range [{low}:{high}]")


NIL_DEREFERENCE = "runtime error: invalid memory address or nil pointer dereference"


# ------------------------------------------------------------------ integers


def int64(value: int) -> int:
    return make_int("int64", value)


def go_int(value: int) -> int:
    """Wrap to Go's 64-bit ``int``."""
    return make_int("int", value)


def quo(x: int, y: int) -> int:
    """Go's ``x / y`` on integers: truncated toward zero, panics on zero."""
    if y == 0:
        raise divide_by_zero()
    q = abs(x) // abs(y)
    return q if (x >= 0) == (y >= 0) else -q


def rem(x: int, y: int) -> int:
    """Go's ``x % y`` on integers: the sign follows the dividend."""
    if y == 0:
        raise divide_by_zero()
    return x - quo(x, y) * y


def float_to_int64(f: float) -> int:
    """Go's ``int64(f)`` conversion on amd64 (out of range gives the minimum int64)."""
    if math.isnan(f) or math.isinf(f) or not -(2.0**63) <= f < 2.0**63:
        return -(2**63)
    return int(f)


# ------------------------------------------------------------------ strings


def strval(v: Any) -> str:
    """sprig's ``strval``: strings as is, errors and Stringers by their text, else ``%v``."""
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return format_value(v)


def string_slice(items: Any) -> GoSlice:
    return GoSlice("string", items)


def is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


# ------------------------------------------------------------------ encoding/json

_JSON_HEX = "0123456789abcdef"


def _json_string(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch in "<>&" or o < 0x20:
            if ch == "\n":
                out.append("\\n")
            elif ch == "\r":
                out.append("\\r")
            elif ch == "\t":
                out.append("\\t")
            else:
                out.append("\\u00" + _JSON_HEX[o >> 4] + _JSON_HEX[o & 0xF])
        elif o in (0x2028, 0x2029):
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _json_float(f: float, bits: int = 64) -> str:
    if math.isnan(f) or math.isinf(f):
        raise GoError("json: unsupported value: " + format_float(f, "g", -1, bits))
    a = abs(f)
    fmt = "f"
    if a != 0 and (a < 1e-6 or a >= 1e21):
        fmt = "e"
    s = format_float(f, fmt, -1, bits)
    if fmt == "e":
        n = len(s)
        if n >= 4 and s[n - 4] == "e" and s[n - 3] == "-" and s[n - 2] == "0":
            s = s[: n - 2] + s[n - 1 :]
    return s


def json_marshal(v: Any, indent: str = "") -> str:
    """``json.Marshal`` (or ``MarshalIndent(v, "", indent)``) of a template value."""
    out: list[str] = []
    _json_encode(v, out, indent, 0)
    return "".join(out)


def _json_encode(v: Any, out: list[str], indent: str, depth: int) -> None:
    if v is None:
        out.append("null")
    elif isinstance(v, bool):
        out.append("true" if v else "false")
    elif isinstance(v, int):
        out.append(str(int(v)))
    elif isinstance(v, float):
        out.append(_json_float(v, 32 if getattr(v, "go_type", "") == "float32" else 64))
    elif isinstance(v, str):
        out.append(_json_string(v))
    elif isinstance(v, dict):
        if not v:
            out.append("{}")
            return
        keys = sorted(v, key=lambda k: strval(k).encode("utf-8", "surrogatepass"))
        out.append("{")
        for n, key in enumerate(keys):
            if n:
                out.append(",")
            if indent:
                out.append("\n" + indent * (depth + 1))
            out.append(_json_string(strval(key)))
            out.append(": " if indent else ":")
            _json_encode(v[key], out, indent, depth + 1)
        if indent:
            out.append("\n" + indent * depth)
        out.append("}")
    elif isinstance(v, list | tuple):
        if not v:
            out.append("[]")
            return
        out.append("[")
        for n, item in enumerate(v):
            if n:
                out.append(",")
            if indent:
                out.append("\n" + indent * (depth + 1))
            _json_encode(item, out, indent, depth + 1)
        if indent:
            out.append("\n" + indent * depth)
        out.append("]")
    elif isinstance(v, GoTime):
        out.append(_json_string(v.format("2006-01-02T15:04:05.999999999Z07:00")))
    elif hasattr(v, "go_json"):
        _json_encode(v.go_json(), out, indent, depth)
    elif callable(v):
        raise GoError(f"json: unsupported type: {type(v).__name__}")
    else:
        out.append("{}")  # a struct without exported fields


# ------------------------------------------------------------------ yaml.v2 Marshal


def _yaml_key_less(a: Any, b: Any) -> bool:
    """yaml.v2's ``keyList.Less``: numbers first, then strings in "natural" order."""
    an = isinstance(a, int | float) and not isinstance(a, bool)
    bn = isinstance(b, int | float) and not isinstance(b, bool)
    if an and bn:
        return bool(a < b)
    if an != bn:
        return an
    if not isinstance(a, str) or not isinstance(b, str):
        return str(a) < str(b)
    ar, br = a, b
    for i in range(min(len(ar), len(br))):
        if ar[i] == br[i]:
            continue
        al, bl = is_letter(ar[i]), is_letter(br[i])
        if al and bl:
            return ar[i] < br[i]
        if al or bl:
            return bl
        an_val = bn_val = 0
        if ar[i] == "0" or br[i] == "0":
            j = i - 1
            while j >= 0 and ar[j].isdigit():
                if ar[j] != "0":
                    an_val = bn_val = 1
                    break
                j -= 1
        ai = i
        while ai < len(ar) and ar[ai].isdigit():
            an_val = an_val * 10 + int(ar[ai])
            ai += 1
        bi = i
        while bi < len(br) and br[bi].isdigit():
            bn_val = bn_val * 10 + int(br[bi])
            bi += 1
        if an_val != bn_val:
            return an_val < bn_val
        if ai != bi:
            return ai < bi
        return ar[i] < br[i]
    return len(ar) < len(br)


def _yaml_key_cmp(a: Any, b: Any) -> int:
    if _yaml_key_less(a, b):
        return -1
    if _yaml_key_less(b, a):
        return 1
    return 0


def _yaml_float(f: float) -> str:
    if math.isinf(f):
        return ".inf" if f > 0 else "-.inf"
    if math.isnan(f):
        return ".nan"
    return format_float(f, "g", -1, 64)


@functools.cache
def _base60_re() -> re.Pattern[str]:
    """Compiled on first use: module-level compiles cost start-up time."""
    return re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


@functools.cache
def _yaml_dumper() -> Any:
    """A PyYAML dumper that writes what yaml.v2's ``Marshal`` writes."""
    import yaml

    from carpool.templater.yamlgo import GoYamlLoader

    class GoYamlDumper(yaml.SafeDumper):
        pass

    GoYamlDumper.yaml_implicit_resolvers = GoYamlLoader.yaml_implicit_resolvers

    def rep_str(dumper: Any, data: str) -> Any:
        text = str(data)
        node = yaml.ScalarNode("tag:yaml.org,2002:str", text)
        # yaml.v2 double-quotes a string that would read back as something else
        resolved = dumper.resolve(yaml.ScalarNode, text, (True, False))
        if resolved != "tag:yaml.org,2002:str" or _base60_re().match(text):
            node.style = '"'
        return node

    def rep_float(dumper: Any, data: float) -> Any:
        text = _yaml_float(data)  # yaml.v2 writes %g: 2.0 is "2", read back as an int
        return dumper.represent_scalar(dumper.resolve(yaml.ScalarNode, text, (True, False)), text)

    def rep_int(dumper: Any, data: int) -> Any:
        return dumper.represent_scalar("tag:yaml.org,2002:int", str(int(data)))

    def rep_dict(dumper: Any, data: dict[Any, Any]) -> Any:
        keys = sorted(data, key=functools.cmp_to_key(_yaml_key_cmp))
        return dumper.represent_mapping(
            "tag:yaml.org,2002:map", [(k, data[k]) for k in keys], flow_style=False
        )

    def rep_list(dumper: Any, data: list[Any]) -> Any:
        return dumper.represent_sequence("tag:yaml.org,2002:seq", list(data), flow_style=False)

    def rep_other(dumper: Any, data: Any) -> Any:
        if isinstance(data, GoTime):
            return dumper.represent_scalar(
                "tag:yaml.org,2002:str", data.format("2006-01-02T15:04:05.999999999Z07:00")
            )
        return dumper.represent_mapping("tag:yaml.org,2002:map", [], flow_style=True)

    representers: list[tuple[type, Any]] = [
        (str, rep_str),
        (float, rep_float),
        (int, rep_int),
        (dict, rep_dict),
        (list, rep_list),
    ]
    for exact, rep in representers:
        GoYamlDumper.add_representer(exact, rep)
        GoYamlDumper.add_multi_representer(exact, rep)
    GoYamlDumper.add_representer(bool, yaml.SafeDumper.represent_bool)
    GoYamlDumper.add_multi_representer(object, rep_other)
    GoYamlDumper.add_representer(type(None), yaml.SafeDumper.represent_none)
    return GoYamlDumper


def yaml_marshal(v: Any) -> str:
    """``yaml.Marshal`` of yaml.v2: sorted keys, block style, Go number formats."""
    import yaml

    if v is None:
        return "null\n"
    if isinstance(v, dict) and not v:
        return "{}\n"
    if isinstance(v, list) and not v:
        return "[]\n"
    text: str = yaml.dump(
        v,
        Dumper=_yaml_dumper(),
        default_flow_style=False,
        allow_unicode=True,
        width=80,
        sort_keys=False,
    )
    if text.endswith("\n...\n"):  # a bare scalar document
        text = text[:-4]
    return text


# ------------------------------------------------------------------ time


class GoTime:
    """A ``time.Time``: an aware datetime plus Go's printing (``String`` and ``Format``)."""

    __slots__ = ("dt", "monotonic")

    def __init__(self, dt: _dt.datetime, monotonic: float | None = None) -> None:
        self.dt = dt
        self.monotonic = monotonic

    go_type = "time.Time"

    @classmethod
    def now(cls) -> GoTime:
        import datetime as _dt

        return cls(_dt.datetime.now().astimezone(), _time.monotonic() - _PROCESS_START)

    def go_string(self) -> str:
        text = self.format("2006-01-02 15:04:05.999999999 -0700 MST")
        if self.monotonic is not None:
            text += f" m={self.monotonic:+.9f}"
        return text

    def unix(self) -> int:
        return int(self.dt.timestamp())

    def format(self, layout: str) -> str:
        return go_time_format(self.dt, layout)

    def format_in(self, layout: str, tz: Any) -> str:
        return go_time_format(self.dt.astimezone(tz), layout)

    # Go methods, reachable from templates as ``now.Format "2006"``
    @go_signature("string", result="string", returns_error=False)
    def Format(self, layout: str) -> str:
        return self.format(layout)

    @go_signature(result="int64", returns_error=False)
    def Unix(self) -> int:
        return Int64(self.unix())

    @go_signature(result="int", returns_error=False)
    def Year(self) -> int:
        return self.dt.year

    @go_signature(result="string", returns_error=False)
    def String(self) -> str:
        return self.go_string()


_PROCESS_START = _time.monotonic()

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# layout chunks of Go's time package, longest first where prefixes overlap
_CHUNKS = [
    "January",
    "Jan",
    "Monday",
    "Mon",
    "MST",
    "2006",
    "Z07:00:00",
    "-07:00:00",
    "Z070000",
    "-070000",
    "Z07:00",
    "-07:00",
    "Z0700",
    "-0700",
    "Z07",
    "-07",
    "002",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "15",
    "_2",
    "1",
    "2",
    "3",
    "4",
    "5",
    "PM",
    "pm",
]


def _zone(dt: _dt.datetime, kind: str) -> str:
    import datetime as _dt

    offset = dt.utcoffset() or _dt.timedelta(0)
    seconds = int(offset.total_seconds())
    if kind.startswith("Z") and seconds == 0:
        return "Z"
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    hh, mm, ss = seconds // 3600, seconds // 60 % 60, seconds % 60
    body = kind.lstrip("Z-")
    if body == "07":
        return f"{sign}{hh:02d}"
    if body == "0700":
        return f"{sign}{hh:02d}{mm:02d}"
    if body == "07:00":
        return f"{sign}{hh:02d}:{mm:02d}"
    if body == "070000":
        return f"{sign}{hh:02d}{mm:02d}{ss:02d}"
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"


def _zone_name(dt: _dt.datetime) -> str:
    name = dt.tzname()
    if (name and not name.startswith(("+", "-", "UTC+", "UTC-"))) or name == "UTC":
        return name or "UTC"
    import datetime as _dt

    offset = int((dt.utcoffset() or _dt.timedelta(0)).total_seconds())
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    hh, mm = offset // 3600, offset // 60 % 60
    return f"{sign}{hh:02d}{mm:02d}" if mm else f"{sign}{hh:02d}"


def go_time_format(dt: _dt.datetime, layout: str) -> str:
    """``time.Time.Format(layout)`` for Go's reference-time layouts."""
    out: list[str] = []
    i = 0
    n = len(layout)
    while i < n:
        # fractional seconds: .000 / ,000 (fixed) or .999 (trimmed)
        if layout[i] in ".," and i + 1 < n and layout[i + 1] in "09":
            j = i + 1
            while j < n and layout[j] == layout[i + 1]:
                j += 1
            if j == n or not layout[j].isdigit():
                digits = j - i - 1
                frac = f"{dt.microsecond * 1000:09d}"[:digits]
                if layout[i + 1] == "9":
                    frac = frac.rstrip("0")
                    if frac:
                        out.append("." + frac)
                else:
                    out.append(layout[i] + frac)
                i = j
                continue
        for chunk in _CHUNKS:
            if layout.startswith(chunk, i):
                out.append(_format_chunk(dt, chunk))
                i += len(chunk)
                break
        else:
            out.append(layout[i])
            i += 1
    return "".join(out)


def _format_chunk(dt: _dt.datetime, chunk: str) -> str:
    hour12 = dt.hour % 12 or 12
    simple: dict[str, Callable[[], str]] = {
        "January": lambda: _MONTHS[dt.month - 1],
        "Jan": lambda: _MONTHS[dt.month - 1][:3],
        "Monday": lambda: _DAYS[dt.weekday()],
        "Mon": lambda: _DAYS[dt.weekday()][:3],
        "MST": lambda: _zone_name(dt),
        "2006": lambda: f"{dt.year:04d}",
        "06": lambda: f"{dt.year % 100:02d}",
        "01": lambda: f"{dt.month:02d}",
        "1": lambda: str(dt.month),
        "02": lambda: f"{dt.day:02d}",
        "_2": lambda: f"{dt.day:2d}",
        "2": lambda: str(dt.day),
        "002": lambda: f"{dt.timetuple().tm_yday:03d}",
        "15": lambda: f"{dt.hour:02d}",
        "03": lambda: f"{hour12:02d}",
        "3": lambda: str(hour12),
        "04": lambda: f"{dt.minute:02d}",
        "4": lambda: str(dt.minute),
        "05": lambda: f"{dt.second:02d}",
        "5": lambda: str(dt.second),
        "PM": lambda: "PM" if dt.hour >= 12 else "AM",
        "pm": lambda: "pm" if dt.hour >= 12 else "am",
    }
    if chunk in simple:
        return simple[chunk]()
    return _zone(dt, chunk)


def go_duration(seconds: float) -> str:
    """``time.Duration.String()`` of a whole number of nanoseconds given in seconds."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    neg = ns < 0
    ns = abs(ns)
    if ns < 1_000_000_000:
        if ns < 1000:
            text = f"{ns}ns"
        elif ns < 1_000_000:
            text = _trim_frac(ns, 1000) + "µs"
        else:
            text = _trim_frac(ns, 1_000_000) + "ms"
    else:
        h, rest = divmod(ns, 3600 * 10**9)
        m, rest = divmod(rest, 60 * 10**9)
        text = _trim_frac(rest, 10**9) + "s"
        if h:
            text = f"{h}h{m}m" + text
        elif m:
            text = f"{m}m" + text
    return ("-" if neg else "") + text


def _trim_frac(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    width = len(str(unit)) - 1
    return f"{whole}." + f"{frac:0{width}d}".rstrip("0")


def as_map(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def string_map(items: Any) -> GoMap:
    return GoMap("string", items)


def go_upper(s: str) -> str:
    """``strings.ToUpper``: per-rune simple case mapping (``ß`` stays ``ß``)."""
    if s.isascii():
        return s.upper()
    return "".join(u if len(u := c.upper()) == 1 else c for c in s)


def go_lower(s: str) -> str:
    """``strings.ToLower``: per-rune simple case mapping."""
    if s.isascii():
        return s.lower()
    return "".join(u if len(u := c.lower()) == 1 else c for c in s)


def go_trim_space(s: str) -> str:
    """``strings.TrimSpace`` (Unicode white space)."""
    return s.strip(GO_SPACE)


# unicode.IsSpace: '\t', '\n', '\v', '\f', '\r', ' ', U+0085 (NEL), U+00A0 (NBSP) + Z category
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def go_fields(s: str) -> list[str]:
    """``strings.Fields``: split around runs of Unicode white space."""
    out: list[str] = []
    word: list[str] = []
    for ch in s:
        if ch in GO_SPACE:
            if word:
                out.append("".join(word))
                word = []
        else:
            word.append(ch)
    if word:
        out.append("".join(word))
    return out
