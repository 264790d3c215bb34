"""gtf's functions: Django-style filters with gtf's swallow-every-panic recovery."""

from __future__ import annotations

import pathlib
import re
from typing import Any

from carpool.templater.gotypes import Int64
from tests.templater.helpers import check_errors, check_outputs, render

DATA: dict[str, Any] = {
    "f": 3.0,
    "i": 3,
    "one": 1,
    "neg": -1234567,
    "s": "The Go Programming Language",
    "list": ["a", "b", "c"],
    "strs": None,
    "empty": "",
    "map": {"k": 1.0},
}

CASES = [
    ('{{"The Go" | replace " "}}', "TheGo"),
    (
        '{{.missing | default "x"}} {{"" | default "x"}} '
        '{{.list | default "x"}} {{false | default "x"}}',
        "<no value> x [a b c] x",
    ),
    ('{{0 | default "x"}} {{.f | default "x"}}', "0 3"),
    (
        '{{.s | length}} {{.list | length}} {{.map | length}} {{.f | length}} {{"日本" | length}}',
        "27 3 1 0 2",
    ),
    ('{{"ABC" | lower}} {{"abc" | upper}}', "abc ABC"),
    (
        '{{.s | truncatechars 9}} {{"abc" | truncatechars 2}} {{"abc" | truncatechars 5}}',
        "The Go... ab abc",
    ),
    ('{{"http://a.b/?x=1&y=a b" | urlencode}}', "http%3A%2F%2Fa.b%2F%3Fx%3D1%26y%3Da+b"),
    ("{{.s | wordcount}}", "4"),
    (
        "{{21 | divisibleby 3}} {{.f | divisibleby 2}} "
        '{{.f | divisibleby 0}} {{"x" | divisibleby 1}}',
        "true false false false",
    ),
    ("{{.s | lengthis 27}} {{.list | lengthis 2}} {{3 | lengthis 1}}", "true false false"),
    ('{{"  x  " | trim}}', "x"),
    ('{{"go" | capfirst}} {{"" | capfirst}}', "Go "),
    ('{{.one | pluralize "y,ies"}} {{.i | pluralize "y,ies"}} {{.i | pluralize "s"}}', "y ies s"),
    ('{{.f | pluralize "s"}} {{.i | pluralize "a,b,c"}}', " "),
    ('{{true | yesno "yes" "no"}} {{false | yesno "yes" "no"}}', "yes no"),
    (
        '{{"go" | rjust 5}}|{{"go" | ljust 5}}|{{"go" | center 6}}|{{"golang" | center 2}}',
        "   go|go   |  go  |golang",
    ),
    (
        "{{1023 | filesizeformat}} {{1024 | filesizeformat}} {{1536 | filesizeformat}}",
        "1023 bytes 1 KB 1.5 KB",
    ),
    (
        "{{10240 | filesizeformat}} {{1073741824 | filesizeformat}} {{.f | filesizeformat}}",
        "10 KB 1 GB 3 bytes",
    ),
    ('{{"x" | filesizeformat}}', ""),
    (
        "{{1 | apnumber}} {{9 | apnumber}} {{10 | apnumber}} {{.f | apnumber}} {{0 | apnumber}}",
        "one nine 10 3 <no value>",
    ),
    ("{{1000 | intcomma}} {{.neg | intcomma}} {{.f | intcomma}}", "1,000 -1,234,567 "),
    (
        "{{1 | ordinal}} {{2 | ordinal}} {{3 | ordinal}} "
        "{{11 | ordinal}} {{112 | ordinal}} {{23 | ordinal}}",
        "1st 2nd 3rd 11th 112th 23rd",
    ),
    ("{{-1 | ordinal}} {{.f | ordinal}}", " "),
    (
        "{{.list | first}} {{.list | last}} "
        '{{"日本語" | first}} {{"日本語" | last}} {{.f | first}}',
        "a c 日 語 ",
    ),
    ("{{.strs | first}} {{(slice 0 0 .list) | first}}", " <no value>"),
    (
        '{{.list | slice 1 2}} {{"abcdef" | slice 1 3}} '
        '{{"abc" | slice -1 10}} {{.list | slice 1 9}}',
        "[b] bc abc <no value>",
    ),
    ('{{"<b>bold</b> text <br/>" | striptags}}', "bold text"),
]


def test_gtf_functions() -> None:
    check_outputs(CASES, DATA, "gtf")


def test_gtf_join_takes_a_string_slice() -> None:
    # in attribute values gtf wins: dgr's split gives a []string, gtf's join takes it last
    check_outputs([('{{split "a,b" "," | join "-"}}', "a-b")], None, "attribute")
    check_errors(
        [('{{.list | join ","}}', "wrong type for value; expected []string; got []interface {}")],
        DATA,
        "gtf",
    )


def test_gtf_integer_helpers_want_go_integer_kinds() -> None:
    # sized integers count (sprig's int64 results, for instance)
    assert render("{{.v | intcomma}} {{.v | ordinal}}", {"v": Int64(1001)}, "gtf") == "1,001 1001st"


def test_gtf_random_picks_an_element() -> None:
    for _ in range(5):
        assert render("{{.list | random}}", DATA, "gtf") in DATA["list"]


def test_every_gtf_function_has_a_case_here() -> None:
    from carpool.templater.functions import gtf_functions

    text = pathlib.Path(__file__).read_text()
    untested = [
        name
        for name in gtf_functions()
        if not re.search(r"[{(|] *" + re.escape(name) + r"\b", text)
    ]
    assert not untested
