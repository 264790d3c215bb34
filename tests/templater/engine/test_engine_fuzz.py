"""Random templates and data: carpool must render exactly what Go renders.

Hypothesis draws templates from a grammar of valid-ish constructs (pipelines, variables,
if/with/range/else/break/continue, define/template/block, literals of every kind,
builtins and Go-typed test functions, printf formats), sometimes mangled with junk
characters, plus random JSON data.  The examples are collected first and sent to Go in
one batch; every example must give identical output, or an error in both engines.

``CARPOOL_FUZZ_SEED`` and ``CARPOOL_FUZZ_EXAMPLES`` change the seed and the count.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from .conftest import Case, Result, py_render

KEYS = ["a", "b", "c", "x", "A"]
DEFINES = ["d0", "d1", "d2"]
# name -> (fewest, most) arguments that make sense
FUNCS: dict[str, tuple[int, int]] = {
    "print": (0, 3),
    "println": (0, 2),
    "html": (1, 2),
    "js": (1, 2),
    "urlquery": (1, 2),
    "len": (1, 1),
    "index": (2, 3),
    "slice": (1, 3),
    "not": (1, 1),
    "and": (1, 3),
    "or": (1, 3),
    "eq": (2, 3),
    "ne": (2, 2),
    "lt": (2, 2),
    "le": (2, 2),
    "gt": (2, 2),
    "ge": (2, 2),
    "call": (1, 3),
    "add": (2, 2),
    "addf": (2, 2),
    "concat": (1, 3),
    "fail": (1, 1),
    "nilval": (0, 0),
    "strs": (0, 0),
    "smap": (0, 0),
    "variadic": (0, 3),
    "i64": (1, 1),
    "u8": (1, 1),
    "ident": (1, 1),
    "tolist": (0, 3),
}
FUNC_NAMES = sorted(FUNCS)
FORMATS = [
    "%d",
    "%s",
    "%v",
    "%5.2f",
    "%x",
    "%X",
    "%q",
    "%t",
    "%c",
    "%e",
    "%g",
    "%+v",
    "%#v",
    "%T",
    "%08.3f",
    "%-5s|",
    "%[2]v %[1]v",
    "%*d",
    "%%",
    "%!",
    "%",
    "%v %v",
    "%6.2v",
    "% x",
    "%#x",
    "%o",
    "%b",
    "%U",
    "%.3s",
    "%+d",
    "%05d",
    "x",
    "%.1e|%G",
]
JUNK = "{}()|$.\"'`-:=, \n0a/*"

FLOATS = st.sampled_from(
    [0.5, 1e6, 1e21, 1e20, 1e-5, 1e-4, 123456789.0, -0.0, 2.5, 3.0, 0.1, 1e100, -7.25]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 10_000_000),
    FLOATS,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet="ab <>&'\"é%\n", max_size=5),
)
# keys that exercise Go's sorted map order (bytes, not Unicode collation)
ODD_KEYS = st.text(alphabet="aAbB09_ é-", max_size=3)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | ODD_KEYS, children, max_size=4)
    ),
    max_leaves=12,
)
FLAT = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.sampled_from(KEYS), SCALARS, max_size=4),
)
DATA = st.one_of(
    st.fixed_dictionaries({k: FLAT for k in KEYS[:3]}, optional={k: JSON for k in KEYS[3:]}),
    st.dictionaries(st.sampled_from(KEYS), JSON, max_size=5),
    JSON,
)


class _Gen:
    """Draws one template from the grammar; tracks declared variables like the parser."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.vars: list[str] = []
        self.counter = 0
        self.defined: list[str] = []

    def pick(self, options: list[str]) -> str:
        return self.rnd.choice(options)

    def chance(self, p: float) -> bool:
        return self.rnd.random() < p

    def integer(self, lo: int, hi: int) -> int:
        return self.rnd.randint(lo, hi)

    def literal(self) -> str:
        return self.pick(
            [
                "0",
                "1",
                "2",
                "-3",
                "17",
                "0x1F",
                "1e3",
                "1.5",
                "2.0",
                "'a'",
                "0b11",
                "1_000",
                '"s"',
                '""',
                '"a b"',
                "`raw`",
                '"%d"',
                "true",
                "false",
                "nil",
                "1e21",
                "0.000001",
                "0o17",
                "-0",
                "+3",
                "1e-3",
                "0x1p4",
                "1i",
                "'\\n'",
                '"\\t\\u00e9\\x41"',
                '"é✓"',
                "`a\nb`",
            ]
        )

    def field(self) -> str:
        n = self.pick(["1"] * 17 + ["2"] * 2 + ["3"])
        n = int(n)
        return "".join("." + self.pick([*KEYS, "end", "nil", "_"]) for _ in range(n))

    def operand(self, depth: int) -> str:
        choice = self.integer(0, 9 if depth < 2 else 6)
        if choice <= 1:
            return self.field()
        if choice == 2:
            return "."
        if choice == 3:
            return self.literal()
        if choice == 4:
            if self.vars and self.chance(0.8):
                v = self.pick(self.vars)
                return v + (self.field() if self.chance(0.3) else "")
            return "$" + (self.field() if self.chance(0.5) else "")
        if choice in (5, 6):
            return self.literal() if self.chance(0.5) else self.field()
        if choice == 7:
            return "(" + self.pipeline(depth + 1) + ")"
        if choice == 8:
            return "(" + self.pipeline(depth + 1) + ")" + self.field()
        return self.call(depth + 1)

    def call(self, depth: int, piped: bool = False) -> str:
        name = self.pick(FUNC_NAMES)
        lo, hi = FUNCS[name]
        if piped:  # the piped value is the last argument
            lo, hi = max(lo - 1, 0), max(hi - 1, 0)
        if self.chance(0.1):
            lo, hi = 0, 3
        nargs = self.integer(lo, hi)
        args = [self.operand(depth) for _ in range(nargs)]
        if name == "call" and args and self.chance(0.8):
            args[0] = "adder"
        return " ".join([name, *args])

    def command(self, depth: int) -> str:
        choice = self.integer(0, 4)
        if choice == 0:
            fmt = self.pick(FORMATS)
            args = [self.operand(depth) for _ in range(self.integer(0, 3))]
            return " ".join(["printf", '"' + fmt + '"', *args])
        if choice <= 2:
            return self.call(depth)
        return self.operand(depth)

    def pipeline(self, depth: int = 0, decl: bool = False) -> str:
        cmds = [self.command(depth)]
        while depth < 2 and self.chance(0.25):
            cmds.append(self.call(depth, piped=True))
        text = " | ".join(cmds)
        if decl and self.chance(0.25):
            if self.vars and self.chance(0.4):
                text = f"{self.pick(self.vars)} = {text}"
            else:
                self.counter += 1
                name = f"$v{self.counter}"
                text = f"{name} := {text}"
                self.vars.append(name)
        return text

    def open(self) -> str:
        return "{{- " if self.chance(0.15) else "{{"

    def close(self) -> str:
        return " -}}" if self.chance(0.15) else "}}"

    def text(self) -> str:
        return "".join(self.rnd.choice("ab \n\t{}é") for _ in range(self.integer(0, 4)))

    def block(self, depth: int, in_range: bool) -> str:
        parts = []
        for _ in range(self.integer(1, 3)):
            parts.append(self.piece(depth, in_range))
        return "".join(parts)

    def piece(self, depth: int, in_range: bool) -> str:
        choice = self.integer(0, 13 if depth < 2 else 5)
        o, c = self.open(), self.close()
        if choice <= 1:
            return self.text()
        if choice <= 4:
            return o + self.pipeline(0, decl=True) + c
        if choice == 5:
            if in_range and self.chance(0.5):
                return o + self.pick(["break", "continue"]) + c
            return self.pick(["{{/* comment */}}", "{{- /* c */ -}}", "{{/* c */ -}}"])
        mark = len(self.vars)
        try:
            if choice in (6, 7):
                s = o + "if " + self.pipeline(0, decl=True) + c + self.block(depth + 1, in_range)
                if self.chance(0.3):
                    s += "{{else if " + self.pipeline() + "}}" + self.block(depth + 1, in_range)
                if self.chance(0.4):
                    s += "{{else}}" + self.block(depth + 1, in_range)
                return s + "{{end}}"
            if choice in (8, 9):
                head = self.pipeline(0)
                if self.chance(0.5):
                    self.counter += 1
                    i, e = f"$i{self.counter}", f"$e{self.counter}"
                    if self.chance(0.6):
                        self.vars += [i, e]
                        head = f"{i}, {e} := {head}"
                    else:
                        self.vars.append(e)
                        head = f"{e} := {head}"
                s = o + "range " + head + c + self.block(depth + 1, True)
                if self.chance(0.3):
                    s += "{{else}}" + self.block(depth + 1, in_range)
                return s + "{{end}}"
            if choice == 10:
                s = o + "with " + self.pipeline(0, decl=True) + c + self.block(depth + 1, in_range)
                if self.chance(0.3):
                    s += "{{else}}" + self.block(depth + 1, in_range)
                return s + "{{end}}"
            if choice == 11 and self.defined:
                name = self.pick(self.defined)
                arg = " " + self.pipeline() if self.chance(0.7) else ""
                return o + f'template "{name}"' + arg + c
            if choice == 12:
                self.counter += 1
                return (
                    o
                    + f'block "b{self.counter}" '
                    + self.pipeline()
                    + c
                    + self.block(depth + 1, False)
                    + "{{end}}"
                )
            return o + self.pipeline(0, decl=True) + c
        finally:
            del self.vars[mark:]

    def template(self) -> str:
        parts = []
        for name in DEFINES[: self.integer(0, len(DEFINES))]:
            saved, self.vars = self.vars, []
            body = self.block(1, False)
            self.vars = saved
            parts.append('{{define "' + name + '"}}' + body + "{{end}}")
            self.defined.append(name)
        parts.append(self.block(0, False))
        return "".join(parts)


def _mangle(rnd: random.Random, text: str) -> str:
    for _ in range(rnd.randint(1, 3)):
        pos = rnd.randint(0, len(text))
        op = rnd.randint(0, 2)
        ch = rnd.choice(JUNK)
        if op == 0:
            text = text[:pos] + ch + text[pos:]
        elif op == 1:
            text = text[:pos] + text[pos + 1 :]
        else:
            text = text[:pos] + ch + text[pos + 1 :]
    return text


@st.composite
def settings_and_data(draw: Callable[[Any], Any]) -> Case:
    """The hypothesis-drawn part of a case: data, number mode, missingkey option."""
    case: Case = {"data": draw(DATA), "ints": draw(st.booleans())}
    option = draw(st.sampled_from([None, None, None, "missingkey=zero", "missingkey=error"]))
    if option:
        case["option"] = option
    return case


def random_template(rnd: random.Random) -> str:
    """A template from the grammar, mangled with junk one time in seven."""
    text = _Gen(rnd).template()
    if rnd.randint(0, 6) == 0:
        text = _mangle(rnd, text)
    return text


def collect(n: int, fuzz_seed: int) -> list[Case]:
    """Draw ``n`` examples up front (Go then renders them all in one batch).

    Hypothesis draws the data (its strategies find the awkward values: -0.0, 1e21,
    empty maps, nulls); a generator seeded per example draws the template, so the
    templates are all different and reproducible from the seed.
    """
    drawn: list[Case] = []

    @seed(fuzz_seed)
    @settings(
        max_examples=n,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(settings_and_data())
    def gen(case: Case) -> None:
        drawn.append(case)

    gen()
    rnd = random.Random(fuzz_seed)
    cases: list[Case] = []
    for k in range(n):
        case = dict(drawn[k % len(drawn)])
        local = random.Random(rnd.getrandbits(64))
        text = random_template(local)
        if local.random() < 0.1:  # other delimiters
            text = text.replace("{{", "[[").replace("}}", "]]")
            case["delims"] = ["[[", "]]"]
        if local.random() < 0.1:  # a second text parsed into the same namespace
            case["parses"] = ['{{define "d0"}}second{{.}}{{end}}' + _Gen(local).block(0, False)]
        case["template"] = text
        cases.append(case)
    return cases


def test_random_templates_render_like_go(
    go_render: Callable[[list[Case]], list[Result]],
) -> None:
    n = int(os.environ.get("CARPOOL_FUZZ_EXAMPLES", "600"))
    examples = collect(n, int(os.environ.get("CARPOOL_FUZZ_SEED", "20261126")))
    assert len(examples) >= n // 2
    go_results = go_render(examples)
    mismatches = []
    both_ok = both_err = same_err = 0
    for case, go in zip(examples, go_results, strict=True):
        py = py_render(case)
        go_err, py_err = go.get("error"), py.get("error")
        if go_err is None and py_err is None:
            both_ok += 1
            if py["output"] != go["output"]:
                mismatches.append((case, go, py))
        elif go_err is not None and py_err is not None:
            both_err += 1
            same_err += go_err == py_err or go_err.startswith("panic: ")
            if go_err != py_err and not go_err.startswith("panic: "):
                mismatches.append((case, go, py))
        else:
            mismatches.append((case, go, py))
    report = "\n".join(f"case {c!r}\n  go: {g}\n  py: {p}" for c, g, p in mismatches[:10])
    assert not mismatches, f"{len(mismatches)} of {len(examples)} differ:\n{report}"
    # the grammar must exercise both successful renders and errors
    assert both_ok > len(examples) // 10, (both_ok, both_err)
    assert both_err > 0


PRINTF_ARGS = st.lists(
    st.one_of(
        SCALARS,
        st.integers(-(2**40), 2**40),
        st.text(max_size=6),
        st.lists(SCALARS, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), SCALARS, max_size=3),
    ),
    max_size=4,
)


def random_format(rnd: random.Random) -> str:
    """A printf format of literal text and verbs with random flags, width and precision."""
    parts = []
    for _ in range(rnd.randint(1, 4)):
        if rnd.random() < 0.2:
            parts.append(rnd.choice(["x", " ", "%%", "é", "-"]))
            continue
        verb = ["%"]
        verb += rnd.sample("-+# 0", rnd.randint(0, 2))
        if rnd.random() < 0.1:
            verb.append(f"[{rnd.randint(0, 4)}]")
        width = rnd.random()
        if width < 0.3:
            verb.append(str(rnd.randint(0, 12)))
        elif width < 0.35:
            verb.append("*")
        prec = rnd.random()
        if prec < 0.3:
            verb.append("." + str(rnd.randint(0, 8)))
        elif prec < 0.35:
            verb.append(rnd.choice([".", ".*"]))
        verb.append(rnd.choice("vvvdddsssqxXfFeEgGtcoObUTz!"))
        parts.append("".join(verb))
    return "".join(parts)


def test_random_printf_like_go(go_render: Callable[[list[Case]], list[Result]]) -> None:
    n = int(os.environ.get("CARPOOL_FUZZ_EXAMPLES", "600"))
    fuzz_seed = int(os.environ.get("CARPOOL_FUZZ_SEED", "20261126"))
    drawn: list[tuple[list[Any], bool]] = []

    @seed(fuzz_seed)
    @settings(
        max_examples=n,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(PRINTF_ARGS, st.booleans())
    def gen(args: list[Any], ints: bool) -> None:
        drawn.append((args, ints))

    gen()
    rnd = random.Random(fuzz_seed)
    examples: list[Case] = []
    for k in range(n):
        args, ints = drawn[k % len(drawn)]
        names = " ".join(f".a{i}" for i in range(len(args) + rnd.randint(0, 1)))
        data = {"f": random_format(rnd), **{f"a{i}": v for i, v in enumerate(args)}}
        examples.append({"template": "{{printf .f " + names + "}}", "data": data, "ints": ints})
    go_results = go_render(examples)
    mismatches = [
        (case, go, py)
        for case, go in zip(examples, go_results, strict=True)
        if (py := py_render(case)) != go
    ]
    report = "\n".join(f"case {c!r}\n  go: {g}\n  py: {p}" for c, g, p in mismatches[:10])
    assert not mismatches, f"{len(mismatches)} of {len(examples)} differ:\n{report}"
