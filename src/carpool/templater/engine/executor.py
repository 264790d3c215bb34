"""Executes parse trees (a port of Go 1.19 ``text/template/exec.go``).

Values follow :mod:`carpool.templater.engine.values`; error messages are Go's,
prefixed with ``template: NAME:LINE:COL: executing "NAME" at <NODE>:``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from carpool.errors import TemplateError
from carpool.templater import gotypes
from carpool.templater.engine import nodes as n
from carpool.templater.engine.builtins import BUILTINS, BuiltinError, truth
from carpool.templater.engine.values import (
    MISSING,
    NIL_IFACE,
    NOVALUE,
    Iface,
    indirect,
    indirect_interface,
    to_python,
    type_name,
    wrap_elem,
)
from carpool.templater.gofmt import format_value, quote, sorted_keys, sprint, sprintf
from carpool.templater.gotypes import IFACE, GoSignature, kind_of, make_int, signature_of

if TYPE_CHECKING:
    from carpool.templater.engine.template import Template

MAX_EXEC_DEPTH = 100000
REFLECT_VALUE = "reflect.Value"
_MIN_RECURSION = 20000


class ExecError(TemplateError):
    """A template failed while executing; the message is Go's."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def error_context(node: n.Node, fallback_tree: Any) -> tuple[str, str]:
    """Go's ``Tree.ErrorContext``: ``NAME:LINE:COL`` (byte column) and the node's text."""
    tree = node.tree if node.tree is not None else fallback_tree
    text = tree.text[: node.pos]
    nl = text.rfind("\n")
    col = (
        len(text.encode("utf-8", "surrogatepass"))
        if nl == -1
        else len(text[nl + 1 :].encode("utf-8", "surrogatepass"))
    )
    line = 1 + text.count("\n")
    return f"{tree.parse_name}:{line}:{col}", node.string()


class State:
    __slots__ = ("depth", "node", "out", "tmpl", "vars")

    def __init__(self, tmpl: Template, out: list[str], value: Any) -> None:
        self.tmpl = tmpl
        self.out = out
        self.node: n.Node | None = None
        self.vars: list[tuple[str, Any]] = [("$", value)]
        self.depth = 0

    # -- errors
    def errorf(self, msg: str) -> ExecError:
        name = self.tmpl.name
        if self.node is None:
            text = f"template: {name}: {msg}"
        else:
            location, context = error_context(self.node, self.tmpl.tree)
            text = f"template: {location}: executing {quote(name)} at <{context}>: {msg}"
        return ExecError(text, name)

    # -- variables
    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        raise self.errorf(f"undefined variable: {name}")

    def var_value(self, name: str) -> Any:
        for var, value in reversed(self.vars):
            if var == name:
                return value
        raise self.errorf(f"undefined variable: {name}")

    # -- walking
    def walk(self, dot: Any, node: n.Node) -> None:
        self.node = node
        kind = node.kind
        if kind == "text":
            self.out.append(node.text)  # type: ignore[attr-defined]
        elif kind == "action":
            pipe = node.pipe  # type: ignore[attr-defined]
            val = self.eval_pipeline(dot, pipe)
            if not pipe.decl:
                self.print_value(node, val)
        elif kind == "list":
            out = self.out
            for child in node.nodes:  # type: ignore[attr-defined]
                if child.kind == "text":  # most children: no call for them
                    self.node = child
                    out.append(child.text)
                else:
                    self.walk(dot, child)
        elif kind in ("if", "with"):
            self.walk_if_or_with(kind, dot, node)  # type: ignore[arg-type]
        elif kind == "range":
            self.walk_range(dot, node)  # type: ignore[arg-type]
        elif kind == "template":
            self.walk_template(dot, node)  # type: ignore[arg-type]
        elif kind == "break":
            raise _Break
        elif kind == "continue":
            raise _Continue
        elif kind == "comment":
            pass
        else:
            raise self.errorf(f"unknown node: {node}")

    def walk_if_or_with(self, kind: str, dot: Any, node: n.BranchNode) -> None:
        mark = len(self.vars)
        try:
            val = self.eval_pipeline(dot, node.pipe)
            if is_true(indirect_interface(val)):
                self.walk(val if kind == "with" else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, r: n.RangeNode) -> None:
        self.node = r
        mark = len(self.vars)
        try:
            val, _ = indirect(self.eval_pipeline(dot, r.pipe))
            mark2 = len(self.vars)
            ndecl = len(r.pipe.decl)

            def one(index: Any, elem: Any) -> None:
                if ndecl > 0:
                    self.vars[-1] = (self.vars[-1][0], elem)
                if ndecl > 1:
                    self.vars[-2] = (self.vars[-2][0], index)
                try:
                    self.walk(elem, r.list)
                except _Continue:
                    pass
                finally:
                    del self.vars[mark2:]

            if isinstance(val, list | tuple) and not isinstance(val, str):
                if len(val) > 0:
                    try:
                        for i, e in enumerate(val):
                            one(i, wrap_elem(val, e))
                    except _Break:
                        pass
                    return
            elif isinstance(val, dict):
                if len(val) > 0:
                    try:
                        for k in sorted_keys(val):
                            one(k, wrap_elem(val, val[k]))
                    except _Break:
                        pass
                    return
            elif val is NOVALUE:
                pass
            else:
                raise self.errorf(f"range can't iterate over {self.sprint_value(val)}")
            if r.else_list is not None:
                self.walk(dot, r.else_list)
        finally:
            del self.vars[mark:]

    def walk_template(self, dot: Any, t: n.TemplateNode) -> None:
        self.node = t
        tmpl = self.tmpl.lookup(t.name)
        if tmpl is None:
            raise self.errorf(f"template {quote(t.name)} not defined")
        if self.depth == MAX_EXEC_DEPTH:
            raise self.errorf(f"exceeded maximum template depth ({MAX_EXEC_DEPTH})")
        dot = self.eval_pipeline(dot, t.pipe)
        new = State(tmpl, self.out, dot)
        new.depth = self.depth + 1
        assert tmpl.tree is not None and tmpl.tree.root is not None
        try:
            new.walk(dot, tmpl.tree.root)
        except RecursionError:
            self.node = t
            raise self.errorf(f"exceeded maximum template depth ({MAX_EXEC_DEPTH})") from None

    # -- pipelines and commands
    def eval_pipeline(self, dot: Any, pipe: n.PipeNode | None) -> Any:
        if pipe is None:
            return NOVALUE
        self.node = pipe
        value = MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            if type(value) is Iface:  # no subclasses
                value = NOVALUE if value.value is None else value.value
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.ident[0], value)
            else:
                self.vars.append((var.ident[0], value))
        return value

    def not_a_function(self, args: list[n.Node], final: Any) -> None:
        if len(args) > 1 or final is not MISSING:
            raise self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: n.CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        kind = first.kind
        if kind == "field":
            return self.eval_field_node(dot, first, cmd.args, final)  # type: ignore[arg-type]
        if kind == "chain":
            return self.eval_chain_node(dot, first, cmd.args, final)  # type: ignore[arg-type]
        if kind == "identifier":
            return self.eval_function(dot, first, cmd, cmd.args, final)  # type: ignore[arg-type]
        if kind == "pipe":
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)  # type: ignore[arg-type]
        if kind == "variable":
            return self.eval_variable_node(dot, first, cmd.args, final)  # type: ignore[arg-type]
        self.node = first
        self.not_a_function(cmd.args, final)
        if kind == "bool":
            return first.true  # type: ignore[attr-defined]
        if kind == "dot":
            return dot
        if kind == "nil":
            raise self.errorf("nil is not a command")
        if kind == "number":
            return self.ideal_constant(first)  # type: ignore[arg-type]
        if kind == "string":
            return first.text  # type: ignore[attr-defined]
        raise self.errorf(f"can't evaluate command {quote(str(first))}")

    def ideal_constant(self, c: n.NumberNode) -> Any:
        self.node = c
        if c.is_complex:
            return c.complex128
        text = c.text
        is_hex_int = (
            len(text) > 2
            and text[0] == "0"
            and text[1] in "xX"
            and not any(ch in text for ch in "pP")
        )
        if (
            c.is_float
            and not is_hex_int
            and not text.startswith("'")
            and any(ch in text for ch in ".eEpP")
        ):
            return c.float64
        if c.is_int:
            return c.int64
        if c.is_uint:
            raise self.errorf(f"{text} overflows int")
        return NOVALUE

    def eval_field_node(self, dot: Any, field: n.FieldNode, args: list[n.Node], final: Any) -> Any:
        self.node = field
        return self.eval_field_chain(dot, dot, field, field.ident, args, final)

    def eval_chain_node(self, dot: Any, chain: n.ChainNode, args: list[n.Node], final: Any) -> Any:
        self.node = chain
        if not chain.field:
            raise self.errorf("internal error: no fields in evalChainNode")
        if isinstance(chain.node, n.NilNode):
            raise self.errorf(f"indirection through explicit nil in {chain}")
        pipe = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.field, args, final)

    def eval_variable_node(
        self, dot: Any, var: n.VariableNode, args: list[n.Node] | None, final: Any
    ) -> Any:
        self.node = var
        value = self.var_value(var.ident[0])
        if len(var.ident) == 1:
            if final is not MISSING or (args is not None and len(args) > 1):
                self.not_a_function(args or [var], final)
            return value
        return self.eval_field_chain(dot, value, var, var.ident[1:], args, final)

    def eval_field_chain(
        self,
        dot: Any,
        receiver: Any,
        node: n.Node,
        ident: list[str],
        args: list[n.Node] | None,
        final: Any,
    ) -> Any:
        last = len(ident) - 1
        for i in range(last):
            receiver = self.eval_field(dot, ident[i], node, None, MISSING, receiver)
        return self.eval_field(dot, ident[last], node, args, final, receiver)

    def eval_function(
        self,
        dot: Any,
        node: n.IdentifierNode,
        cmd: n.Node,
        args: list[n.Node] | None,
        final: Any,
    ) -> Any:
        self.node = node
        name = node.ident
        fn = self.tmpl.common.funcs.get(name)
        is_builtin = False
        if fn is None:
            fn = BUILTINS.get(name)
            is_builtin = True
            if fn is None:
                raise self.errorf(f"{quote(name)} is not a defined function")
        return self.eval_call(dot, fn, is_builtin, cmd, name, args, final)

    def eval_field(
        self,
        dot: Any,
        field_name: str,
        node: n.Node,
        args: list[n.Node] | None,
        final: Any,
        receiver: Any,
    ) -> Any:
        if receiver is NOVALUE:
            if self.tmpl.common.missing_key == "error":
                raise self.errorf(f"nil data; no entry for key {quote(field_name)}")
            return NOVALUE
        was_iface = type(receiver) is Iface
        if was_iface:
            receiver = receiver.value
            if receiver is None:
                raise self.errorf(f"nil pointer evaluating {IFACE}.{field_name}")
        if type(receiver) is dict:  # fast path: map[string]interface {}
            if final is MISSING and (args is None or len(args) <= 1):
                if field_name in receiver:
                    return Iface(receiver[field_name])
            else:
                raise self.errorf(f"{field_name} is not a method but has arguments")
        typ = IFACE if was_iface else type_name(receiver)
        method = _method_of(receiver, field_name)
        if method is not None:
            return self.eval_call(dot, method, False, node, field_name, args, final)
        has_args = (args is not None and len(args) > 1) or final is not MISSING
        if isinstance(receiver, dict):
            if has_args:
                raise self.errorf(f"{field_name} is not a method but has arguments")
            if field_name in receiver:
                return wrap_elem(receiver, receiver[field_name])
            mk = self.tmpl.common.missing_key
            if mk == "zero":
                return zero_value(getattr(receiver, "elem", IFACE))
            if mk == "error":
                raise self.errorf(f"map has no entry for key {quote(field_name)}")
            return NOVALUE
        raise self.errorf(f"can't evaluate field {field_name} in type {typ}")

    # -- calls
    def eval_call(
        self,
        dot: Any,
        fn: Callable[..., Any],
        is_builtin: bool,
        node: n.Node,
        name: str,
        args: list[n.Node] | None,
        final: Any,
    ) -> Any:
        argnodes = args[1:] if args is not None else []
        sig = signature_of(fn)
        num_in = len(argnodes) + (0 if final is MISSING else 1)
        num_fixed = len(argnodes)
        params = sig.params
        if sig.variadic is not None:
            num_fixed = len(params)
            if num_in < num_fixed:
                raise self.errorf(
                    f"wrong number of args for {name}: want at least {len(params)} "
                    f"got {len(argnodes)}"
                )
        elif num_in != len(params):
            raise self.errorf(f"wrong number of args for {name}: want {len(params)} got {num_in}")

        if is_builtin and name in ("and", "or"):
            want = name == "or"
            v: Any = NOVALUE
            for arg in argnodes:
                v = self.eval_arg(dot, REFLECT_VALUE, arg)
                if truth(v) == want:
                    return v
            if final is not MISSING:
                v = self.validate_type(final, REFLECT_VALUE)
            return v

        argv: list[Any] = []
        i = 0
        while i < num_fixed and i < len(argnodes):
            argv.append(self.eval_arg(dot, params[i], argnodes[i]))
            i += 1
        if sig.variadic is not None:
            vt = sig.variadic
            while i < len(argnodes):
                argv.append(self.eval_arg(dot, vt, argnodes[i]))
                i += 1
        if final is not MISSING:
            if sig.variadic is not None:
                t = params[num_in - 1] if num_in - 1 < num_fixed else sig.variadic
            else:
                t = params[-1]
            argv.append(self.validate_type(final, t))

        if REFLECT_VALUE in sig.params or sig.variadic == REFLECT_VALUE:
            py_args = [_arg_for(a, _param_type(sig, k)) for k, a in enumerate(argv)]
        else:
            py_args = [(a.value if type(a) is Iface else None if a is NOVALUE else a) for a in argv]
        try:
            result = fn(*py_args)
        except (ExecError, _Break, _Continue, RecursionError):
            raise
        except Exception as e:
            self.node = node
            raise self.errorf(f"error calling {name}: {_panic_text(e)}") from None
        if sig.result == IFACE and not isinstance(result, Iface):
            return Iface(result)
        if sig.result == REFLECT_VALUE:
            return result
        return result

    def validate_type(self, value: Any, typ: str | None) -> Any:
        if value is NOVALUE:
            if typ is None:
                return NOVALUE
            if can_be_nil(typ):
                return zero_value(typ)
            raise self.errorf(f"invalid value; expected {typ}")
        if typ == REFLECT_VALUE:
            return value
        if typ is not None and not assignable(value, typ):
            if isinstance(value, Iface) and value.value is not None:
                value = value.value
                if assignable(value, typ):
                    return value
            raise self.errorf(f"wrong type for value; expected {typ}; got {type_name(value)}")
        return value

    def eval_arg(self, dot: Any, typ: str | None, node: n.Node) -> Any:
        self.node = node
        kind = node.kind
        if kind == "dot":
            return self.validate_type(dot, typ)
        if kind == "nil":
            if typ is not None and can_be_nil(typ):
                return zero_value(typ)
            raise self.errorf(f"cannot assign nil to {typ}")
        if kind == "field":
            return self.validate_type(
                self.eval_field_node(dot, node, [node], MISSING),  # type: ignore[arg-type]
                typ,
            )
        if kind == "variable":
            return self.validate_type(
                self.eval_variable_node(dot, node, None, MISSING),  # type: ignore[arg-type]
                typ,
            )
        if kind == "pipe":
            return self.validate_type(self.eval_pipeline(dot, node), typ)  # type: ignore[arg-type]
        if kind == "identifier":
            return self.validate_type(
                self.eval_function(dot, node, node, None, MISSING),  # type: ignore[arg-type]
                typ,
            )
        if kind == "chain":
            return self.validate_type(
                self.eval_chain_node(dot, node, None, MISSING),  # type: ignore[arg-type]
                typ,
            )
        assert typ is not None
        k = kind_of(typ)
        if k == "bool":
            if kind == "bool":
                return node.true  # type: ignore[attr-defined]
            raise self.errorf(f"expected bool; found {node}")
        if k in ("complex64", "complex128"):
            if kind == "number" and node.is_complex:  # type: ignore[attr-defined]
                return node.complex128  # type: ignore[attr-defined]
            raise self.errorf(f"expected complex; found {node}")
        if k in gotypes.FLOAT_TYPES:
            if kind == "number" and node.is_float:  # type: ignore[attr-defined]
                f = node.float64  # type: ignore[attr-defined]
                return gotypes.Float32(f) if k == "float32" else f
            raise self.errorf(f"expected float; found {node}")
        if k in gotypes.INT_TYPES:
            if kind == "number" and node.is_int:  # type: ignore[attr-defined]
                return make_int(typ, node.int64)  # type: ignore[attr-defined]
            raise self.errorf(f"expected integer; found {node}")
        if k == "interface" and typ == IFACE:
            return self.eval_empty_interface(dot, node)
        if typ == REFLECT_VALUE:
            return self.eval_empty_interface(dot, node)
        if k == "string":
            if kind == "string":
                return node.text  # type: ignore[attr-defined]
            raise self.errorf(f"expected string; found {node}")
        if k in gotypes.UINT_TYPES:
            if kind == "number" and node.is_uint:  # type: ignore[attr-defined]
                return make_int(typ, node.uint64)  # type: ignore[attr-defined]
            raise self.errorf(f"expected unsigned integer; found {node}")
        raise self.errorf(f"can't handle {node} for arg of type {typ}")

    def eval_empty_interface(self, dot: Any, node: n.Node) -> Any:
        self.node = node
        kind = node.kind
        if kind == "bool":
            return node.true  # type: ignore[attr-defined]
        if kind == "dot":
            return dot
        if kind == "field":
            return self.eval_field_node(dot, node, [], MISSING)  # type: ignore[arg-type]
        if kind == "identifier":
            return self.eval_function(dot, node, node, None, MISSING)  # type: ignore[arg-type]
        if kind == "nil":
            raise self.errorf("evalEmptyInterface: nil (can't happen)")
        if kind == "number":
            return self.ideal_constant(node)  # type: ignore[arg-type]
        if kind == "string":
            return node.text  # type: ignore[attr-defined]
        if kind == "variable":
            return self.eval_variable_node(dot, node, None, MISSING)  # type: ignore[arg-type]
        if kind == "pipe":
            return self.eval_pipeline(dot, node)  # type: ignore[arg-type]
        raise self.errorf(f"can't handle assignment of {node} to empty interface argument")

    # -- printing
    def print_value(self, node: n.Node, v: Any) -> None:
        self.node = node
        if v is NOVALUE:
            self.out.append("<no value>")
            return
        t = type(v)
        if t is str:
            self.out.append(v)
        elif t is float or t is int or t is bool:
            self.out.append(format_value(v))
        else:
            if callable(v) and not isinstance(v, dict | list):
                raise self.errorf(f"can't print {node} of type {type_name(v)}")
            self.out.append(sprint(v))

    def sprint_value(self, v: Any) -> str:
        """fmt's ``%v`` of a reflect.Value."""
        if v is NOVALUE:
            return "<invalid reflect.Value>"
        if isinstance(v, Iface):
            return "<nil>" if v.value is None else sprint(v.value)
        return sprintf("%v", v)


def _method_of(receiver: Any, name: str) -> Callable[..., Any] | None:
    """A Go method: an exported (capitalised) callable attribute of a non-basic object."""
    if not name[:1].isupper():
        return None
    if isinstance(receiver, str | int | float | bool | dict | list | tuple | complex):
        return None
    attr = getattr(receiver, name, None)
    if attr is not None and callable(attr):
        return attr  # type: ignore[no-any-return]
    return None


def _panic_text(e: Exception) -> str:
    if isinstance(e, gotypes.GoError | BuiltinError):
        return str(e)
    if isinstance(e, ZeroDivisionError):
        return "runtime error: integer divide by zero"
    return str(e) or type(e).__name__


def _param_type(sig: GoSignature, k: int) -> str:
    if k < len(sig.params):
        return sig.params[k]
    return sig.variadic or IFACE


def _arg_for(v: Any, typ: str) -> Any:
    if typ == REFLECT_VALUE:
        return v
    return to_python(v)


def can_be_nil(typ: str) -> bool:
    k = kind_of(typ)
    return k in ("interface", "map", "slice", "func") or typ == REFLECT_VALUE or typ.startswith("*")


def zero_value(typ: str) -> Any:
    """``reflect.Zero(typ)`` in the executor's model."""
    if typ == IFACE:
        return NIL_IFACE
    if typ == REFLECT_VALUE:
        return NOVALUE
    k = kind_of(typ)
    if k == "slice":
        return [] if typ == "[]interface {}" else gotypes.GoSlice(typ[2:])
    if k == "map":
        return {} if typ == "map[string]interface {}" else gotypes.GoMap(typ[len("map[string]") :])
    if k in gotypes.INT_TYPES or k in gotypes.UINT_TYPES:
        return make_int(typ, 0)
    if k in gotypes.FLOAT_TYPES:
        return 0.0
    if k == "string":
        return ""
    if k == "bool":
        return False
    return None


def assignable(value: Any, typ: str) -> bool:
    if typ == IFACE:
        return True
    if isinstance(value, Iface):
        return False
    return type_name(value) == typ


def is_true(v: Any) -> bool:
    if v is NOVALUE:
        return False
    return gotypes.truth(v)


def ensure_recursion_limit() -> None:
    """Deeply nested templates need more Python frames than the default limit."""
    if sys.getrecursionlimit() < _MIN_RECURSION:
        sys.setrecursionlimit(_MIN_RECURSION)
