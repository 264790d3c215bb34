"""The parser of Go's ``text/template`` (a port of Go 1.19 ``text/template/parse/parse.go``).

The three-token lookahead is kept as in Go because parse error messages use the line of
the most recently read token.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container

from carpool.templater.engine import nodes as n
from carpool.templater.engine.lexer import Item, Lexer, T
from carpool.templater.gofmt import quote

_SPACE = T.SPACE


ParseError = n.ParseError


class _Abort(Exception):
    pass


class Tree(n.Tree):
    """One template being parsed (Go's ``parse.Tree`` with its parser state)."""

    def __init__(self, name: str, funcs: Container[str] | None = None) -> None:
        super().__init__(name)
        self.funcs: Container[str] = funcs if funcs is not None else ()
        self.lex: Lexer | None = None
        self.token: list[Item] = [Item(T.EOF, 0, "", 0)] * 3
        self.peek_count = 0
        self.vars: list[str] = []
        self.tree_set: dict[str, Tree] = {}
        self.action_line = 0
        self.range_depth = 0

    # -- token stream
    def next(self) -> Item:
        if self.peek_count > 0:
            self.peek_count -= 1
        else:
            assert self.lex is not None
            self.token[0] = self.lex.next_item()
        return self.token[self.peek_count]

    def backup(self) -> None:
        self.peek_count += 1

    def backup2(self, t1: Item) -> None:
        self.token[1] = t1
        self.peek_count = 2

    def backup3(self, t2: Item, t1: Item) -> None:
        self.token[1] = t1
        self.token[2] = t2
        self.peek_count = 3

    def peek(self) -> Item:
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        self.peek_count = 1
        assert self.lex is not None
        self.token[0] = self.lex.next_item()
        return self.token[0]

    def next_non_space(self) -> Item:
        token = self.token
        while True:  # next(), inlined: this runs for nearly every token
            if self.peek_count > 0:
                self.peek_count -= 1
            else:
                assert self.lex is not None
                token[0] = self.lex.next_item()
            item = token[self.peek_count]
            if item.typ != _SPACE:
                return item

    def peek_non_space(self) -> Item:
        item = self.next_non_space()
        self.peek_count += 1
        return item

    # -- errors
    def errorf(self, msg: str) -> None:
        self.root = None
        raise ParseError(f"template: {self.parse_name}:{self.token[0].line}: {msg}")

    def expect(self, expected: int, context: str) -> Item:
        token = self.next_non_space()
        if token.typ != expected:
            self.unexpected(token, context)
        return token

    def expect_one_of(self, e1: int, e2: int, context: str) -> Item:
        token = self.next_non_space()
        if token.typ not in (e1, e2):
            self.unexpected(token, context)
        return token

    def unexpected(self, token: Item, context: str) -> None:
        if token.typ == T.ERROR:
            extra = ""
            if self.action_line != 0 and self.action_line != token.line:
                extra = f" in action started at {self.parse_name}:{self.action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            self.errorf(f"{token}{extra}")
        self.errorf(f"unexpected {token} in {context}")

    # -- entry point
    def start_parse(self, funcs: Container[str], lex: Lexer, tree_set: dict[str, Tree]) -> None:
        self.root = None
        self.lex = lex
        self.vars = ["$"]
        self.funcs = funcs
        self.tree_set = tree_set

    def stop_parse(self) -> None:
        self.lex = None
        self.vars = []
        self.funcs = ()
        self.tree_set = {}

    def parse_text(
        self,
        text: str,
        left: str,
        right: str,
        tree_set: dict[str, Tree],
        funcs: Container[str],
    ) -> Tree:
        self.parse_name = self.name
        lex = Lexer(
            text,
            left,
            right,
            break_ok="break" not in funcs,
            continue_ok="continue" not in funcs,
        )
        self.start_parse(funcs, lex, tree_set)
        self.text = text
        self.parse()
        self.add()
        self.stop_parse()
        return self

    def add(self) -> None:
        tree = self.tree_set.get(self.name)
        if tree is None or n.is_empty_tree(tree.root):
            self.tree_set[self.name] = self
            return
        if not n.is_empty_tree(self.root):
            self.errorf(f"template: multiple definition of template {quote(self.name)}")

    def parse(self) -> None:
        self.root = n.ListNode(self, self.peek().pos)
        while self.peek().typ != T.EOF:
            if self.peek().typ == T.LEFT_DELIM:
                delim = self.next()
                if self.next_non_space().typ == T.DEFINE:
                    new_t = Tree("definition")
                    new_t.text = self.text
                    new_t.parse_name = self.parse_name
                    new_t.used_funcs = self.used_funcs
                    assert self.lex is not None
                    new_t.start_parse(self.funcs, self.lex, self.tree_set)
                    new_t.parse_definition()
                    continue
                self.backup2(delim)
            node = self.text_or_action()
            if isinstance(node, n.EndNode | n.ElseNode):
                self.errorf(f"unexpected {node}")
            else:
                self.root.nodes.append(node)

    def parse_definition(self) -> None:
        context = "define clause"
        name = self.expect_one_of(T.STRING, T.RAW_STRING, context)
        self.name = self._unquote(name.val)
        self.expect(T.RIGHT_DELIM, context)
        self.root, end = self.item_list()
        if not isinstance(end, n.EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add()
        self.stop_parse()

    def item_list(self) -> tuple[n.ListNode, n.Node]:
        lst = n.ListNode(self, self.peek_non_space().pos)
        while self.peek_non_space().typ != T.EOF:
            node = self.text_or_action()
            if isinstance(node, n.EndNode | n.ElseNode):
                return lst, node
            lst.nodes.append(node)
        self.errorf("unexpected EOF")
        raise AssertionError  # pragma: no cover

    def text_or_action(self) -> n.Node:
        token = self.next_non_space()
        if token.typ == T.TEXT:
            return n.TextNode(self, token.pos, token.val)
        if token.typ == T.LEFT_DELIM:
            self.action_line = token.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        if token.typ == T.COMMENT:
            return n.CommentNode(self, token.pos, token.val)
        self.unexpected(token, "input")
        raise AssertionError  # pragma: no cover

    def action(self) -> n.Node:
        token = self.next_non_space()
        typ = token.typ
        if typ == T.BLOCK:
            return self.block_control()
        if typ == T.BREAK:
            return self.break_control(token.pos, token.line)
        if typ == T.CONTINUE:
            return self.continue_control(token.pos, token.line)
        if typ == T.ELSE:
            return self.else_control()
        if typ == T.END:
            return self.end_control()
        if typ == T.IF:
            return n.IfNode(self, *self.parse_control(True, "if"))
        if typ == T.RANGE:
            return n.RangeNode(self, *self.parse_control(False, "range"))
        if typ == T.TEMPLATE:
            return self.template_control()
        if typ == T.WITH:
            return n.WithNode(self, *self.parse_control(False, "with"))
        self.backup()
        token = self.peek()
        return n.ActionNode(self, token.pos, token.line, self.pipeline("command", T.RIGHT_DELIM))

    def break_control(self, pos: int, line: int) -> n.Node:
        token = self.next_non_space()
        if token.typ != T.RIGHT_DELIM:
            self.unexpected(token, "{{break}}")
        if self.range_depth == 0:
            self.errorf("{{break}} outside {{range}}")
        return n.BreakNode(self, pos, line)

    def continue_control(self, pos: int, line: int) -> n.Node:
        token = self.next_non_space()
        if token.typ != T.RIGHT_DELIM:
            self.unexpected(token, "{{continue}}")
        if self.range_depth == 0:
            self.errorf("{{continue}} outside {{range}}")
        return n.ContinueNode(self, pos, line)

    def pipeline(self, context: str, end: int) -> n.PipeNode:
        token = self.peek_non_space()
        pipe = n.PipeNode(self, token.pos, token.line)
        while True:  # "decls:" label of Go
            v = self.peek_non_space()
            if v.typ != T.VARIABLE:
                break
            self.next()
            token_after = self.peek()
            nxt = self.peek_non_space()
            if nxt.typ in (T.ASSIGN, T.DECLARE):
                pipe.is_assign = nxt.typ == T.ASSIGN
                self.next_non_space()
                pipe.decl.append(n.VariableNode(self, v.pos, v.val))
                self.vars.append(v.val)
            elif nxt.typ == T.CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(n.VariableNode(self, v.pos, v.val))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (T.VARIABLE, T.RIGHT_DELIM, T.RIGHT_PAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            elif token_after.typ == T.SPACE:
                self.backup3(v, token_after)
            else:
                self.backup2(v)
            break
        while True:
            token = self.next_non_space()
            if token.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.typ in (
                T.BOOL,
                T.CHAR_CONSTANT,
                T.COMPLEX,
                T.DOT,
                T.FIELD,
                T.IDENTIFIER,
                T.NUMBER,
                T.NIL,
                T.RAW_STRING,
                T.STRING,
                T.VARIABLE,
                T.LEFT_PAREN,
            ):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def check_pipeline(self, pipe: n.PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(
                c.args[0], n.BoolNode | n.DotNode | n.NilNode | n.NumberNode | n.StringNode
            ):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def parse_control(
        self, allow_else_if: bool, context: str
    ) -> tuple[int, int, n.PipeNode, n.ListNode, n.ListNode | None]:
        nvars = len(self.vars)
        try:
            pipe = self.pipeline(context, T.RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list: n.ListNode | None = None
            if isinstance(nxt, n.ElseNode):
                if allow_else_if and self.peek().typ == T.IF:
                    self.next()
                    else_list = n.ListNode(self, nxt.pos)
                    else_list.nodes.append(n.IfNode(self, *self.parse_control(True, "if")))
                else:
                    else_list, nxt = self.item_list()
                    if not isinstance(nxt, n.EndNode):
                        self.errorf(f"expected end; found {nxt}")
            return pipe.pos, pipe.line, pipe, lst, else_list
        finally:
            del self.vars[nvars:]

    def end_control(self) -> n.Node:
        return n.EndNode(self, self.expect(T.RIGHT_DELIM, "end").pos)

    def else_control(self) -> n.Node:
        peek = self.peek_non_space()
        if peek.typ == T.IF:
            return n.ElseNode(self, peek.pos, peek.line)
        token = self.expect(T.RIGHT_DELIM, "else")
        return n.ElseNode(self, token.pos, token.line)

    def block_control(self) -> n.Node:
        context = "block clause"
        token = self.next_non_space()
        name = self.parse_template_name(token, context)
        pipe = self.pipeline(context, T.RIGHT_DELIM)
        block = Tree(name)
        block.text = self.text
        block.parse_name = self.parse_name
        block.used_funcs = self.used_funcs
        assert self.lex is not None
        block.start_parse(self.funcs, self.lex, self.tree_set)
        block.root, end = block.item_list()
        if not isinstance(end, n.EndNode):
            self.errorf(f"unexpected {end} in {context}")
        block.add()
        block.stop_parse()
        return n.TemplateNode(self, token.pos, token.line, name, pipe)

    def template_control(self) -> n.Node:
        context = "template clause"
        token = self.next_non_space()
        name = self.parse_template_name(token, context)
        pipe = None
        if self.next_non_space().typ != T.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, T.RIGHT_DELIM)
        return n.TemplateNode(self, token.pos, token.line, name, pipe)

    def parse_template_name(self, token: Item, context: str) -> str:
        if token.typ in (T.STRING, T.RAW_STRING):
            return self._unquote(token.val)
        self.unexpected(token, context)
        raise AssertionError  # pragma: no cover

    def command(self) -> n.CommandNode:
        cmd = n.CommandNode(self, self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.typ == T.SPACE:
                continue
            if token.typ in (T.RIGHT_DELIM, T.RIGHT_PAREN):
                self.backup()
            elif token.typ == T.PIPE:
                pass
            else:
                self.unexpected(token, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> n.Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == T.FIELD:
            chain = n.ChainNode(self, self.peek().pos, node)
            while self.peek().typ == T.FIELD:
                chain.add(self.next().val)
            if isinstance(node, n.FieldNode):
                return n.FieldNode(self, chain.pos, chain.string())
            if isinstance(node, n.VariableNode):
                return n.VariableNode(self, chain.pos, chain.string())
            if isinstance(node, n.BoolNode | n.StringNode | n.NumberNode | n.NilNode | n.DotNode):
                self.errorf(f"unexpected . after term {quote(node.string())}")
            return chain
        return node

    def term(self) -> n.Node | None:
        token = self.next_non_space()
        typ = token.typ
        if typ == T.IDENTIFIER:
            if token.val not in self.funcs:
                self.errorf(f"function {quote(token.val)} not defined")
            self.used_funcs.add(token.val)
            return n.IdentifierNode(self, token.pos, token.val)
        if typ == T.DOT:
            return n.DotNode(self, token.pos)
        if typ == T.NIL:
            return n.NilNode(self, token.pos)
        if typ == T.VARIABLE:
            return self.use_var(token.pos, token.val)
        if typ == T.FIELD:
            return n.FieldNode(self, token.pos, token.val)
        if typ == T.BOOL:
            return n.BoolNode(self, token.pos, token.val == "true")
        if typ in (T.CHAR_CONSTANT, T.COMPLEX, T.NUMBER):
            return self.new_number(token.pos, token.val, typ)
        if typ == T.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", T.RIGHT_PAREN)
        if typ in (T.STRING, T.RAW_STRING):
            return n.StringNode(self, token.pos, token.val, self._unquote(token.val))
        self.backup()
        return None

    def use_var(self, pos: int, name: str) -> n.Node:
        v = n.VariableNode(self, pos, name)
        if v.ident[0] in self.vars:
            return v
        self.errorf(f"undefined variable {quote(v.ident[0])}")
        raise AssertionError  # pragma: no cover

    def _unquote(self, s: str) -> str:
        try:
            return unquote(s)
        except ValueError:
            self.errorf("invalid syntax")
            raise AssertionError from None  # pragma: no cover

    def new_number(self, pos: int, text: str, typ: int) -> n.NumberNode:
        num = n.NumberNode(self, pos, text)
        if typ == T.CHAR_CONSTANT:
            try:
                r, tail = unquote_char(text[1:], "'")
            except ValueError:
                self.errorf("invalid syntax")
                raise AssertionError from None  # pragma: no cover
            if tail != "'":
                self.errorf(f"malformed character constant: {text}")
            num.int64 = num.uint64 = r
            num.float64 = float(r)
            num.is_int = num.is_uint = num.is_float = True
            return num
        if typ == T.COMPLEX:
            value = _parse_complex(text)
            if value is None:
                self.errorf("expected integer")
            assert value is not None
            num.is_complex = True
            num.complex128 = value
            _simplify_complex(num)
            return num
        if text.endswith("i"):
            f = parse_float(text[:-1])
            if f is not None:
                num.is_complex = True
                num.complex128 = complex(0, f)
                _simplify_complex(num)
                return num
        u = parse_int(text, signed=False)
        if u is not None and 0 <= u < 1 << 64:
            num.is_uint = True
            num.uint64 = u
        i = parse_int(text, signed=True)
        if i is not None and -(1 << 63) <= i < 1 << 63:
            num.is_int = True
            num.int64 = i
            if i == 0:
                num.is_uint = True
                num.uint64 = u if u is not None else 0
        if num.is_int:
            num.is_float = True
            num.float64 = float(num.int64)
        elif num.is_uint:
            num.is_float = True
            num.float64 = float(num.uint64)
        else:
            f = parse_float(text)
            if f is not None:
                if not any(c in text for c in ".eEpP"):
                    self.errorf(f"integer overflow: {quote(text)}")
                num.is_float = True
                num.float64 = f
                if f == math.floor(f) and -(2.0**63) <= f < 2.0**63:
                    num.is_int = True
                    num.int64 = int(f)
                if f == math.floor(f) and 0 <= f < 2.0**64:
                    num.is_uint = True
                    num.uint64 = int(f)
        if not (num.is_int or num.is_uint or num.is_float):
            self.errorf(f"illegal number syntax: {quote(text)}")
        return num


# ------------------------------------------------------------------ Go literal syntax


def _parse_complex(text: str) -> complex | None:
    """``fmt.Sscan`` of a complex constant like ``1+2i`` (what the lexer accepts)."""
    for k in range(len(text) - 2, 0, -1):
        if text[k] in "+-" and text[k - 1] not in "eEpP":
            re_part = parse_float(text[:k])
            im_part = parse_float(text[k:-1])
            if re_part is None or im_part is None:
                return None
            return complex(re_part, im_part)
    return None


def _simplify_complex(num: n.NumberNode) -> None:
    """Go's ``simplifyComplex``: a complex with no imaginary part is also a float/int."""
    num.is_float = num.complex128.imag == 0
    if num.is_float:
        f = num.complex128.real
        num.float64 = f
        integral = f == math.floor(f) if math.isfinite(f) else False
        num.is_int = integral and -(2.0**63) <= f < 2.0**63
        if num.is_int:
            num.int64 = int(f)
        num.is_uint = integral and 0 <= f < 2.0**64
        if num.is_uint:
            num.uint64 = int(f)


def _underscore_ok(s: str) -> bool:
    saw = "^"
    i = 0
    if s and s[0] in "+-":
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1] in "bBoOxX":
        i = 2
        saw = "0"
        hexa = s[1] in "xX"
    for c in s[i:]:
        if "0" <= c <= "9" or (hexa and c in "abcdefABCDEF"):
            saw = "0"
            continue
        if c == "_":
            if saw != "0":
                return False
            saw = "_"
            continue
        if saw == "_":
            return False
        saw = "!"
    return saw != "_"


def parse_int(text: str, signed: bool) -> int | None:
    """``strconv.ParseInt/ParseUint(text, 0, …)`` without the range check."""
    s = text
    neg = False
    if signed and s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if not s:
        return None
    base = 10
    body = s
    if s[0] == "0":
        if len(s) >= 3 and s[1] in "xX":
            base, body = 16, s[2:]
        elif len(s) >= 3 and s[1] in "oO":
            base, body = 8, s[2:]
        elif len(s) >= 3 and s[1] in "bB":
            base, body = 2, s[2:]
        elif len(s) > 1:
            base, body = 8, s[1:]
    if "_" in s:
        if not _underscore_ok(s):
            return None
        body = body.replace("_", "")
    if not body:
        return None
    digits = "0123456789abcdef"[:base]
    if any(c.lower() not in digits for c in body):
        return None
    v = int(body, base)
    return -v if neg else v


_DEC_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")
_HEX_FLOAT = re.compile(r"[+-]?0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+\Z")


def parse_float(text: str) -> float | None:
    """``strconv.ParseFloat(text, 64)``; None for syntax or range errors."""
    s = text
    if "_" in s:
        if not _underscore_ok(s):
            return None
        s = s.replace("_", "")
    if _DEC_FLOAT.match(s):
        try:
            f = float(s)
        except (ValueError, OverflowError):
            return None
    elif _HEX_FLOAT.match(s):
        try:
            f = float.fromhex(s)
        except (ValueError, OverflowError):
            return None
    else:
        return None
    if math.isinf(f):
        return None
    return f


_SIMPLE_ESC = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}


def unquote_char(s: str, quote_ch: str) -> tuple[int, str]:
    """``strconv.UnquoteChar``: first (possibly escaped) character and the tail."""
    if not s:
        raise ValueError("syntax")
    c = s[0]
    if c == quote_ch and quote_ch in "'\"":
        raise ValueError("syntax")
    if c != "\\":
        return ord(c), s[1:]
    if len(s) <= 1:
        raise ValueError("syntax")
    c = s[1]
    s = s[2:]
    if c in _SIMPLE_ESC:
        return ord(_SIMPLE_ESC[c]), s
    if c in "xuU":
        n_ = {"x": 2, "u": 4, "U": 8}[c]
        if len(s) < n_:
            raise ValueError("syntax")
        hexs = s[:n_]
        if any(ch not in "0123456789abcdefABCDEF" for ch in hexs):
            raise ValueError("syntax")
        v = int(hexs, 16)
        s = s[n_:]
        if c == "x":
            return v, s  # a byte value
        if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            raise ValueError("syntax")
        return v, s
    if "0" <= c <= "7":
        if len(s) < 2:
            raise ValueError("syntax")
        octs = c + s[:2]
        if any(ch not in "01234567" for ch in octs):
            raise ValueError("syntax")
        v = int(octs, 8)
        if v > 255:
            raise ValueError("syntax")
        return v, s[2:]
    if c in "'\"":
        if c != quote_ch:
            raise ValueError("syntax")
        return ord(c), s
    raise ValueError("syntax")


def unquote(s: str) -> str:
    """``strconv.Unquote`` for ``"…"`` and raw strings (``\\x`` bytes become UTF-8 text)."""
    if len(s) < 2:
        raise ValueError("syntax")
    q = s[0]
    if q != s[-1]:
        raise ValueError("syntax")
    body = s[1:-1]
    if q == "`":
        if "`" in body:
            raise ValueError("syntax")
        return body.replace("\r", "")
    if q != '"':
        raise ValueError("syntax")
    if "\\" not in body:
        if '"' in body or "\n" in body:
            raise ValueError("syntax")
        return body
    if "\n" in body:
        raise ValueError("syntax")
    out = bytearray()
    while body:
        ch = body[0]
        if ch == '"':
            raise ValueError("syntax")
        is_byte = body.startswith("\\x") or (
            len(body) > 1 and body[0] == "\\" and "0" <= body[1] <= "7"
        )
        v, body = unquote_char(body, '"')
        if is_byte:
            out.append(v)
        else:
            out += chr(v).encode("utf-8")
    return out.decode("utf-8", "replace")
