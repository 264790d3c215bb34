"""The executor's model of ``reflect.Value``.

Go's executor distinguishes three things that are all "nothing" in Python: the invalid
``reflect.Value`` (a missing map key: prints ``<no value>``), an ``interface {}`` value
holding nil (a YAML ``null``: ``.a.b`` through it is an error), and a concrete value.
Error messages also name ``interface {}`` for values read out of ``map[string]interface {}``
and ``[]interface {}``.  Inside the executor a value is therefore either :data:`NOVALUE`,
an :class:`Iface` wrapper (the static type is ``interface {}``), or the plain Python object.
Functions never see these wrappers except the builtins that take ``reflect.Value``.
"""

from __future__ import annotations

from typing import Any

from carpool.templater.gotypes import IFACE, go_type


class _NoValue:
    """The invalid (zero) ``reflect.Value``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOVALUE"


NOVALUE: Any = _NoValue()


class _Missing:
    """Go's ``missingVal``: no final (piped) argument."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Iface:
    """A value whose static type is ``interface {}`` (``value`` None means nil)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Iface({self.value!r})"


NIL_IFACE = Iface(None)


def elem_is_iface(container: Any) -> bool:
    """Whether the elements of a list/dict have static type ``interface {}``."""
    elem = getattr(container, "elem", None)
    return elem is None or elem == IFACE


def wrap_elem(container: Any, v: Any) -> Any:
    """An element read out of ``container`` as reflect's Index/MapIndex returns it."""
    t = type(container)
    if t is dict or t is list or elem_is_iface(container):
        return Iface(v)
    return v


def type_name(v: Any) -> str:
    """``v.Type().String()`` (``interface {}`` for an :class:`Iface`)."""
    if isinstance(v, Iface):
        return IFACE
    if v is NOVALUE:
        return "<invalid reflect.Value>"
    t = go_type(v)
    return "<nil>" if t is None else t


def indirect(v: Any) -> tuple[Any, bool]:
    """Go's ``indirect``: through interfaces; (value, is nil)."""
    if isinstance(v, Iface):
        if v.value is None:
            return v, True
        return v.value, False
    return v, False


def indirect_interface(v: Any) -> Any:
    """Go's ``indirectInterface``: the dynamic value, NOVALUE for a nil interface."""
    if isinstance(v, Iface):
        return NOVALUE if v.value is None else v.value
    return v


def to_python(v: Any) -> Any:
    """The Python object a Go function receives for an ``interface {}`` parameter."""
    if isinstance(v, Iface):
        return v.value
    if v is NOVALUE:
        return None
    return v
