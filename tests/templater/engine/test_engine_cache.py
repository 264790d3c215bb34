"""The persistent parse cache on the differential corpora: cached trees are the parser's.

Every hand-written case and a batch of fuzzed ones is rendered three ways: without the
persistent cache, through a cold bundle (parsed, then stored) and through a warm one
(loaded from disk in a fresh :class:`Bundle`, in-memory cache cleared, so the trees are
rebuilt from JSON).  Output and error text must be identical — the uncached rendering
is the one the differential tests check against Go.  The rebuilt trees are also
compared with the parsed ones field by field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carpool.errors import TemplateError
from carpool.templater.cache import Bundle
from carpool.templater.engine import Template, parser, template
from carpool.templater.engine import nodes as n
from carpool.templater.engine.treecodec import decode_trees, encode_trees

from .conftest import Case, py_render
from .gofuncs import GO_FUNCS
from .test_engine_differential import ALL
from .test_engine_fuzz import collect


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the texts the real parser parsed during the test."""
    seen: list[str] = []
    original = parser.Tree.parse_text

    def counting(self: parser.Tree, text: str, *args: Any) -> parser.Tree:
        seen.append(self.name)
        return original(self, text, *args)

    monkeypatch.setattr(parser.Tree, "parse_text", counting)
    template._CACHE.clear()
    yield seen
    template._CACHE.clear()


def corpus() -> list[Case]:
    n_fuzz = int(os.environ.get("CARPOOL_FUZZ_EXAMPLES", "600")) // 3
    return ALL + collect(n_fuzz, int(os.environ.get("CARPOOL_FUZZ_SEED", "20261126")) + 1)


def test_corpora_render_the_same_through_cold_and_warm_cache(
    tmp_path: Path, parses: list[str]
) -> None:
    cases = corpus()
    expected = []
    for case in cases:
        template._CACHE.clear()
        expected.append(py_render(case))
    template._CACHE.clear()
    cold = Bundle(tmp_path, "corpus")
    assert [py_render(c, cold) for c in cases] == expected
    cold.save()
    parsed_cold = len(parses)

    template._CACHE.clear()
    warm = Bundle(tmp_path, "corpus")
    results = []
    for case in cases:
        template._CACHE.clear()  # every tree comes from the file, none from memory
        results.append(py_render(case, warm))
    mismatches = [
        (c["template"], r, e) for c, r, e in zip(cases, results, expected, strict=True) if r != e
    ]
    assert mismatches == []
    # only texts that failed to parse (errors are not stored) were parsed again
    failing = sum(1 for e in expected if "error" in e and ":" in e["error"])
    assert len(parses) - parsed_cold <= failing
    assert len(parses) - parsed_cold < len(cases) // 4


def dump(tree: n.Tree) -> Any:
    """Every field of every node of ``tree``, checking that each node points to it."""

    def node(x: Any) -> Any:
        if x is None or isinstance(x, str | int | float | complex | bool):
            return x
        if isinstance(x, list):
            return [node(v) for v in x]
        assert isinstance(x, n.Node)
        assert x.tree is tree, f"{type(x).__name__} points to another tree"
        slots = [s for cls in type(x).__mro__ for s in getattr(cls, "__slots__", ())]
        fields = {s: node(getattr(x, s)) for s in slots if s != "tree"}
        for name, value in fields.items():
            if isinstance(value, float | complex) and value != value:
                fields[name] = "nan"
        return (type(x).__name__, fields)

    return (tree.name, tree.parse_name, tree.text, sorted(tree.used_funcs), node(tree.root))


def test_decoded_trees_equal_the_parsed_ones_field_by_field() -> None:
    checked = 0
    for case in corpus():
        names = template._FuncNames(GO_FUNCS)
        delims = case.get("delims") or ["", ""]
        name = case.get("name") or "t"
        tree = parser.Tree(name)
        tree_set: dict[str, parser.Tree] = {}
        try:
            tree.parse_text(case["template"], delims[0], delims[1], tree_set, names)
        except TemplateError:
            continue
        encoded = json.loads(json.dumps(encode_trees(dict(tree_set), name)))
        decoded = decode_trees(encoded, name, case["template"], set(tree.used_funcs))
        assert list(decoded) == list(tree_set)
        for key, original in tree_set.items():
            # the parser's own trees point their nodes at the tree being parsed
            assert dump(decoded[key]) == dump(original), case["template"]
        checked += 1
    assert checked > 400


def deep_chain(depth: int) -> list[Any]:
    """``(((.).f).f)…``: nested deeper than the decoder may recurse."""
    node: list[Any] = [8, 0]
    for _ in range(depth):
        node = [11, 0, node, ["f"]]
    return node


@pytest.mark.parametrize(
    "bad",
    [
        "not a list",
        [[None, [0, 0, [[1, "0", "text"]]]]],  # pos must be an int
        [[None, [0, 0, [[99, 0]]]]],  # no such node
        [[None, [0, 0, [[4, 0, 1, [5, 0, []]]]]]],  # an action's pipe must be a pipe
        [[None, [0, 0, [[12, 0, 1]]]]],  # a bool node holds a bool
        [["other", [0, 0, []]]],  # the template's own tree is missing
        [[None, [0, 0, [[1, 0]]]]],  # a field missing
        [[None, [0, 0, [[11, 0, [8, 0], [1]]]]]],  # chain fields are strings
        [[None, [0, 0, [[10, 0, []]]]]],  # a field has a name
        [[None, [0, 0, [[4, 0, 1, [3, 0, 1, False, [], []]]]]]],  # a pipeline has commands
        [[None, [0, 0, [[4, 0, 1, [3, 0, 1, False, [], [[5, 0, [deep_chain(30000)]]]]]]]]],
    ],
)
def test_malformed_tree_data_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError):
        decode_trees(bad, "t", "", set())


def test_delimiters_break_and_function_set_are_part_of_the_key(
    tmp_path: Path, parses: list[str]
) -> None:
    bundle = Bundle(tmp_path, "keys")
    text = "{{.a}}<<.b>>"
    assert Template("t").parse(text, cache=bundle).execute({"a": 1, "b": 2}) == "1<<.b>>"
    template._CACHE.clear()
    other = Template("t").delims("<<", ">>").parse(text, cache=bundle)
    assert other.execute({"a": 1, "b": 2}) == "{{.a}}2"

    # {{break}} is a keyword unless a function is called break
    loop = "{{range .}}{{.}}{{break}}{{end}}"
    as_func = Template("t", {"break": lambda: "B"}).parse(loop, cache=bundle)
    assert as_func.execute([1, 2]) == "1B2B"
    template._CACHE.clear()
    assert Template("t").parse(loop, cache=bundle).execute([1, 2]) == "1"

    # a stored tree calling a function the caller does not define is not used
    Template("t", {"extra": lambda: "x"}).parse("{{extra}}", cache=bundle)
    bundle.save()
    template._CACHE.clear()
    warm = Bundle(tmp_path, "keys")
    with pytest.raises(TemplateError, match='function "extra" not defined'):
        Template("t").parse("{{extra}}", cache=warm)
    template._CACHE.clear()
    assert Template("t", {"extra": lambda: "y"}).parse("{{extra}}", cache=warm).execute() == "y"
    # the name is part of the key too (it is the tree's name in the set)
    before = len(parses)
    template._CACHE.clear()
    Template("u", {"extra": lambda: "y"}).parse("{{extra}}", cache=warm)
    assert len(parses) == before + 1
