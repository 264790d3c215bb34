"""dgr's own functions (``TemplateFunctions``) against Go's behaviour, in template files."""

from __future__ import annotations

import pathlib
import re
from typing import Any

from tests.templater.helpers import check_errors, check_outputs, render

DATA: dict[str, Any] = {
    "n": 3.0,
    "s": "Hello World",
    "list": ["b", "a"],
    "map": {"b": 1.0, "a": {"x": 2.0}, "c": "z"},
    "deep": {"l1": {"l2": {"k": "v"}}},
    "nil": None,
    "json": '{"a": [1, "<x>"], "b": null}',
}

CASES = [
    # Go stdlib wrappers, stdlib argument order
    ('{{base "/a/b/c.txt"}}', "c.txt"),
    ('{{base ""}}|{{base "/"}}|{{base "a/b/"}}', ".|/|b"),
    ('{{dir "/a/b/c.txt"}}|{{dir "c"}}|{{dir "/"}}', "/a/b|.|/"),
    ('{{split "a,b,,c" ","}}', "[a b  c]"),
    ('{{split "abc" ""}}', "[a b c]"),
    ('{{join (split "a:b" ":") "-"}}', "a-b"),
    ('{{toUpper "abc"}}{{toLower "ÀB"}}', "ABCàb"),
    ('{{contains "seafood" "foo"}} {{contains "foo" "seafood"}}', "true false"),
    ('{{replace "oink oink oink" "k" "ky" 2}}', "oinky oinky oink"),
    ('{{replace "oink oink" "oink" "moo" -1}}', "moo moo"),
    ('{{replace "abc" "" "-" -1}}', "-a-b-c-"),
    ('{{repeat "ab" 3}}', "ababab"),
    ('{{hasPrefix "golang" "go"}} {{hasSuffix "golang" "go"}}', "true false"),
    # JSON in and out
    ("{{(json .json).a}}", "[1 <x>]"),
    ('{{index (json .json) "b"}}', "<no value>"),
    ('{{jsonArray "[1, 2.5, \\"x\\"]"}}', "[1 2.5 x]"),
    ("{{toJson .map}}", '{\n  "a": {\n    "x": 2\n  },\n  "b": 1,\n  "c": "z"\n}'),
    ("{{toJson (json .json)}}", '{\n  "a": [\n    1,\n    "\\u003cx\\u003e"\n  ],\n  "b": null\n}'),
    ("{{toJson .list}}", '[\n  "b",\n  "a"\n]'),
    ('{{toJson ""}}{{toJson .nil}}', '""null'),
    ("{{toYaml .map}}", "a:\n  x: 2\nb: 1\nc: z\n"),
    ("{{toYaml .list}}", "- b\n- a\n"),
    ('{{toYaml (pairs "k" "true" "n" "")}}', 'k: "true"\n"n": ""\n'),
    # pairs builds a map (used to pass parameters to partials)
    ('{{pairs "b" 1 "a" "x"}}', "map[a:x b:1]"),
    ('{{(pairs "k" .list).k}}', "[b a]"),
    # defaults: only nil counts as missing
    ('{{orDef .missing "def"}} {{orDef "" "def"}} {{orDef .n "def"}}', "def  3"),
    ('{{orDefs .missing "def"}} {{orDefs .list "def"}}', "[def] [b a]"),
    ('{{ifOrDef .missing "yes" "no"}} {{ifOrDef .n "yes" "no"}}', "no yes"),
    # types
    ('{{isType .n "float64"}} {{isType .s "string"}} {{isType .nil "string"}}', "true true false"),
    ('{{isKind .map "map"}} {{isKind .list "slice"}} {{isKind .n "float64"}}', "true true true"),
    ("{{isMap .map}} {{isMap .list}} {{isMap .nil}}", "true false false"),
    ("{{isArray .list}} {{isArray .s}}", "true false"),
    ("{{isString .s}} {{isString .n}}", "true false"),
    ("{{isNil .nil}} {{isNil .missing}} {{isNil .s}}", "true true false"),
    ('{{isMapFirst .map "a"}} {{isMapFirst .map "b"}}', "true false"),
    ('{{isMapLast .map "c"}} {{isMapLast .map "a"}}', "true false"),
    ('{{IsMapFirst .map "a"}} {{IsMapLast .map "c"}}', "true true"),
    ('{{isMapFirst .list "a"}}', "false"),
    # howDeep: depth of a map value inside a map
    ("{{howDeep .deep .deep.l1}}", "1"),
    ("{{howDeep .deep .deep.l1.l2}}", "2"),
    ("{{HowDeep .deep .map}}", "0"),
    ("{{howDeep .deep 3}}", "0"),
    # Go int arithmetic
    ("{{add 1 2}} {{sub 1 2}} {{mul 3 4}} {{div 7 2}} {{mod 7 3}}", "3 -1 12 3 1"),
    ("{{div -7 2}} {{mod -7 2}}", "-3 -1"),
    ("{{add 9223372036854775807 1}}", "-9223372036854775808"),
    # dgr's eq replaces the builtin: variadic, types must match exactly
    ('{{eq "a" "b" "a"}} {{eq "a" "b"}}', "true false"),
    ("{{eq .n 3}} {{eq .n 3.0}}", "false true"),
    ("{{eq .list .list}} {{eq .map .map}} {{eq .nil .nil}}", "true true true"),
    ('{{eq 1 "1"}} {{eq}}', "false false"),
    # cell: a mutable value
    ("{{$c := cell 0}}{{$c.Set 5}}{{$c.Get}}", "{5}5"),
    ("{{$c := cell}}{{$c.Get}}", "<no value>"),
    ('{{$c := cell "x"}}{{range .list}}{{$c.Set .}}{{end}}{{$c.Get}}', "{b}{a}a"),
]


def test_dgr_functions() -> None:
    check_outputs(CASES, DATA)


ERRORS = [
    # dgr's arithmetic takes Go ints: a YAML number is a float64
    ("{{add .n 1}}", "wrong type for value; expected int; got float64"),
    # dgr's join takes a []string: a YAML list is a []interface {}
    ('{{join .list ","}}', "wrong type for value; expected []string; got []interface {}"),
    ("{{div 1 0}}", "error calling div: runtime error: integer divide by zero"),
    ("{{mod 1 0}}", "error calling mod: runtime error: integer divide by zero"),
    ('{{pairs "a"}}', "error calling pairs: Missing value on key/value Pairs call"),
    (
        '{{json "[1]"}}',
        "json: cannot unmarshal array into Go value of type map[string]interface {}",
    ),
    ('{{json "{"}}', "error calling json: unexpected end of JSON input"),
    ('{{json "x"}}', "error calling json: invalid character 'x' looking for beginning of value"),
    ("{{cell 1 2}}", "error calling cell: wrong number of args: want 0 or 1, got 2"),
    ('{{repeat "a" -1}}', "error calling repeat: strings: negative Repeat count"),
    ('{{isMapFirst .nil "a"}}', "error calling isMapFirst: runtime error: invalid memory address"),
    ("{{add 1}}", "wrong number of args for add: want 2 got 1"),
]


def test_dgr_function_errors() -> None:
    check_errors(ERRORS, DATA)


def test_datetime_prints_like_go_time() -> None:
    out = render("{{datetime}}")
    # 2006-01-02 15:04:05.999999999 -0700 MST m=+0.000000001
    date, clock, offset, zone, monotonic = out.split(" ")
    assert len(date) == 10 and date[4] == "-"
    assert clock[2] == ":" and offset[0] in "+-" and len(offset) == 5
    assert zone and monotonic.startswith("m=+")


def test_every_dgr_function_has_a_case_here() -> None:
    from carpool.templater.functions import dgr_functions

    text = pathlib.Path(__file__).read_text()
    untested = [
        name
        for name in dgr_functions()
        if not re.search(r"[{(|] *" + re.escape(name) + r"\b", text)
    ]
    assert not untested
