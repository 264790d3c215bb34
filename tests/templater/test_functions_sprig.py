"""sprig v2's functions (as dgr vendored them) against their documented behaviour."""

from __future__ import annotations

import base64
import re
import uuid
from pathlib import Path
from typing import Any

from tests.templater.helpers import check_errors, check_outputs, render

DATA: dict[str, Any] = {
    "n": 3.7,
    "i": 1000000.0,
    "s": "Hello World",
    "list": ["b", "a", "c"],
    "nums": [1.0, 2.0, 2.0],
    "map": {"b": 1.0, "a": 2.0},
    "nil": None,
    "empty": "",
}

STRINGS = [
    ("{{hello}}", "Hello!"),
    ('{{abbrev 5 "hello world"}} {{abbrev 3 "hello"}} {{abbrev 20 "hi"}}', "he... hello hi"),
    ('{{abbrevboth 5 10 "1234 5678 9123"}}', "...5678..."),
    ('{{trunc 5 "hello world"}} {{trunc 20 "hi"}}', "hello hi"),
    ('{{trim "  hi \\n"}}|{{upper "abc"}}|{{lower "ABC"}}', "hi|ABC|abc"),
    ('{{title "hello world-wide web"}}', "Hello World-Wide Web"),
    ('{{untitle "Hello World"}}', "hello world"),
    ('{{substr 0 5 "hello world"}} {{substr 6 -1 "hello world"}}', "hello world"),
    ('{{"hello" | repeat 3}}', "hellohellohello"),
    ('{{trimAll "$" "$5.00$"}} {{trimall "$" "$5$"}}', "5.00 5"),
    ('{{trimSuffix "-" "hello-"}} {{trimPrefix "-" "-hello"}}', "hello hello"),
    ('{{nospace "hello w o r l d"}}', "helloworld"),
    ('{{initials "First Try"}}', "FT"),
    ('{{swapcase "This Is A.Test"}}', "tHIS iS a.tEST"),
    ('{{snakecase "FirstName"}} {{snakecase "HTTPServer"}}', "first_name http_server"),
    ('{{camelcase "http_server"}} {{camelcase "_a_b"}}', "HttpServer _AB"),
    ('{{wrap 5 "Hello World"}}', "Hello\nWorld"),
    ('{{wrapWith 5 "\\t" "Hello World"}}', "Hello\tWorld"),
    (
        '{{"foobar" | contains "foo"}} {{"foobar" | hasPrefix "foo"}} '
        '{{"foobar" | hasSuffix "foo"}}',
        "true true false",
    ),
    ('{{quote "a" 1 .n}} {{squote "a" .n}}', '"a" "1" "3.7" \'a\' \'3.7\''),
    ('{{quote "say \\"hi\\""}}', '"say \\"hi\\""'),
    ('{{cat "hello" "beautiful" .i}}', "hello beautiful 1e+06"),
    ('{{indent 2 "a\\nb"}}', "  a\n  b"),
    ('{{"I Am Henry VIII" | replace " " "-"}}', "I-Am-Henry-VIII"),
    (
        '{{len .list | plural "one anchovy" "many anchovies"}} {{plural "one" "many" 1}}',
        "many anchovies one",
    ),
    (
        '{{sha256sum "Hello world!"}}',
        "c0535e4be2b79ffd93291305436bf889314e4a3faec05ecffcbb7df31ad9e51a",
    ),
    ("{{toString .n}} {{toString 5}} {{toString .list}}", "3.7 5 [b a c]"),
    ('{{atoi "42"}} {{atoi "x"}} {{atoi " 1"}}', "42 0 0"),
    ('{{int64 "42"}} {{int64 .n}} {{int .n}} {{int64 true}} {{int64 .nil}}', "42 3 3 1 0"),
    ('{{float64 "1.5"}} {{float64 3}} {{float64 "x"}} {{float64 .i}}', "1.5 3 0 1e+06"),
    ('{{$p := split "$" "foo$bar$baz"}}{{$p._0}} {{$p._2}}', "foo baz"),
    ('{{splitList "$" "foo$bar"}} {{splitList "," ""}}', "[foo bar] []"),
    ("{{toStrings .nums}}", "[1 2 2]"),
    (
        "{{until 3}} {{until -2}} {{untilStep 1 7 3}} {{untilStep 5 1 -2}}",
        "[0 1 2] [0 -1] [1 4] [5 3]",
    ),
    ('{{join "-" .list}} {{join "," .nums}} {{join "," "x"}}', "b-a-c 1,2,2 x"),
    ("{{sortAlpha .list}} {{sortAlpha .nums}} {{sortAlpha 3}}", "[a b c] [1 2 2] [3]"),
]

MATH = [
    ("{{add1 .n}} {{add 1 2 .n}} {{sub 5 .n}} {{mul 2 3 .n}}", "4 6 2 18"),
    ('{{div 7 2}} {{div -7 2}} {{mod 7 3}} {{mod -7 3}} {{add "3" 4}}', "3 -3 1 -1 7"),
    ("{{max 1 5 3}} {{biggest 2 .n}} {{min 4 .n 9}}", "5 3 3"),
    ("{{ceil 1.2}} {{floor 1.8}} {{ceil .n}} {{floor -1.5}}", "2 1 4 -2"),
    ("{{round 3.14159 2}} {{round 2.5 0}} {{round 2.25 1 0.6}}", "3.14 3 2.2"),
    ("{{add 9223372036854775807 1}}", "-9223372036854775808"),
    (
        "{{typeOf (add 1 2)}} {{typeOf (until 2)}} "
        '{{typeOf (keys .map)}} {{typeOf (split "," "a")}}',
        "int64 []int []string map[string]string",
    ),
]

DEFAULTS = [
    (
        '{{default "foo" .missing}} {{.missing | default "foo"}} {{default "foo" "bar"}}',
        "foo foo bar",
    ),
    (
        '{{default "d" 0}} {{default "d" ""}} {{default "d" false}} {{default "d" .list}}',
        "d d d [b a c]",
    ),
    (
        "{{empty .missing}} {{empty 0}} {{empty .list}} {{empty .empty}} {{empty .n}}",
        "true true false true false",
    ),
    ('{{coalesce 0 .nil "" "x" "y"}} {{coalesce 0 ""}}', "x <no value>"),
    ('{{compact (list 1 0 "" "a" .nil false)}}', "[1 a]"),
    (
        "{{toJson .map}} {{toJson .list}} {{toJson .nil}} {{toJson .i}}",
        '{"a":2,"b":1} ["b","a","c"] null 1000000',
    ),
    ("{{toPrettyJson .map}}", '{\n  "a": 2,\n  "b": 1\n}'),
    ('{{toJson "<&>"}}', '"\\u003c\\u0026\\u003e"'),
]

REFLECTION = [
    (
        "{{typeOf .n}} {{typeOf .s}} {{typeOf .list}} {{typeOf .map}} {{typeOf .nil}}",
        "float64 string []interface {} map[string]interface {} <nil>",
    ),
    ('{{typeIs "float64" .n}} {{typeIs "int" .n}} {{typeIsLike "string" .s}}', "true false true"),
    (
        '{{kindOf .n}} {{kindOf .list}} {{kindOf .map}} {{kindIs "string" .s}} {{kindOf .nil}}',
        "float64 slice map true invalid",
    ),
]

PATHS_ENCODING = [
    (
        '{{base "a/b/c.txt"}} {{dir "/a/b/c"}} {{clean "a//b/../c"}} {{ext "x/a.tar.gz"}}',
        "c.txt /a/b a/c .gz",
    ),
    ('{{isAbs "/a"}} {{isAbs "a"}}', "true false"),
    (
        '{{b64enc "hello"}} {{b64dec "aGVsbG8="}} {{b32enc "hi"}} {{b32dec "NBUQ===="}}',
        "aGVsbG8= hello NBUQ==== hi",
    ),
    ('{{b64dec "a?"}}', "illegal base64 data at input byte 1"),
]

DATA_STRUCTURES = [
    ('{{list 1 "a" .n}} {{tuple 1 2}}', "[1 a 3.7] [1 2]"),
    (
        '{{dict "a" 1 "b" "x"}} {{dict "k"}} {{index (dict 1 "one") "1"}}',
        "map[a:1 b:x] map[k:] one",
    ),
    (
        '{{$d := dict "a" 1}}{{set $d "b" 2}} {{unset $d "a"}} {{hasKey $d "b"}} {{hasKey $d "a"}}',
        "map[a:1 b:2] map[b:2] true false",
    ),
    ('{{pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3)}}', "[1 3]"),
    (
        '{{keys .map | sortAlpha}} {{pick .map "a" "zz"}} {{omit .map "a"}}',
        "[a b] map[a:2] map[b:1]",
    ),
    (
        '{{merge (dict "a" 1 "c" (dict "x" 1)) (dict "a" 2 "b" 3 "c" (dict "y" 2))}}',
        "map[a:1 b:3 c:map[x:1 y:2]]",
    ),
    ('{{merge (dict "a" "" "k" 1) (dict "a" "x" "b" "" "c" 0)}}', "map[a: k:1]"),
    ("{{append .list 1}} {{push .list 2}} {{prepend .list 0}}", "[b a c 1] [b a c 2] [0 b a c]"),
    (
        "{{first .list}} {{last .list}} {{rest .list}} {{initial .list}} {{reverse .list}}",
        "b c [a c] [b a] [c a b]",
    ),
    ("{{first (list)}} {{last (list)}} {{rest (list)}}", "<no value> <no value> []"),
    (
        '{{uniq .nums}} {{without .list "a" "c"}} '
        '{{has "a" .list}} {{has 1 .nums}} {{has 1.0 .nums}}',
        "[1 2] [b] true false true",
    ),
]

REGEX = [
    ('{{regexMatch "^[a-z]+\\\\.com$" "abc.com"}} {{regexMatch "(" "x"}}', "true false"),
    (
        '{{regexFindAll "[2,4,6,8]" "123456789" -1}} {{regexFindAll "[2,4,6,8]" "123456789" 2}}',
        "[2 4 6 8] [2 4]",
    ),
    ('{{regexFind "[a-zA-Z][1-9]" "abcd1234"}}', "d1"),
    ('{{regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W"}}', "-W-xxW-"),
    ('{{regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W"}}', "---"),
    ('{{regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}"}}', "-${1}-${1}-"),
    (
        '{{regexSplit "z+" "pizza" -1}} '
        '{{regexSplit "z+" "pizza" 1}} {{len (regexSplit "a" "" -1)}}',
        "[pi a] [pizza] 1",
    ),
    ('{{regexReplaceAll "a*" "baaac" "X"}}', "XbXcX"),
]

SEMVER_OS = [
    (
        '{{$v := semver "1.2.3-beta.1+build"}}{{$v.Major}}.{{$v.Minor}}.{{$v.Patch}} '
        "{{$v.Prerelease}} "
        "{{$v.Metadata}} {{$v}}",
        "1.2.3 beta.1 build 1.2.3-beta.1+build",
    ),
    ('{{(semver "v2").Original}} {{semver "v2"}}', "v2 2.0.0"),
    ('{{semverCompare ">=1.2.0" "1.3.0"}} {{semverCompare "<1.2.0" "1.3.0"}}', "true false"),
    ('{{semverCompare "~1.2" "1.2.9"}} {{semverCompare "~1.2" "1.3.0"}}', "true false"),
    ('{{semverCompare "^1.2" "1.9.0"}} {{semverCompare "^1.2" "2.0.0"}}', "true false"),
    (
        '{{semverCompare "1.2.x" "1.2.7"}} {{semverCompare ">1.0, <2.0 || 3.x" "3.1.0"}}',
        "true true",
    ),
    ('{{semverCompare "1.0 - 2.0" "1.5.0"}} {{semverCompare ">=1.0" "1.5.0-beta"}}', "true false"),
    (
        '{{env "CARPOOL_TEST_SPRIG_ENV"}}|{{expandenv "a=$CARPOOL_TEST_SPRIG_ENV ${NOPE_X}."}}',
        "yes|a=yes .",
    ),
    ('{{derivePassword 1 "long" "password" "user" "example.com"}}', "ZedaFaxcZaso9*"),
]


def test_sprig_string_functions() -> None:
    check_outputs(STRINGS, DATA, "sprig")


def test_sprig_math_takes_anything_and_returns_int64() -> None:
    check_outputs(MATH, DATA, "sprig")


def test_sprig_defaults_and_json() -> None:
    check_outputs(DEFAULTS, DATA, "sprig")


def test_sprig_reflection() -> None:
    check_outputs(REFLECTION, DATA, "sprig")


def test_sprig_paths_and_encoding() -> None:
    check_outputs(PATHS_ENCODING, DATA, "sprig")


def test_sprig_lists_and_dicts() -> None:
    check_outputs(DATA_STRUCTURES, DATA, "sprig")


def test_sprig_regex_has_go_semantics() -> None:
    check_outputs(REGEX, DATA, "sprig")


def test_sprig_semver_env_and_passwords(monkeypatch: Any) -> None:
    monkeypatch.setenv("CARPOOL_TEST_SPRIG_ENV", "yes")
    check_outputs(SEMVER_OS, DATA, "sprig")


def test_sprig_errors() -> None:
    check_errors(
        [
            ('{{fail "boom"}}', "error calling fail: boom"),
            ("{{div 1 0}}", "error calling div: runtime error: integer divide by zero"),
            ('{{trunc .n "abc"}}', "wrong type for value; expected int; got float64"),
            ('{{semver "x.y"}}', "error calling semver: Invalid Semantic Version"),
            ('{{regexFind "(" "x"}}', "error calling regexFind: regexp: Compile"),
            ('{{first "abc"}}', 'can\'t handle "abc" for arg of type []interface {}'),
            ("{{first .s}}", "wrong type for value; expected []interface {}; got string"),
            ('{{substr 2 1 "abc"}}', "slice bounds out of range"),
        ],
        DATA,
        "sprig",
    )


def test_sprig_random_and_generated_values() -> None:
    out = render("{{randAlphaNum 12}} {{randAlpha 5}} {{randNumeric 4}} {{randAscii 3}}")
    alnum, alpha, numeric, ascii_ = out.split(" ", 3)
    assert re.fullmatch(r"[A-Za-z0-9]{12}", alnum)
    assert re.fullmatch(r"[A-Za-z]{5}", alpha)
    assert re.fullmatch(r"[0-9]{4}", numeric)
    assert len(ascii_) == 3
    assert uuid.UUID(render("{{uuidv4}}")).version == 4
    assert sorted(render('{{shuffle "abcdef"}}')) == list("abcdef")
    assert render('{{now | date "2006"}}').isdigit()
    assert render('{{date "2006-01-02 15:04 MST" 0}}') != ""
    assert (
        render('{{dateInZone "2006-01-02T15:04:05Z07:00" 86400 "UTC"}}') == "1970-01-02T00:00:00Z"
    )
    assert render('{{htmlDateInZone 0 "UTC"}}') == "1970-01-01"
    if Path("/usr/share/zoneinfo/Europe/Paris").exists():  # Debian's tzdata
        assert (
            render('{{dateInZone "Mon Jan _2 3:04PM MST" 1700000000 "Europe/Paris"}}')
            == "Tue Nov 14 11:13PM CET"
        )
    # an unknown zone is UTC, as in sprig
    assert render('{{dateInZone "15:04 MST" 0 "No/Where"}}') == "00:00 UTC"
    assert render('{{now | dateModify "-48h" | date "2006"}}').isdigit()
    assert render('{{date_modify "1h30m" (now) | htmlDate}}').count("-") == 2
    assert render('{{date_in_zone "15:04:05.000 -07:00" 0 "UTC"}}') == "00:00:00.000 +00:00"
    # sprig treats anything but a time or a Go integer (a YAML float64, say) as now
    assert render('{{date "2006" .f}}', {"f": 0.0}) == render('{{now | date "2006"}}')


def test_sprig_gen_private_key_is_pem() -> None:
    key = render('{{genPrivateKey "ecdsa"}}')
    assert key.startswith("-----BEGIN EC PRIVATE KEY-----")
    assert base64.b64decode("".join(key.strip().splitlines()[1:-1]))


def test_every_sprig_function_has_a_case_here() -> None:
    import pathlib

    from carpool.templater.functions import sprig_functions

    text = pathlib.Path(__file__).read_text()
    untested = [
        name
        for name in sprig_functions()
        if not re.search(r"[{(|] *" + re.escape(name) + r"\b", text)
    ]
    assert not untested
