"""Go's predefined template functions (``text/template/funcs.go``) with Go's semantics.

The functions that Go declares with ``reflect.Value`` parameters (``and or not len index
slice call eq ne lt le gt ge``) receive the executor's value model
(:mod:`carpool.templater.engine.values`); the others receive plain Python values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carpool.templater import gotypes
from carpool.templater.engine.values import (
    NOVALUE,
    Iface,
    indirect,
    indirect_interface,
    to_python,
    type_name,
    wrap_elem,
)
from carpool.templater.gofmt import _is_print, sprint, sprintf, sprintln
from carpool.templater.gotypes import go_signature, signature_of

RV = "reflect.Value"


class BuiltinError(Exception):
    """The ``error`` result of a builtin (reported as ``error calling NAME: …``)."""


def truth(v: Any) -> bool:
    v = indirect_interface(v)
    if v is NOVALUE:
        return False
    return gotypes.truth(v)


@go_signature(RV, variadic=RV, result=RV, returns_error=False)
def _and(arg0: Any, *args: Any) -> Any:  # pragma: no cover - special-cased by the executor
    raise AssertionError("unreachable")


@go_signature(RV, variadic=RV, result=RV, returns_error=False)
def _or(arg0: Any, *args: Any) -> Any:  # pragma: no cover - special-cased by the executor
    raise AssertionError("unreachable")


@go_signature(RV, result="bool", returns_error=False)
def _not(arg: Any) -> bool:
    return not truth(arg)


def _kind(v: Any) -> str:
    """reflect.Kind of an executor value (after indirection)."""
    if v is NOVALUE:
        return "invalid"
    if isinstance(v, Iface):
        return "interface"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list | tuple):
        return "slice"
    if isinstance(v, int):
        t = gotypes.go_type(v)
        return "uint" if t in gotypes.UINT_TYPES else "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, complex):
        return "complex"
    if callable(v):
        return "func"
    return "struct"


@go_signature(RV, result="int")
def _len(item: Any) -> int:
    item, is_nil = indirect(item)
    if is_nil:
        raise BuiltinError("len of nil pointer")
    k = _kind(item)
    if k == "string":
        return len(item.encode("utf-8", "surrogatepass"))
    if k in ("map", "slice"):
        return len(item)
    if k == "invalid":
        raise BuiltinError("reflect: call of reflect.Value.Type on zero Value")
    raise BuiltinError(f"len of type {type_name(item)}")


def _index_arg(index: Any, cap: int) -> int:
    k = _kind(index)
    if k in ("int", "uint"):
        x = int(index)
    elif k == "invalid":
        raise BuiltinError("cannot index slice/array with nil")
    else:
        raise BuiltinError(f"cannot index slice/array with type {type_name(index)}")
    if x < 0 or x > cap:
        raise BuiltinError(f"index out of range: {x}")
    return x


def _prepare_arg(value: Any, arg_type: str) -> Any:
    from carpool.templater.engine.executor import assignable, can_be_nil, zero_value

    if value is NOVALUE:
        if not can_be_nil(arg_type):
            raise BuiltinError(f"value is nil; should be of type {arg_type}")
        value = zero_value(arg_type)
    if assignable(value, arg_type):
        return value
    int_like = gotypes.INT_TYPES | gotypes.UINT_TYPES
    vt = type_name(value)
    if vt in int_like and arg_type in int_like:
        return gotypes.make_int(arg_type, int(value))
    raise BuiltinError(f"value has type {vt}; should be {arg_type}")


@go_signature(RV, variadic=RV, result=RV)
def _index(item: Any, *indexes: Any) -> Any:
    item = indirect_interface(item)
    if item is NOVALUE:
        raise BuiltinError("index of untyped nil")
    for index in indexes:
        index = indirect_interface(index)
        item, is_nil = indirect(item)
        if is_nil:
            raise BuiltinError("index of nil pointer")
        k = _kind(item)
        if k == "string":
            data = item.encode("utf-8", "surrogatepass")
            x = _index_arg(index, len(data))
            if x >= len(data):
                raise BuiltinError("reflect: string index out of range")
            item = gotypes.Uint8(data[x])
        elif k == "slice":
            x = _index_arg(index, len(item))
            if x >= len(item):
                raise BuiltinError("reflect: slice index out of range")
            item = wrap_elem(item, item[x])
        elif k == "map":
            key = _prepare_arg(index, "string")
            if key in item:
                item = wrap_elem(item, item[key])
            else:
                from carpool.templater.engine.executor import zero_value

                item = zero_value(getattr(item, "elem", gotypes.IFACE))
        elif k == "invalid":
            raise BuiltinError("reflect: call of reflect.Value.Type on zero Value")
        else:
            raise BuiltinError(f"can't index item of type {type_name(item)}")
    return item


@go_signature(RV, variadic=RV, result=RV)
def _slice(item: Any, *indexes: Any) -> Any:
    item = indirect_interface(item)
    if item is NOVALUE:
        raise BuiltinError("slice of untyped nil")
    if len(indexes) > 3:
        raise BuiltinError(f"too many slice indexes: {len(indexes)}")
    k = _kind(item)
    if k == "string":
        if len(indexes) == 3:
            raise BuiltinError("cannot 3-index slice a string")
        data = item.encode("utf-8", "surrogatepass")
        cap = len(data)
    elif k == "slice":
        cap = len(item)
    else:
        raise BuiltinError(f"can't slice item of type {type_name(item)}")
    idx = [0, cap, 0]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(index, cap)
    if idx[0] > idx[1]:
        raise BuiltinError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise BuiltinError(f"invalid slice index: {idx[1]} > {idx[2]}")
    if k == "string":
        return data[idx[0] : idx[1]].decode("utf-8", "replace")
    part = item[idx[0] : idx[1]]
    if isinstance(item, gotypes.GoSlice):
        return gotypes.GoSlice(item.elem, part)
    return list(part)


@go_signature(RV, variadic=RV, result=RV)
def _call(fn: Any, *args: Any) -> Any:
    fn = indirect_interface(fn)
    if fn is NOVALUE:
        raise BuiltinError("call of nil")
    if not callable(fn) or isinstance(fn, type):
        raise BuiltinError(f"non-function of type {type_name(fn)}")
    sig = signature_of(fn)
    num_in = sig.num_in
    if sig.variadic is not None:
        if len(args) < num_in - 1:
            raise BuiltinError(f"wrong number of args: got {len(args)} want at least {num_in - 1}")
    elif len(args) != num_in:
        raise BuiltinError(f"wrong number of args: got {len(args)} want {num_in}")
    argv = []
    for i, arg in enumerate(args):
        arg = indirect_interface(arg)
        arg_type = sig.params[i] if sig.variadic is None or i < num_in - 1 else sig.variadic
        try:
            v = _prepare_arg(arg, arg_type)
        except BuiltinError as e:
            raise BuiltinError(f"arg {i}: {e}") from None
        argv.append(v if arg_type == RV else to_python(v))
    try:
        result = fn(*argv)
    except BuiltinError:
        raise
    except Exception as e:
        from carpool.templater.engine.executor import _panic_text

        raise BuiltinError(_panic_text(e)) from None
    if sig.result == gotypes.IFACE and not isinstance(result, Iface):
        return Iface(result)
    return result


# --------------------------------------------------------------------------- comparison

_BAD_TYPE = "invalid type for comparison"
_BAD_CMP = "incompatible types for comparison"


def _basic_kind(v: Any) -> str:
    k = _kind(v)
    if k in ("bool", "int", "uint", "float", "complex", "string"):
        return k
    return "invalid"


def _is_nil(v: Any) -> bool:
    if v is NOVALUE:
        return True
    if isinstance(v, Iface):
        return v.value is None
    return False


def _comparable(v: Any) -> bool:
    return _kind(v) not in ("map", "slice", "func")


def _eq_values(arg1: Any, args: tuple[Any, ...]) -> bool:
    arg1 = indirect_interface(arg1)
    if not args:
        raise BuiltinError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for arg in args:
        arg = indirect_interface(arg)
        k2 = _basic_kind(arg)
        result = False
        if k1 != k2:
            if k1 == "int" and k2 == "uint":
                result = arg1 >= 0 and int(arg1) == int(arg)
            elif k1 == "uint" and k2 == "int":
                result = arg >= 0 and int(arg1) == int(arg)
            elif arg1 is not NOVALUE and arg is not NOVALUE:
                raise BuiltinError(_BAD_CMP)
        elif k1 == "invalid":
            kd1, kd2 = _kind(arg1), _kind(arg)
            if kd1 != kd2 and kd1 != "invalid" and kd2 != "invalid":
                raise BuiltinError(
                    f"non-comparable types {sprintf('%s', _pyval(arg1))}: {type_name(arg1)}, "
                    f"{type_name(arg)}: {sprintf('%v', _pyval(arg))}"
                )
            if _is_nil(arg1) or _is_nil(arg):
                result = _is_nil(arg) == _is_nil(arg1)
            else:
                if not _comparable(arg):
                    raise BuiltinError(
                        f"non-comparable type {sprintf('%s', _pyval(arg))}: {type_name(arg)}"
                    )
                result = arg1 is arg or (type(arg1) is type(arg) and arg1 == arg)
        else:
            result = arg1 == arg
        if result:
            return True
    return False


def _pyval(v: Any) -> Any:
    return to_python(v)


@go_signature(RV, variadic=RV, result="bool")
def _eq(arg1: Any, *args: Any) -> bool:
    return _eq_values(arg1, args)


@go_signature(RV, RV, result="bool")
def _ne(arg1: Any, arg2: Any) -> bool:
    return not _eq_values(arg1, (arg2,))


def _lt_values(arg1: Any, arg2: Any) -> bool:
    arg1 = indirect_interface(arg1)
    k1 = _basic_kind(arg1)
    if k1 == "invalid":
        raise BuiltinError(_BAD_TYPE)
    arg2 = indirect_interface(arg2)
    k2 = _basic_kind(arg2)
    if k2 == "invalid":
        raise BuiltinError(_BAD_TYPE)
    if k1 != k2:
        if k1 == "int" and k2 == "uint":
            return arg1 < 0 or int(arg1) < int(arg2)
        if k1 == "uint" and k2 == "int":
            return arg2 >= 0 and int(arg1) < int(arg2)
        raise BuiltinError(_BAD_CMP)
    if k1 in ("bool", "complex"):
        raise BuiltinError(_BAD_TYPE)
    if k1 == "string":
        return bool(arg1.encode("utf-8", "surrogatepass") < arg2.encode("utf-8", "surrogatepass"))
    return bool(arg1 < arg2)


@go_signature(RV, RV, result="bool")
def _lt(arg1: Any, arg2: Any) -> bool:
    return _lt_values(arg1, arg2)


@go_signature(RV, RV, result="bool")
def _le(arg1: Any, arg2: Any) -> bool:
    if _lt_values(arg1, arg2):
        return True
    return _eq_values(arg1, (arg2,))


@go_signature(RV, RV, result="bool")
def _gt(arg1: Any, arg2: Any) -> bool:
    if _lt_values(arg1, arg2):
        return False
    return not _eq_values(arg1, (arg2,))


@go_signature(RV, RV, result="bool")
def _ge(arg1: Any, arg2: Any) -> bool:
    return not _lt_values(arg1, arg2)


# --------------------------------------------------------------------------- escapers


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(*("<no value>" if a is None else a for a in args))


def html_escape(s: str) -> str:
    """Go's ``template.HTMLEscapeString``."""
    if not any(c in s for c in "'\"&<>\0"):
        return s
    return (
        s.replace("&", "&amp;")
        .replace("'", "&#39;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("\0", "\ufffd")
    )


_JS_ESC = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "<": "\\u003C",
    ">": "\\u003E",
    "&": "\\u0026",
    "=": "\\u003D",
}


def js_escape(s: str) -> str:
    """Go's ``template.JSEscapeString``."""
    out = []
    for c in s:
        o = ord(c)
        if c in _JS_ESC:
            out.append(_JS_ESC[c])
        elif o < 0x20:
            out.append(f"\\u00{o:02X}")
        elif o < 0x80 or _is_print(c):
            out.append(c)
        else:
            out.append(f"\\u{o:04X}")
    return "".join(out)


_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def query_escape(s: str) -> str:
    """Go's ``url.QueryEscape``."""
    out = []
    for b in s.encode("utf-8", "surrogatepass"):
        if b in _URL_SAFE:
            out.append(chr(b))
        elif b == 0x20:
            out.append("+")
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


@go_signature(variadic="interface {}", result="string", returns_error=False)
def _html(*args: Any) -> str:
    return html_escape(_eval_args(args))


@go_signature(variadic="interface {}", result="string", returns_error=False)
def _js(*args: Any) -> str:
    return js_escape(_eval_args(args))


@go_signature(variadic="interface {}", result="string", returns_error=False)
def _urlquery(*args: Any) -> str:
    return query_escape(_eval_args(args))


@go_signature(variadic="interface {}", result="string", returns_error=False)
def _print(*args: Any) -> str:
    return sprint(*args)


@go_signature("string", variadic="interface {}", result="string", returns_error=False)
def _printf(fmt: str, *args: Any) -> str:
    return sprintf(fmt, *args)


@go_signature(variadic="interface {}", result="string", returns_error=False)
def _println(*args: Any) -> str:
    return sprintln(*args)


BUILTINS: dict[str, Callable[..., Any]] = {
    "and": _and,
    "call": _call,
    "html": _html,
    "index": _index,
    "slice": _slice,
    "js": _js,
    "len": _len,
    "not": _not,
    "or": _or,
    "print": _print,
    "printf": _printf,
    "println": _println,
    "urlquery": _urlquery,
    "eq": _eq,
    "ge": _ge,
    "gt": _gt,
    "le": _le,
    "lt": _lt,
    "ne": _ne,
}
