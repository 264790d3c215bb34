"""Parse-tree nodes of Go's ``text/template`` (``text/template/parse/node.go``).

Each node keeps its byte position and tree so that execution errors can name the
``NAME:LINE:COL`` and print the node back (``executing "t" at <.a.b>: …``) exactly as
Go does; ``str(node)`` is Go's ``node.String()``.
"""

from __future__ import annotations

from typing import Any

from carpool.errors import TemplateError
from carpool.templater.gofmt import quote


class ParseError(TemplateError):
    """A template that Go's parser would reject; the message is Go's."""


class Tree:
    """A parsed template as execution sees it: Go's ``parse.Tree`` without the parser.

    Trees rebuilt from the persistent parse cache are of this class, so a run whose
    templates are all cached never imports the lexer and parser;
    :class:`carpool.templater.engine.parser.Tree` adds the parsing state and methods.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.parse_name = name
        """The name parse errors (and execution errors) print: the top template's."""
        self.root: ListNode | None = None
        self.text = ""
        """The whole text parsed (node positions index it)."""
        self.used_funcs: set[str] = set()
        """The function names the text calls (shared by all trees of one parse)."""


class Node:
    __slots__ = ("pos", "tree")
    kind = "node"

    def __init__(self, tree: Tree | None, pos: int) -> None:
        self.tree = tree
        self.pos = pos

    def __str__(self) -> str:
        return self.string()

    def string(self) -> str:
        raise NotImplementedError


class ListNode(Node):
    __slots__ = ("nodes",)
    kind = "list"

    def __init__(self, tree: Tree | None, pos: int) -> None:
        super().__init__(tree, pos)
        self.nodes: list[Node] = []

    def string(self) -> str:
        return "".join(n.string() for n in self.nodes)


class TextNode(Node):
    __slots__ = ("text",)
    kind = "text"

    def __init__(self, tree: Tree | None, pos: int, text: str) -> None:
        super().__init__(tree, pos)
        self.text = text

    def string(self) -> str:
        return self.text


class CommentNode(Node):
    __slots__ = ("text",)
    kind = "comment"

    def __init__(self, tree: Tree | None, pos: int, text: str) -> None:
        super().__init__(tree, pos)
        self.text = text

    def string(self) -> str:
        return "{{" + self.text + "}}"


class PipeNode(Node):
    __slots__ = ("cmds", "decl", "is_assign", "line")
    kind = "pipe"

    def __init__(self, tree: Tree | None, pos: int, line: int) -> None:
        super().__init__(tree, pos)
        self.line = line
        self.is_assign = False
        self.decl: list[VariableNode] = []
        self.cmds: list[CommandNode] = []

    def string(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(v.string() for v in self.decl) + " := "
        return s + " | ".join(c.string() for c in self.cmds)


class ActionNode(Node):
    __slots__ = ("line", "pipe")
    kind = "action"

    def __init__(self, tree: Tree | None, pos: int, line: int, pipe: PipeNode) -> None:
        super().__init__(tree, pos)
        self.line = line
        self.pipe = pipe

    def string(self) -> str:
        return "{{" + self.pipe.string() + "}}"


class CommandNode(Node):
    __slots__ = ("args",)
    kind = "command"

    def __init__(self, tree: Tree | None, pos: int) -> None:
        super().__init__(tree, pos)
        self.args: list[Node] = []

    def string(self) -> str:
        parts = []
        for a in self.args:
            if isinstance(a, PipeNode):
                parts.append("(" + a.string() + ")")
            else:
                parts.append(a.string())
        return " ".join(parts)


class IdentifierNode(Node):
    __slots__ = ("ident",)
    kind = "identifier"

    def __init__(self, tree: Tree | None, pos: int, ident: str) -> None:
        super().__init__(tree, pos)
        self.ident = ident

    def string(self) -> str:
        return self.ident


class VariableNode(Node):
    __slots__ = ("ident",)
    kind = "variable"

    def __init__(self, tree: Tree | None, pos: int, ident: str) -> None:
        super().__init__(tree, pos)
        self.ident = ident.split(".")

    def string(self) -> str:
        return ".".join(self.ident)


class DotNode(Node):
    __slots__ = ()
    kind = "dot"

    def string(self) -> str:
        return "."


class NilNode(Node):
    __slots__ = ()
    kind = "nil"

    def string(self) -> str:
        return "nil"


class FieldNode(Node):
    __slots__ = ("ident",)
    kind = "field"

    def __init__(self, tree: Tree | None, pos: int, ident: str) -> None:
        super().__init__(tree, pos)
        self.ident = ident[1:].split(".")

    def string(self) -> str:
        return "".join("." + i for i in self.ident)


class ChainNode(Node):
    __slots__ = ("field", "node")
    kind = "chain"

    def __init__(self, tree: Tree | None, pos: int, node: Node) -> None:
        super().__init__(tree, pos)
        self.node = node
        self.field: list[str] = []

    def add(self, field: str) -> None:
        self.field.append(field[1:])

    def string(self) -> str:
        if isinstance(self.node, PipeNode):
            s = "(" + self.node.string() + ")"
        else:
            s = self.node.string()
        return s + "".join("." + f for f in self.field)


class BoolNode(Node):
    __slots__ = ("true",)
    kind = "bool"

    def __init__(self, tree: Tree | None, pos: int, true: bool) -> None:
        super().__init__(tree, pos)
        self.true = true

    def string(self) -> str:
        return "true" if self.true else "false"


class NumberNode(Node):
    __slots__ = (
        "complex128",
        "float64",
        "int64",
        "is_complex",
        "is_float",
        "is_int",
        "is_uint",
        "text",
        "uint64",
    )
    kind = "number"

    def __init__(self, tree: Tree | None, pos: int, text: str) -> None:
        super().__init__(tree, pos)
        self.text = text
        self.is_int = self.is_uint = self.is_float = self.is_complex = False
        self.int64 = 0
        self.uint64 = 0
        self.float64 = 0.0
        self.complex128: complex = 0j

    def string(self) -> str:
        return self.text


class StringNode(Node):
    __slots__ = ("quoted", "text")
    kind = "string"

    def __init__(self, tree: Tree | None, pos: int, quoted: str, text: str) -> None:
        super().__init__(tree, pos)
        self.quoted = quoted
        self.text = text

    def string(self) -> str:
        return self.quoted


class EndNode(Node):
    __slots__ = ()
    kind = "end"

    def string(self) -> str:
        return "{{end}}"


class ElseNode(Node):
    __slots__ = ("line",)
    kind = "else"

    def __init__(self, tree: Tree | None, pos: int, line: int) -> None:
        super().__init__(tree, pos)
        self.line = line

    def string(self) -> str:
        return "{{else}}"


class BranchNode(Node):
    __slots__ = ("else_list", "line", "list", "pipe")
    kind = "branch"
    keyword = ""

    def __init__(
        self,
        tree: Tree | None,
        pos: int,
        line: int,
        pipe: PipeNode,
        lst: ListNode,
        else_list: ListNode | None,
    ) -> None:
        super().__init__(tree, pos)
        self.line = line
        self.pipe = pipe
        self.list = lst
        self.else_list = else_list

    def string(self) -> str:
        s = "{{" + self.keyword + " " + self.pipe.string() + "}}" + self.list.string()
        if self.else_list is not None:
            s += "{{else}}" + self.else_list.string()
        return s + "{{end}}"


class IfNode(BranchNode):
    __slots__ = ()
    kind = "if"
    keyword = "if"


class RangeNode(BranchNode):
    __slots__ = ()
    kind = "range"
    keyword = "range"


class WithNode(BranchNode):
    __slots__ = ()
    kind = "with"
    keyword = "with"


class BreakNode(Node):
    __slots__ = ("line",)
    kind = "break"

    def __init__(self, tree: Tree | None, pos: int, line: int) -> None:
        super().__init__(tree, pos)
        self.line = line

    def string(self) -> str:
        return "{{break}}"


class ContinueNode(Node):
    __slots__ = ("line",)
    kind = "continue"

    def __init__(self, tree: Tree | None, pos: int, line: int) -> None:
        super().__init__(tree, pos)
        self.line = line

    def string(self) -> str:
        return "{{continue}}"


class TemplateNode(Node):
    __slots__ = ("line", "name", "pipe")
    kind = "template"

    def __init__(
        self, tree: Tree | None, pos: int, line: int, name: str, pipe: PipeNode | None
    ) -> None:
        super().__init__(tree, pos)
        self.line = line
        self.name = name
        self.pipe = pipe

    def string(self) -> str:
        s = "{{template " + quote(self.name)
        if self.pipe is not None:
            s += " " + self.pipe.string()
        return s + "}}"


def is_empty_tree(n: Any) -> bool:
    """Go's ``parse.IsEmptyTree``: only space text and comments."""
    if n is None or isinstance(n, CommentNode):
        return True
    if isinstance(n, ListNode):
        return all(is_empty_tree(x) for x in n.nodes)
    if isinstance(n, TextNode):
        return n.text.strip(" \t\n\v\f\r\x85\xa0") == ""
    return False
