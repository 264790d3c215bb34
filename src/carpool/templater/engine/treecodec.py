"""Parse trees as plain JSON data, and back: what the persistent parse cache stores.

The cache lives on disk, so what it holds is treated as untrusted input: trees are
stored as nested lists of ints, floats, strings and booleans (no pickle, nothing that
names a class or runs code), and :func:`decode_trees` checks the type of every field
while it rebuilds the nodes, so a damaged entry fails with :class:`ValueError` (the
caller parses instead) rather than handing the executor something the parser never
produces.

A node is ``[code, pos, fields…]``, in the order of :data:`_CODES`; a tree set is
``[[name, root], …]`` in the parser's order, with ``name`` ``None`` for the tree named
like the template being parsed (the name is a key of the cache entry, not its data).
Every node of a tree points to that tree, as the parser's do; all trees of one parse
share the template's text and parse name (what execution errors print).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carpool.templater.engine import nodes as n
from carpool.templater.engine.nodes import Tree

_LIST, _TEXT, _COMMENT, _PIPE, _ACTION, _COMMAND, _IDENT, _VAR, _DOT, _NIL = range(10)
_FIELD, _CHAIN, _BOOL, _NUMBER, _STRING, _IF, _RANGE, _WITH, _BREAK, _CONTINUE = range(10, 20)
_TEMPLATE = 20

# number flags (is_int, is_uint, is_float, is_complex) as one int
_IS_INT, _IS_UINT, _IS_FLOAT, _IS_COMPLEX = 1, 2, 4, 8

_BRANCHES: dict[int, type[n.BranchNode]] = {_IF: n.IfNode, _RANGE: n.RangeNode, _WITH: n.WithNode}
_BRANCH_CODES = {n.IfNode: _IF, n.RangeNode: _RANGE, n.WithNode: _WITH}


# ------------------------------------------------------------------ encoding


def encode_trees(trees: dict[str, Tree], name: str) -> list[Any]:
    """The tree set of one parse of template ``name`` as JSON-ready lists."""
    out: list[Any] = []
    for tree_name, tree in trees.items():
        if tree.root is None:
            raise ValueError(f"tree {tree_name!r} has no root")
        out.append([None if tree_name == name else tree_name, _encode(tree.root)])
    return out


def _encode(node: n.Node) -> list[Any]:
    """One node (and its children) as lists; dispatched on the exact node class."""
    encoder = _ENCODERS.get(type(node))
    if encoder is None:
        raise ValueError(f"cannot encode {type(node).__name__}")
    return encoder(node)


def _encode_number(node: n.NumberNode) -> list[Any]:
    flags = (
        (_IS_INT if node.is_int else 0)
        | (_IS_UINT if node.is_uint else 0)
        | (_IS_FLOAT if node.is_float else 0)
        | (_IS_COMPLEX if node.is_complex else 0)
    )
    c = node.complex128
    numbers = [node.int64, node.uint64, node.float64, c.real, c.imag]
    return [_NUMBER, node.pos, node.text, flags, *numbers]


def _encode_pipe(node: n.PipeNode) -> list[Any]:
    decl = [_encode(v) for v in node.decl]
    return [_PIPE, node.pos, node.line, node.is_assign, decl, [_encode(c) for c in node.cmds]]


def _encode_branch(node: n.BranchNode) -> list[Any]:
    else_list = None if node.else_list is None else _encode(node.else_list)
    code = _BRANCH_CODES[type(node)]
    return [code, node.pos, node.line, _encode(node.pipe), _encode(node.list), else_list]


_ENCODERS: dict[type[n.Node], Callable[[Any], list[Any]]] = {
    n.ListNode: lambda x: [_LIST, x.pos, [_encode(c) for c in x.nodes]],
    n.TextNode: lambda x: [_TEXT, x.pos, x.text],
    n.ActionNode: lambda x: [_ACTION, x.pos, x.line, _encode(x.pipe)],
    n.PipeNode: _encode_pipe,
    n.CommandNode: lambda x: [_COMMAND, x.pos, [_encode(a) for a in x.args]],
    n.FieldNode: lambda x: [_FIELD, x.pos, list(x.ident)],
    n.VariableNode: lambda x: [_VAR, x.pos, list(x.ident)],
    n.IdentifierNode: lambda x: [_IDENT, x.pos, x.ident],
    n.StringNode: lambda x: [_STRING, x.pos, x.quoted, x.text],
    n.DotNode: lambda x: [_DOT, x.pos],
    n.IfNode: _encode_branch,
    n.RangeNode: _encode_branch,
    n.WithNode: _encode_branch,
    n.NumberNode: _encode_number,
    n.TemplateNode: lambda x: [
        _TEMPLATE,
        x.pos,
        x.line,
        x.name,
        None if x.pipe is None else _encode(x.pipe),
    ],
    n.ChainNode: lambda x: [_CHAIN, x.pos, _encode(x.node), list(x.field)],
    n.BoolNode: lambda x: [_BOOL, x.pos, x.true],
    n.NilNode: lambda x: [_NIL, x.pos],
    n.CommentNode: lambda x: [_COMMENT, x.pos, x.text],
    n.BreakNode: lambda x: [_BREAK, x.pos, x.line],
    n.ContinueNode: lambda x: [_CONTINUE, x.pos, x.line],
}


# ------------------------------------------------------------------ decoding


def decode_trees(data: Any, name: str, text: str, used_funcs: set[str]) -> dict[str, Tree]:
    """Rebuild the tree set :func:`encode_trees` made of parsing ``text`` as ``name``.

    Raises :class:`ValueError` if ``data`` is not exactly such a structure.
    """
    if type(data) is not list:
        raise ValueError("tree set is not a list")
    trees: dict[str, Tree] = {}
    try:
        for tree_name, root in data:
            if tree_name is None:
                tree_name = name
            elif type(tree_name) is not str:
                raise ValueError("tree name is not a string")
            tree = Tree.__new__(Tree)
            tree.name = tree_name
            tree.parse_name = name
            tree.text = text
            tree.used_funcs = used_funcs
            tree.root = _Decoder(tree).list_node(root)
            trees[tree_name] = tree
    except (TypeError, IndexError, KeyError, AttributeError, RecursionError) as exc:
        raise ValueError(f"malformed tree: {type(exc).__name__}") from None
    if name not in trees:
        raise ValueError("tree set lacks the template's own tree")
    return trees


def _int(v: Any) -> int:
    if type(v) is not int:
        raise ValueError("expected an int")
    return v


def _str(v: Any) -> str:
    if type(v) is not str:
        raise ValueError("expected a string")
    return v


def _float(v: Any) -> float:
    if type(v) is not float:
        raise ValueError("expected a float")
    return v


def _strs(v: Any) -> list[str]:
    if type(v) is not list or not v:
        raise ValueError("expected a non-empty list of strings")
    for s in v:  # a loop: all() over a generator costs more for these short lists
        if type(s) is not str:
            raise ValueError("expected a non-empty list of strings")
    return v


_CLASSES: dict[int, type[n.Node]] = {
    _LIST: n.ListNode,
    _TEXT: n.TextNode,
    _COMMENT: n.CommentNode,
    _PIPE: n.PipeNode,
    _ACTION: n.ActionNode,
    _COMMAND: n.CommandNode,
    _IDENT: n.IdentifierNode,
    _VAR: n.VariableNode,
    _DOT: n.DotNode,
    _NIL: n.NilNode,
    _FIELD: n.FieldNode,
    _CHAIN: n.ChainNode,
    _BOOL: n.BoolNode,
    _NUMBER: n.NumberNode,
    _STRING: n.StringNode,
    _IF: n.IfNode,
    _RANGE: n.RangeNode,
    _WITH: n.WithNode,
    _BREAK: n.BreakNode,
    _CONTINUE: n.ContinueNode,
    _TEMPLATE: n.TemplateNode,
}
_new = object.__new__


class _Decoder:
    """Rebuilds the nodes of one tree (each node points to it), checking every field.

    Written flat (no helper call per node or field): a cached run decodes thousands
    of nodes, and this is most of its cost.
    """

    __slots__ = ("tree",)

    def __init__(self, tree: Tree) -> None:
        self.tree = tree

    def list_node(self, d: Any) -> n.ListNode:
        if type(d) is not list or d[0] != _LIST:
            raise ValueError("expected a list node")
        return self.node(d)  # type: ignore[return-value]

    def pipe(self, d: Any) -> n.PipeNode:
        if type(d) is not list or d[0] != _PIPE:
            raise ValueError("expected a pipe node")
        return self.node(d)  # type: ignore[return-value]

    def node(self, d: Any) -> n.Node:
        if type(d) is not list:
            raise ValueError("expected a node")
        code = d[0]
        pos = d[1]
        if type(pos) is not int:
            raise ValueError("expected an int position")
        node: Any = _new(_CLASSES[code])
        node.tree = self.tree
        node.pos = pos
        if code == _TEXT:
            text = d[2]
            if type(text) is not str:
                raise ValueError("expected a string")
            node.text = text
        elif code == _ACTION:
            node.line = _int(d[2])
            node.pipe = self.pipe(d[3])
        elif code in (_FIELD, _VAR):
            node.ident = _strs(d[2])
        elif code == _COMMAND:
            args = d[2]
            if type(args) is not list or not args:
                raise ValueError("expected command arguments")
            node.args = [self.node(a) for a in args]
        elif code == _PIPE:
            node.line = _int(d[2])
            if type(d[3]) is not bool:
                raise ValueError("expected a bool")
            node.is_assign = d[3]
            decl = []
            for v in d[4]:
                if type(v) is not list or v[0] != _VAR:
                    raise ValueError("expected a variable node")
                decl.append(self.node(v))
            node.decl = decl
            cmds = []
            for c in d[5]:
                if type(c) is not list or c[0] != _COMMAND:
                    raise ValueError("expected a command node")
                cmds.append(self.node(c))
            if not cmds:
                raise ValueError("a pipeline without commands")
            node.cmds = cmds
        elif code == _LIST:
            items = d[2]
            if type(items) is not list:
                raise ValueError("expected a list of nodes")
            node.nodes = [self.node(c) for c in items]
        elif code == _IDENT:
            node.ident = _str(d[2])
        elif code == _STRING:
            node.quoted = _str(d[2])
            node.text = _str(d[3])
        elif code in _BRANCHES:
            node.line = _int(d[2])
            node.pipe = self.pipe(d[3])
            node.list = self.list_node(d[4])
            node.else_list = None if d[5] is None else self.list_node(d[5])
        elif code == _NUMBER:
            node.text = _str(d[2])
            flags = _int(d[3])
            node.is_int = bool(flags & _IS_INT)
            node.is_uint = bool(flags & _IS_UINT)
            node.is_float = bool(flags & _IS_FLOAT)
            node.is_complex = bool(flags & _IS_COMPLEX)
            node.int64 = _int(d[4])
            node.uint64 = _int(d[5])
            node.float64 = _float(d[6])
            node.complex128 = complex(_float(d[7]), _float(d[8]))
        elif code == _TEMPLATE:
            node.line = _int(d[2])
            node.name = _str(d[3])
            node.pipe = None if d[4] is None else self.pipe(d[4])
        elif code == _CHAIN:
            node.node = self.node(d[2])
            node.field = _strs(d[3])
        elif code == _BOOL:
            if type(d[2]) is not bool:
                raise ValueError("expected a bool")
            node.true = d[2]
        elif code == _COMMENT:
            node.text = _str(d[2])
        elif code in (_BREAK, _CONTINUE):
            node.line = _int(d[2])
        elif code != _DOT and code != _NIL:
            raise ValueError(f"unknown node code {code!r}")
        return node  # type: ignore[no-any-return]
