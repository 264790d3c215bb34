"""How Go values are represented in Python, for the template engine and its functions.

Go's ``text/template`` works on ``reflect.Value``; carpool works on plain Python
objects and maps each one to the Go type it stands for:

============================  ==========================  ===========================
Python                        Go type                     notes
============================  ==========================  ===========================
``None``                      nil (``interface {}``)      untyped nil
``bool``                      ``bool``
``int``                       ``int``                     64-bit, like Go's on amd64
``Int64(3)`` (etc.)           ``int64`` (etc.)            typed integers, see below
``float``                     ``float64``                 what YAML/JSON numbers are in dgr
``str``                       ``string``
``list``                      ``[]interface {}``
``dict``                      ``map[string]interface {}``
``GoSlice(elem, items)``      ``[]elem``                  e.g. ``[]string`` from ``splitList``
``GoMap(elem, items)``        ``map[string]elem``         e.g. ``map[string]string``
callable                      ``func``                    see :func:`go_signature`
============================  ==========================  ===========================

Template functions are plain callables.  By default every positional parameter is an
``interface {}`` (any value, ``None`` for nil) and ``*args`` is a variadic
``...interface {}``; :func:`go_signature` declares Go parameter types instead, so that
the engine converts untyped constants and reports wrong types exactly like Go's reflect
does (``wrong type for value; expected string; got float64``).  A function signals Go's
``(value, error)`` error return by raising :class:`GoError` (any other exception is
treated like a recovered panic: also an error of the call).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "FLOAT_TYPES",
    "INT_TYPES",
    "UINT_TYPES",
    "Float32",
    "GoError",
    "GoMap",
    "GoSignature",
    "GoSlice",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "Uint",
    "Uint8",
    "Uint16",
    "Uint32",
    "Uint64",
    "go_signature",
    "go_type",
    "kind_name",
    "signature_of",
    "truth",
]

F = TypeVar("F", bound=Callable[..., Any])

IFACE = "interface {}"
INT_TYPES = frozenset({"int", "int8", "int16", "int32", "int64"})
UINT_TYPES = frozenset({"uint", "uint8", "uint16", "uint32", "uint64", "uintptr"})
FLOAT_TYPES = frozenset({"float32", "float64"})


class GoError(Exception):
    """Raised by a template function to return Go's non-nil ``error``.

    The engine reports it as ``error calling NAME: MESSAGE``.
    """


class _TypedInt(int):
    """An integer of a sized Go integer type (the plain ``int`` is Go's ``int``)."""

    go_type = "int"
    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"


class Int8(_TypedInt):
    go_type = "int8"
    __slots__ = ()


class Int16(_TypedInt):
    go_type = "int16"
    __slots__ = ()


class Int32(_TypedInt):
    go_type = "int32"
    __slots__ = ()


class Int64(_TypedInt):
    go_type = "int64"
    __slots__ = ()


class Uint(_TypedInt):
    go_type = "uint"
    __slots__ = ()


class Uint8(_TypedInt):
    go_type = "uint8"
    __slots__ = ()


class Uint16(_TypedInt):
    go_type = "uint16"
    __slots__ = ()


class Uint32(_TypedInt):
    go_type = "uint32"
    __slots__ = ()


class Uint64(_TypedInt):
    go_type = "uint64"
    __slots__ = ()


class Float32(float):
    """A Go ``float32`` (stored as the float64 it widens to)."""

    go_type = "float32"
    __slots__ = ()


_INT_CLASSES: dict[str, type[int]] = {
    "int": int,
    "int8": Int8,
    "int16": Int16,
    "int32": Int32,
    "int64": Int64,
    "uint": Uint,
    "uint8": Uint8,
    "uint16": Uint16,
    "uint32": Uint32,
    "uint64": Uint64,
    "uintptr": Uint64,
}


def make_int(go_type: str, value: int) -> int:
    """An ``int`` of the named Go integer type (wrapped like Go's two's complement)."""
    shape = _INT_SHAPES.get(go_type)
    if shape is None:
        cls = _INT_CLASSES[go_type]
        bits = 64
        for n in (8, 16, 32):
            if go_type.endswith(str(n)):
                bits = n
        shape = _INT_SHAPES[go_type] = (cls, bits, go_type in UINT_TYPES)
    cls, bits, unsigned = shape
    if unsigned:
        value &= (1 << bits) - 1
    else:
        value = (value + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))
    return value if cls is int else cls(value)


_INT_SHAPES: dict[str, tuple[type[int], int, bool]] = {}
"""Per integer type name: its class, bit size and signedness (make_int runs per value)."""


class GoSlice(list[Any]):
    """A Go slice whose element type is not ``interface {}`` (e.g. ``[]string``)."""

    __slots__ = ("elem",)

    def __init__(self, elem: str, items: Any = ()) -> None:
        super().__init__(items)
        self.elem = elem

    @property
    def go_type(self) -> str:
        return "[]" + self.elem


class GoMap(dict[str, Any]):
    """A Go map with string keys whose element type is not ``interface {}``."""

    __slots__ = ("elem",)

    def __init__(self, elem: str, items: Any = ()) -> None:
        super().__init__(items)
        self.elem = elem

    @property
    def go_type(self) -> str:
        return "map[string]" + self.elem


def go_type(v: Any) -> str | None:
    """The Go type name of a value as ``reflect.Type.String()`` prints it; None for nil."""
    if v is None:
        return None
    t = type(v)
    if t is str:
        return "string"
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is float:
        return "float64"
    if t is dict:
        return "map[string]interface {}"
    if t is list:
        return "[]interface {}"
    explicit = getattr(v, "go_type", None)
    if isinstance(explicit, str):
        return explicit
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list | tuple):
        return "[]interface {}"
    if isinstance(v, complex):
        return "complex128"
    if isinstance(v, bytes):
        return "[]uint8"
    if callable(v):
        return signature_of(v).func_type()
    return type(v).__name__


def kind_name(v: Any) -> str:
    """The Go type name of ``v`` (``float64``, ``map[string]interface {}``…), ``<nil>`` for nil."""
    t = go_type(v)
    return "<nil>" if t is None else t


def kind_of(go_type_name: str | None) -> str:
    """The reflect.Kind name of a Go type name: ``int``, ``slice``, ``map``, ``func``…"""
    if go_type_name is None:
        return "invalid"
    kind = _KINDS.get(go_type_name)
    if kind is None:
        kind = _kind_of(go_type_name)
        if len(_KINDS) < 4096:
            _KINDS[go_type_name] = kind
    return kind


_KINDS: dict[str, str] = {}
"""Memo of :func:`kind_of` (the executor asks for the same few types again and again)."""


def _kind_of(go_type_name: str) -> str:
    if go_type_name.startswith("[]"):
        return "slice"
    if go_type_name.startswith("map["):
        return "map"
    if go_type_name.startswith("func("):
        return "func"
    if go_type_name == IFACE or go_type_name.startswith("interface"):
        return "interface"
    if go_type_name == "reflect.Value":
        return "struct"
    return go_type_name if go_type_name in _BASIC_KINDS else "struct"


_BASIC_KINDS = frozenset(
    {"bool", "string", "complex64", "complex128"} | INT_TYPES | UINT_TYPES | FLOAT_TYPES
)


def truth(v: Any) -> bool:
    """Go template truthiness: false, 0, nil, and empty strings / slices / maps are false."""
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float | complex):
        return v != 0
    if isinstance(v, str | list | dict | tuple | bytes):
        return len(v) > 0
    return True


class GoSignature:
    """The Go type of a template function: parameter types, variadic element, error return."""

    __slots__ = ("params", "result", "returns_error", "variadic")

    def __init__(
        self,
        params: tuple[str, ...],
        variadic: str | None = None,
        result: str = IFACE,
        returns_error: bool = True,
    ) -> None:
        self.params = params
        self.variadic = variadic
        self.result = result
        self.returns_error = returns_error

    def __repr__(self) -> str:
        return f"GoSignature({self.func_type()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoSignature) and self.func_type() == other.func_type()

    def __hash__(self) -> int:
        return hash(self.func_type())

    def func_type(self) -> str:
        ins = list(self.params)
        if self.variadic is not None:
            ins.append("..." + self.variadic)
        out = self.result
        if self.returns_error:
            out = f"({out}, error)"
        return f"func({', '.join(ins)}) {out}"

    @property
    def num_in(self) -> int:
        return len(self.params) + (1 if self.variadic is not None else 0)


def go_signature(
    *params: str,
    variadic: str | None = None,
    result: str = IFACE,
    returns_error: bool = True,
) -> Callable[[F], F]:
    """Declare the Go signature of a template function.

    ``@go_signature("string", "int", variadic="interface {}")`` makes the engine treat the
    function as ``func(string, int, ...interface {}) (interface {}, error)``: an untyped
    constant converts like Go's (``3`` passed to ``float64`` becomes ``3.0``), a value of
    another type fails with Go's ``wrong type for value; expected string; got float64``,
    and a wrong argument count with ``wrong number of args for NAME: want 2 got 1``.
    ``interface{}`` may be spelled with or without the space.
    """
    sig = GoSignature(
        tuple(_norm(p) for p in params),
        None if variadic is None else _norm(variadic),
        _norm(result),
        returns_error,
    )

    def deco(fn: F) -> F:
        fn.__go_signature__ = sig  # type: ignore[attr-defined]
        return fn

    return deco


def _norm(t: str) -> str:
    t = t.strip()
    if t == "any":
        return IFACE
    return t.replace("interface{}", IFACE)


_SIG_CACHE: dict[Any, GoSignature] = {}


def signature_of(fn: Callable[..., Any]) -> GoSignature:
    """The Go signature of a callable: declared with :func:`go_signature` or derived.

    A callable without a declaration takes ``interface {}`` for every required positional
    parameter and ``...interface {}`` for ``*args`` (or for optional parameters).
    """
    sig = getattr(fn, "__go_signature__", None)
    if isinstance(sig, GoSignature):
        return sig
    try:
        return _SIG_CACHE[fn]
    except (KeyError, TypeError):
        pass
    import inspect  # only for functions without a declared signature; keeps import cheap

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        derived = GoSignature((), IFACE)
    else:
        fixed = 0
        variadic = False
        for p in params:
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                if p.default is p.empty:
                    fixed += 1
                else:
                    variadic = True
            elif p.kind == p.VAR_POSITIONAL:
                variadic = True
        derived = GoSignature((IFACE,) * fixed, IFACE if variadic else None)
    with contextlib.suppress(TypeError):
        _SIG_CACHE[fn] = derived
    return derived
