"""``Template``: Go's ``text/template.Template`` API over the parser and executor.

Templates created with :meth:`Template.new` or by ``{{define}}`` share one namespace
(functions, options and named templates), as in Go.  Parsing is cached by text, so a
template parsed again (every container start renders the same files) costs a lookup.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any

from carpool.errors import TemplateError
from carpool.templater.engine.builtins import BUILTINS
from carpool.templater.engine.executor import (
    MAX_EXEC_DEPTH,
    ExecError,
    State,
    ensure_recursion_limit,
)
from carpool.templater.engine.nodes import ParseError, Tree, is_empty_tree
from carpool.templater.engine.values import NOVALUE
from carpool.templater.gofmt import is_digit, is_letter, quote

if TYPE_CHECKING:
    from carpool.templater.cache import Bundle

_MISSING_KEY = {"invalid": "default", "default": "default", "zero": "zero", "error": "error"}


class _Common:
    """What Go's ``common`` holds: the namespace shared by associated templates."""

    __slots__ = ("funcs", "missing_key", "tmpl")

    def __init__(self) -> None:
        self.tmpl: dict[str, Template] = {}
        self.funcs: dict[str, Callable[..., Any]] = {}
        self.missing_key = "default"


class _FuncNames:
    """The names a template may call: its functions, then Go's builtins."""

    __slots__ = ("funcs",)

    def __init__(self, funcs: Mapping[str, Any]) -> None:
        self.funcs = funcs

    def __contains__(self, name: object) -> bool:
        return name in self.funcs or name in BUILTINS


_GOOD_NAMES: set[str] = set()


def _good_name(name: str) -> bool:
    """Go's ``goodName``: a letter or ``_`` then letters, digits and ``_`` (memoised)."""
    if name in _GOOD_NAMES:
        return True
    if not name:
        return False
    if name.isascii():  # Python's identifiers are Go's for ASCII: [A-Za-z_][A-Za-z0-9_]*
        if not name.isidentifier():
            return False
        _GOOD_NAMES.add(name)
        return True
    for i, r in enumerate(name):
        if r == "_":
            continue
        if i == 0 and not is_letter(r):
            return False
        if not is_letter(r) and not is_digit(r):
            return False
    _GOOD_NAMES.add(name)
    return True


# parse cache: (name, text, left, right, break?, continue?) -> (trees or error, used funcs)
_CACHE: dict[
    tuple[str, str, str, str, bool, bool], tuple[dict[str, Tree] | ParseError, frozenset[str]]
] = {}
_CACHE_MAX = 1024


def parse_trees(
    name: str,
    text: str,
    left: str,
    right: str,
    funcs: Mapping[str, Any],
    store: Bundle | None = None,
) -> dict[str, Tree]:
    """Go's ``parse.Parse``: the trees defined by ``text`` (cached).

    Parses are cached in memory, and in ``store`` (a persistent cache bundle, see
    :mod:`carpool.templater.cache`) when one is given: a tree set parsed by an earlier
    process is rebuilt from there instead of lexing and parsing ``text`` again.
    """
    names = _FuncNames(funcs)
    key = (name, text, left, right, "break" in funcs, "continue" in funcs)
    hit = _CACHE.get(key)
    if hit is not None:
        result, used = hit
        if all(f in names for f in used):
            if isinstance(result, ParseError):
                raise ParseError(result.message)
            return result
    stored_key = None
    if store is not None:
        stored_key, stored = _load_stored(store, key, names)
        if stored is not None:
            return stored
    from carpool.templater.engine.parser import Tree as Parser

    tree = Parser(name)
    tree_set: dict[str, Parser] = {}
    try:
        tree.parse_text(text, left, right, tree_set, names)
    except ParseError as e:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        # an error is only reusable if no undefined-function check was involved
        if "not defined" not in e.message:
            _CACHE[key] = (e, frozenset(tree.used_funcs))
        raise
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    trees: dict[str, Tree] = dict(tree_set)
    _CACHE[key] = (trees, frozenset(tree.used_funcs))
    if store is not None and stored_key is not None:
        from carpool.templater.engine.treecodec import encode_trees

        try:
            encoded = encode_trees(trees, name)
        except (ValueError, RecursionError):
            pass  # not storable: parsed again next time
        else:
            store.put(stored_key, [sorted(tree.used_funcs), encoded])
    return trees


def _load_stored(
    store: Bundle, key: tuple[str, str, str, str, bool, bool], names: _FuncNames
) -> tuple[str, dict[str, Tree] | None]:
    """The key of a parse in ``store``, and its trees if the store holds a usable copy."""
    from carpool.templater.cache import MISS, entry_key

    stored_key = entry_key("tree", *key)
    value = store.get(stored_key)
    if value is MISS:
        return stored_key, None
    try:
        used, data = value
        if type(used) is not list or not all(type(f) is str for f in used):
            raise ValueError("malformed function list")
        if not all(f in names for f in used):
            return stored_key, None  # a function is gone: parse, and fail as Go does
        from carpool.templater.engine.treecodec import decode_trees

        used_funcs = set(used)
        trees = decode_trees(data, key[0], key[1], used_funcs)
    except (ValueError, TypeError):
        store.forget(stored_key)
        return stored_key, None
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = (trees, frozenset(used_funcs))
    return stored_key, trees


class Template:
    """A named template and its namespace, with Go's ``text/template`` methods."""

    __slots__ = ("common", "left", "name", "right", "tree")

    def __init__(self, name: str, funcs: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.name = name
        self.tree: Tree | None = None
        self.common = _Common()
        self.left = ""
        self.right = ""
        if funcs:
            self.funcs(funcs)

    def __repr__(self) -> str:
        return f"Template({self.name!r})"

    # -- namespace
    def new(self, name: str) -> Template:
        """A new template sharing this one's namespace, functions and delimiters."""
        t = Template.__new__(Template)
        t.name = name
        t.tree = None
        t.common = self.common
        t.left = self.left
        t.right = self.right
        return t

    def clone(self) -> Template:
        """A copy with its own namespace: later parses and funcs do not affect the original."""
        common = _Common()
        common.funcs = dict(self.common.funcs)
        common.missing_key = self.common.missing_key
        copies: dict[int, Template] = {}

        def copy(t: Template) -> Template:
            if id(t) not in copies:
                c = Template.__new__(Template)
                c.name, c.tree, c.common, c.left, c.right = t.name, t.tree, common, t.left, t.right
                copies[id(t)] = c
            return copies[id(t)]

        for name, t in self.common.tmpl.items():
            common.tmpl[name] = copy(t)
        return copy(self)

    def lookup(self, name: str) -> Template | None:
        return self.common.tmpl.get(name)

    def templates(self) -> list[Template]:
        return list(self.common.tmpl.values())

    def defined_templates(self) -> str:
        names = [quote(k) for k, t in self.common.tmpl.items() if t.tree and t.tree.root]
        return "; defined templates are: " + ", ".join(names) if names else ""

    def funcs(self, mapping: Mapping[str, Callable[..., Any]]) -> Template:
        """Add functions (they win over Go's builtins of the same name)."""
        for name, fn in mapping.items():
            if not _good_name(name):
                raise TemplateError(f"function name {quote(name)} is not a valid identifier")
            if not callable(fn):
                raise TemplateError(f"value for {name} not a function")
        self.common.funcs.update(mapping)
        return self

    def option(self, *opts: str) -> Template:
        """``missingkey=default|invalid|zero|error``."""
        for opt in opts:
            if not opt:
                raise TemplateError("empty option string")
            key, sep, value = opt.partition("=")
            if sep and key == "missingkey" and value in _MISSING_KEY:
                self.common.missing_key = _MISSING_KEY[value]
                continue
            raise TemplateError(f"unrecognized option: {opt}")
        return self

    def delims(self, left: str, right: str) -> Template:
        self.left = left
        self.right = right
        return self

    # -- parsing
    def parse(self, text: str, *, cache: Bundle | None = None) -> Template:
        """Parse ``text`` into this template; ``{{define}}`` adds to the namespace.

        ``cache``: a persistent cache bundle that may hold the parse already (and
        receives it otherwise); see :mod:`carpool.templater.cache`.
        """
        trees = parse_trees(self.name, text, self.left, self.right, self.common.funcs, cache)
        for name, tree in trees.items():
            self.add_parse_tree(name, tree)
        return self

    def add_parse_tree(self, name: str, tree: Tree) -> Template:
        nt = self if name == self.name else self.new(name)
        if self._associate(nt, tree) or nt.tree is None:
            nt.tree = tree
        return nt

    def _associate(self, new: Template, tree: Tree) -> bool:
        old = self.common.tmpl.get(new.name)
        if old is not None and is_empty_tree(tree.root) and old.tree is not None:
            return False
        self.common.tmpl[new.name] = new
        return True

    # -- execution
    def execute(self, data: Any = None, out: IO[str] | None = None) -> str:
        """Render with ``data`` as dot; returns the text (also written to ``out``).

        On an error the text rendered so far is written to ``out`` (like Go's writer)
        and :class:`~carpool.errors.TemplateError` is raised with Go's message.
        """
        chunks: list[str] = []
        value = NOVALUE if data is None else data
        state = State(self, chunks, value)
        try:
            if self.tree is None or self.tree.root is None:
                raise state.errorf(f"{quote(self.name)} is an incomplete or empty template")
            ensure_recursion_limit()
            try:
                state.walk(value, self.tree.root)
            except RecursionError:
                # recursion through functions, not {{template}}: Go would crash with a
                # stack overflow; carpool reports it like Go's template depth limit
                raise ExecError(
                    f"template: {self.name}: exceeded maximum template depth ({MAX_EXEC_DEPTH})",
                    self.name,
                ) from None
        finally:
            if out is not None:
                out.write("".join(chunks))
        return "".join(chunks)

    def execute_template(self, name: str, data: Any = None, out: IO[str] | None = None) -> str:
        tmpl = self.lookup(name)
        if tmpl is None:
            raise ExecError(
                f"template: no template {quote(name)} associated with template {quote(self.name)}",
                self.name,
            )
        return tmpl.execute(data, out)

    def render(self, data: Any = None) -> str:
        """Alias of :meth:`execute` returning the text."""
        buf = io.StringIO()
        self.execute(data, buf)
        return buf.getvalue()
