"""Tokens of Go's ``text/template`` (a port of Go 1.19 ``text/template/parse/lex.go``).

The token stream, positions and line numbers follow Go's lexer exactly, because parse
error messages (``template: NAME:LINE: …``) are built from them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from carpool.templater.gofmt import is_digit, is_letter, quote


class T:
    """Item types, in Go's order (everything after KEYWORD is a keyword).

    Plain ints rather than an IntEnum: the parser compares them on every token.
    """

    ERROR = 0
    BOOL = 1
    CHAR = 2
    CHAR_CONSTANT = 3
    COMMENT = 4
    COMPLEX = 5
    ASSIGN = 6
    DECLARE = 7
    EOF = 8
    FIELD = 9
    IDENTIFIER = 10
    LEFT_DELIM = 11
    LEFT_PAREN = 12
    NUMBER = 13
    PIPE = 14
    RAW_STRING = 15
    RIGHT_DELIM = 16
    RIGHT_PAREN = 17
    SPACE = 18
    STRING = 19
    TEXT = 20
    VARIABLE = 21
    KEYWORD = 22
    BLOCK = 23
    BREAK = 24
    CONTINUE = 25
    DOT = 26
    DEFINE = 27
    ELSE = 28
    END = 29
    IF = 30
    NIL = 31
    RANGE = 32
    TEMPLATE = 33
    WITH = 34


KEYWORDS = {
    ".": T.DOT,
    "block": T.BLOCK,
    "break": T.BREAK,
    "continue": T.CONTINUE,
    "define": T.DEFINE,
    "else": T.ELSE,
    "end": T.END,
    "if": T.IF,
    "range": T.RANGE,
    "nil": T.NIL,
    "template": T.TEMPLATE,
    "with": T.WITH,
}

SPACE_CHARS = " \t\r\n"
_SPACES = re.compile(r"[ \t\r\n]*")
_WORD = re.compile(r"[A-Za-z0-9_]*")
_QUOTED_REST = re.compile(r'(?:[^"\\\n]|\\[^\n])*"')
# an ASCII word (Go's isAlphaNumeric restricted to ASCII) and the ASCII characters that
# end a field, variable or identifier (at_terminator's set): the lexer's fast paths
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]+")
_TERMINATORS = " \t\r\n.,|:()"
# a lexer state: a bound method returning the next state (None at the end)
_State = Callable[[], Any] | None
_EOF = ""


class Item:
    """One token (a plain slots class: ``dataclasses`` would import ``inspect``, ~10 ms)."""

    __slots__ = ("line", "pos", "typ", "val")

    def __init__(self, typ: int, pos: int, val: str, line: int) -> None:
        self.typ = typ
        self.pos = pos
        self.val = val
        self.line = line

    def __repr__(self) -> str:
        return f"Item(typ={self.typ!r}, pos={self.pos!r}, val={self.val!r}, line={self.line!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Item):
            return NotImplemented
        return (self.typ, self.pos, self.val, self.line) == (
            other.typ,
            other.pos,
            other.val,
            other.line,
        )

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        if self.typ == T.EOF:
            return "EOF"
        if self.typ == T.ERROR:
            return self.val
        if self.typ > T.KEYWORD:
            return f"<{self.val}>"
        if len(self.val.encode("utf-8", "surrogatepass")) > 10:
            return quote(self.val[:10]) + "..."
        return quote(self.val)


def _is_space(r: str) -> bool:
    return r in (" ", "\t", "\r", "\n") and r != ""


def _is_alnum(r: str) -> bool:
    if r == "":
        return False
    if r < "\x80":
        return r == "_" or r.isalnum()
    return is_letter(r) or is_digit(r)


def _has_left_trim(s: str, pos: int) -> bool:
    return len(s) - pos >= 2 and s[pos] == "-" and s[pos + 1] in SPACE_CHARS


def _has_right_trim(s: str, pos: int) -> bool:
    return len(s) - pos >= 2 and s[pos] in SPACE_CHARS and s[pos + 1] == "-"


class Lexer:
    """Produces :class:`Item` s on demand, like Go's goroutine lexer."""

    def __init__(
        self,
        text: str,
        left: str = "",
        right: str = "",
        emit_comment: bool = False,
        break_ok: bool = True,
        continue_ok: bool = True,
    ) -> None:
        self.input = text
        self.left = left or "{{"
        self.right = right or "}}"
        self.emit_comment = emit_comment
        self.break_ok = break_ok
        self.continue_ok = continue_ok
        self.pos = 0
        self.start = 0
        self.at_eof = False
        self.paren_depth = 0
        self.line = 1
        self.start_line = 1
        self.items: list[Item] = []
        self.consumed = 0
        self.state: Callable[[], Any] = self.lex_text
        self.done = False

    # -- driver
    def next_item(self) -> Item:
        items = self.items
        consumed = self.consumed
        if consumed >= len(items):
            if not self.done:
                self.run()
            if consumed >= len(items):
                # Go's closed channel yields zero items (itemError with empty text)
                return Item(T.ERROR, 0, "", 0)
        self.consumed = consumed + 1
        return items[consumed]

    def run(self) -> None:
        """Lex the whole input (Go's lexer goroutine runs ahead of the parser too).

        The lexer takes no feedback from the parser, so producing every item up front
        gives the same stream as producing them on demand, without one driver round
        trip per token.
        """
        state: _State = self.state
        while state is not None:
            state = state()
        self.done = True

    # -- helpers
    def next(self) -> str:
        if self.pos >= len(self.input):
            self.at_eof = True
            return _EOF
        r = self.input[self.pos]
        self.pos += 1
        if r == "\n":
            self.line += 1
        return r

    def peek(self) -> str:
        if self.pos >= len(self.input):
            self.at_eof = True  # like Go: next() hit EOF, so backup() is a no-op from now on
            return _EOF
        return self.input[self.pos]

    def backup(self) -> None:
        if not self.at_eof and self.pos > 0:
            self.pos -= 1
            if self.input[self.pos] == "\n":
                self.line -= 1

    def emit(self, t: int) -> None:
        self.items.append(Item(t, self.start, self.input[self.start : self.pos], self.start_line))
        self.start = self.pos
        self.start_line = self.line

    def ignore(self) -> None:
        self.line += self.input.count("\n", self.start, self.pos)
        self.start = self.pos
        self.start_line = self.line

    def accept(self, valid: str) -> bool:
        r = self.next()
        if r != "" and r in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while True:
            r = self.next()
            if r == "" or r not in valid:
                break
        self.backup()

    def errorf(self, msg: str) -> _State:
        self.items.append(Item(T.ERROR, self.start, msg, self.start_line))
        return None

    # -- states
    def lex_text(self) -> _State:
        x = self.input.find(self.left, self.pos)
        if x >= 0:
            ldn = len(self.left)
            self.pos = x
            trim = 0
            if _has_left_trim(self.input, self.pos + ldn):
                seg = self.input[self.start : self.pos]
                trim = len(seg) - len(seg.rstrip(SPACE_CHARS))
            self.pos -= trim
            if self.pos > self.start:
                self.line += self.input.count("\n", self.start, self.pos)
                self.emit(T.TEXT)
            self.pos += trim
            self.ignore()
            return self.lex_left_delim
        self.pos = len(self.input)
        if self.pos > self.start:
            self.line += self.input.count("\n", self.start, self.pos)
            self.emit(T.TEXT)
        self.emit(T.EOF)
        return None

    def at_right_delim(self) -> tuple[bool, bool]:
        s = self.input
        if _has_right_trim(s, self.pos) and s.startswith(self.right, self.pos + 2):
            return True, True
        if s.startswith(self.right, self.pos):
            return True, False
        return False, False

    def lex_left_delim(self) -> _State:
        self.pos += len(self.left)
        trim = _has_left_trim(self.input, self.pos)
        after = 2 if trim else 0
        if self.input.startswith("/*", self.pos + after):
            self.pos += after
            self.ignore()
            return self.lex_comment
        self.emit(T.LEFT_DELIM)
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        return self.lex_inside_action

    def lex_comment(self) -> _State:
        self.pos += 2
        i = self.input.find("*/", self.pos)
        if i < 0:
            return self.errorf("unclosed comment")
        self.pos = i + 2
        delim, trim = self.at_right_delim()
        if not delim:
            return self.errorf("comment ends before closing delimiter")
        if self.emit_comment:
            self.emit(T.COMMENT)
        if trim:
            self.pos += 2
        self.pos += len(self.right)
        if trim:
            rest = self.input[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(SPACE_CHARS))
        self.ignore()
        return self.lex_text

    def lex_right_delim(self) -> _State:
        trim = _has_right_trim(self.input, self.pos)
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(self.right)
        self.emit(T.RIGHT_DELIM)
        if trim:
            rest = self.input[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(SPACE_CHARS))
            self.ignore()
        return self.lex_text

    def lex_inside_action(self) -> _State:
        # One token per turn of the loop; a token that needs more than a glance is left
        # to its own state, which comes back here.
        s = self.input
        right = self.right
        size = len(s)
        while True:
            pos = self.pos
            if s.startswith(right, pos) or (
                size - pos >= 2
                and s[pos] in SPACE_CHARS
                and s[pos + 1] == "-"
                and s.startswith(right, pos + 2)
            ):
                if self.paren_depth == 0:
                    return self.lex_right_delim
                return self.errorf("unclosed left paren")
            if pos >= size:
                self.at_eof = True
                return self.errorf("unclosed action")
            r = s[pos]
            if r in SPACE_CHARS:
                m = _SPACES.match(s, pos)
                assert m is not None
                end = m.end()
                if end >= size or s[end] == "-":
                    return self.lex_space  # EOF or maybe a trim marker: Go's steps
                self.line += s.count("\n", pos, end)
                self.pos = end
                self.emit(T.SPACE)
                continue
            self.pos = pos + 1  # next(), inlined (r is not a newline)
            if r == "=":
                self.emit(T.ASSIGN)
            elif r == ":":
                if self.next() != "=":
                    return self.errorf("expected :=")
                self.emit(T.DECLARE)
            elif r == "|":
                self.emit(T.PIPE)
            elif r == '"':
                return self.lex_quote
            elif r == "`":
                return self.lex_raw_quote
            elif r == "'":
                return self.lex_char
            elif r == "." and self.pos < size and not "0" <= s[self.pos] <= "9":
                if not self._fast_word(pos + 1, T.FIELD):
                    return self.lex_field
            elif r == "$":
                if not self._fast_word(pos + 1, T.VARIABLE):
                    return self.lex_variable
            elif r in ".+-" or "0" <= r <= "9":
                self.backup()
                return self.lex_number
            elif _is_alnum(r):
                self.backup()
                if not self._fast_identifier():
                    return self.lex_identifier
            elif r == "(":
                self.emit(T.LEFT_PAREN)
                self.paren_depth += 1
            elif r == ")":
                self.emit(T.RIGHT_PAREN)
                self.paren_depth -= 1
                if self.paren_depth < 0:
                    return self.errorf(f"unexpected right paren {_sharp_u(r)}")
            elif ord(r) <= 0x7F and (r.isprintable()):
                self.emit(T.CHAR)
            else:
                return self.errorf(f"unrecognized character in action: {_sharp_u(r)}")

    def _ascii_word_end(self, pos: int) -> int:
        """End of the ASCII word at ``pos`` if a terminator follows it, else -1.

        The fast paths below take a field, variable or identifier in one regex match
        when the slow path could not decide otherwise: the word is ASCII and is
        followed by an ASCII terminator (a space, ``.,|:()`` or the right delimiter)
        before the end of the input.  Anything else (non-ASCII letters, a bad
        character, EOF) goes through Go's character-by-character states.
        """
        s = self.input
        m = _ASCII_WORD.match(s, pos)
        if m is None:
            return -1
        end = m.end()
        if end >= len(s):
            return -1
        c = s[end]
        if c in _TERMINATORS or (c < "\x80" and s.startswith(self.right, end)):
            return end
        return -1

    def _fast_word(self, pos: int, typ: int) -> bool:
        """Emit ``.field`` or ``$var`` whose name starts at ``pos``, if it is plain ASCII."""
        if self.input.startswith(self.right, pos):
            return False  # at_terminator: a lone "." or "$"
        end = self._ascii_word_end(pos)
        if end < 0:
            return False
        self.pos = end
        self.emit(typ)
        return True

    def _fast_identifier(self) -> bool:
        """Emit an ASCII identifier, keyword or bool (what lex_identifier would)."""
        end = self._ascii_word_end(self.pos)
        if end < 0:
            return False
        self.pos = end
        word = self.input[self.start : end]
        kw = KEYWORDS.get(word)
        if kw is not None and kw > T.KEYWORD:
            if (kw == T.BREAK and not self.break_ok) or (kw == T.CONTINUE and not self.continue_ok):
                self.emit(T.IDENTIFIER)
            else:
                self.emit(kw)
        elif word in ("true", "false"):
            self.emit(T.BOOL)
        else:
            self.emit(T.IDENTIFIER)
        return True

    def lex_space(self) -> _State:
        m = _SPACES.match(self.input, self.pos)
        assert m is not None
        run = m.group()
        num = len(run)
        self.line += run.count("\n")
        self.pos = m.end()
        if self.pos >= len(self.input):
            self.at_eof = True
        if _has_right_trim(self.input, self.pos - 1) and self.input.startswith(
            self.right, self.pos + 1
        ):
            self.backup()
            if num == 1:
                return self.lex_right_delim
        self.emit(T.SPACE)
        return self.lex_inside_action

    def lex_identifier(self) -> _State:
        m = _WORD.match(self.input, self.pos)
        assert m is not None
        self.pos = m.end()
        while True:
            r = self.next()
            if _is_alnum(r):
                continue
            self.backup()
            word = self.input[self.start : self.pos]
            if not self.at_terminator():
                return self.errorf(f"bad character {_sharp_u(r)}")
            kw = KEYWORDS.get(word)
            if kw is not None and kw > T.KEYWORD:
                if (kw == T.BREAK and not self.break_ok) or (
                    kw == T.CONTINUE and not self.continue_ok
                ):
                    self.emit(T.IDENTIFIER)
                else:
                    self.emit(kw)
            elif word[0] == ".":
                self.emit(T.FIELD)
            elif word in ("true", "false"):
                self.emit(T.BOOL)
            else:
                self.emit(T.IDENTIFIER)
            return self.lex_inside_action

    def lex_field(self) -> _State:
        return self.lex_field_or_variable(T.FIELD)

    def lex_variable(self) -> _State:
        if self.at_terminator():
            self.emit(T.VARIABLE)
            return self.lex_inside_action
        return self.lex_field_or_variable(T.VARIABLE)

    def lex_field_or_variable(self, typ: int) -> _State:
        if self.at_terminator():
            self.emit(T.VARIABLE if typ == T.VARIABLE else T.DOT)
            return self.lex_inside_action
        m = _WORD.match(self.input, self.pos)
        assert m is not None
        self.pos = m.end()
        while True:
            r = self.next()
            if not _is_alnum(r):
                self.backup()
                break
        if not self.at_terminator():
            return self.errorf(f"bad character {_sharp_u(r)}")
        self.emit(typ)
        return self.lex_inside_action

    def at_terminator(self) -> bool:
        r = self.peek()
        if _is_space(r):
            return True
        if r in ("", ".", ",", "|", ":", ")", "("):
            return True
        return self.input.startswith(self.right, self.pos)

    def lex_char(self) -> _State:
        if not self.scan_escaped("'"):
            return self.errorf("unterminated character constant")
        self.emit(T.CHAR_CONSTANT)
        return self.lex_inside_action

    def scan_escaped(self, close: str) -> bool:
        """Up to and including ``close``, skipping backslash escapes; False at a newline
        or the end of input (Go's lexChar and lexQuote loops)."""
        while True:
            r = self.next()
            if r == "\\":
                r = self.next()
                if r not in ("", "\n"):
                    continue
                return False
            if r in ("", "\n"):
                return False
            if r == close:
                return True

    def lex_number(self) -> _State:
        if not self.scan_number():
            return self.errorf(f"bad number syntax: {quote(self.input[self.start : self.pos])}")
        sign = self.peek()
        if sign in ("+", "-") and sign != "":
            if not self.scan_number() or self.input[self.pos - 1] != "i":
                return self.errorf(f"bad number syntax: {quote(self.input[self.start : self.pos])}")
            self.emit(T.COMPLEX)
        else:
            self.emit(T.NUMBER)
        return self.lex_inside_action

    def scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        if _is_alnum(self.peek()):
            self.next()
            return False
        return True

    def lex_quote(self) -> _State:
        m = _QUOTED_REST.match(self.input, self.pos)
        if m is not None:
            self.pos = m.end()
            self.emit(T.STRING)
            return self.lex_inside_action
        if not self.scan_escaped('"'):
            return self.errorf("unterminated quoted string")
        self.emit(T.STRING)
        return self.lex_inside_action

    def lex_raw_quote(self) -> _State:
        while True:
            r = self.next()
            if r == "":
                return self.errorf("unterminated raw quoted string")
            if r == "`":
                break
        self.emit(T.RAW_STRING)
        return self.lex_inside_action


def _sharp_u(r: str) -> str:
    """Go's ``%#U`` of a rune (``U+0021 '!'``); EOF is rune -1."""
    if r == "":
        return "U+FFFFFFFFFFFFFFFF"
    o = ord(r)
    s = f"U+{o:04X}"
    from carpool.templater.gofmt import _is_print

    if _is_print(r):
        s += f" '{r}'"
    return s
