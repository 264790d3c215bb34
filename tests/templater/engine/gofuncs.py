"""Python twins of the test functions installed in ``gorender/main.go``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carpool.templater.gotypes import GoError, GoMap, GoSlice, Int64, Uint8, go_signature


@go_signature("int", "int", result="int", returns_error=False)
def add(a: int, b: int) -> int:
    return a + b


@go_signature("float64", "float64", result="float64", returns_error=False)
def addf(a: float, b: float) -> float:
    return a + b


@go_signature("string", variadic="string", result="string", returns_error=False)
def concat(a: str, *rest: str) -> str:
    return a + "".join(rest)


@go_signature("string", result="string")
def fail(msg: str) -> str:
    raise GoError(msg)


@go_signature()
def nilval() -> Any:
    return None


@go_signature(result="[]string", returns_error=False)
def strs() -> GoSlice:
    return GoSlice("string", ["x", "y"])


@go_signature(result="map[string]string", returns_error=False)
def smap() -> GoMap:
    return GoMap("string", {"k": "v", "a": "b"})


@go_signature("int", "int", result="int", returns_error=False)
def _adder_result(a: int, b: int) -> int:
    return a + b


@go_signature(result="func(int, int) int", returns_error=False)
def adder() -> Callable[[int, int], int]:
    return _adder_result


@go_signature(variadic="interface {}", result="int", returns_error=False)
def variadic(*xs: Any) -> int:
    return len(xs)


@go_signature("int", result="int64", returns_error=False)
def i64(x: int) -> Int64:
    return Int64(x)


@go_signature("int", result="uint8", returns_error=False)
def u8(x: int) -> Uint8:
    return Uint8(x & 0xFF)


@go_signature("interface {}", returns_error=False)
def ident(x: Any) -> Any:
    return x


@go_signature(variadic="interface {}", result="[]interface {}", returns_error=False)
def tolist(*xs: Any) -> list[Any]:
    return list(xs)


GO_FUNCS: dict[str, Callable[..., Any]] = {
    "add": add,
    "addf": addf,
    "concat": concat,
    "fail": fail,
    "nilval": nilval,
    "strs": strs,
    "smap": smap,
    "adder": adder,
    "variadic": variadic,
    "i64": i64,
    "u8": u8,
    "ident": ident,
    "tolist": tolist,
}
