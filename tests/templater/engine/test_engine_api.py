"""The Python API of the engine: Template methods, the parse cache, Go signatures, values."""

from __future__ import annotations

import io
from typing import Any

import pytest

from carpool.errors import CarpoolError, TemplateError
from carpool.templater import gofmt
from carpool.templater.engine import ExecError, ParseError, Template
from carpool.templater.engine import template as template_module
from carpool.templater.gotypes import (
    GoError,
    GoMap,
    GoSlice,
    Int64,
    go_signature,
    kind_name,
    signature_of,
    truth,
)


def render(text: str, data: Any = None, **funcs: Any) -> str:
    return Template("t", funcs).parse(text).execute(data)


# ---------------------------------------------------------------- Template API


def test_parse_returns_the_template_and_defines_share_a_namespace() -> None:
    t = Template("main")
    assert t.parse('{{define "a"}}A{{.}}{{end}}main') is t
    t.parse('{{define "b"}}B{{template "a" .}}{{end}}')
    assert t.execute(1) == "main"
    assert t.execute_template("b", 2) == "BA2"
    a = t.lookup("a")
    assert a is not None and a.execute(3) == "A3"
    assert t.lookup("zz") is None
    assert sorted(x.name for x in t.templates()) == ["a", "b", "main"]


def test_new_shares_functions_options_and_templates() -> None:
    t = Template("root", {"twice": lambda s: s + s}).option("missingkey=error")
    child = t.new("child").parse('{{twice "x"}}{{template "root" .}}')
    t.parse("{{.k}}")
    assert child.execute({"k": "v"}) == "xxv"
    with pytest.raises(ExecError, match='map has no entry for key "k"'):
        child.execute({})


def test_clone_has_its_own_namespace() -> None:
    base = Template("base").parse('{{define "p"}}P{{end}}[{{template "p"}}]')
    copy = base.clone()
    copy.parse('{{define "p"}}Q{{end}}')
    copy.funcs({"extra": lambda: "x"})
    assert base.execute(None) == "[P]"
    assert copy.execute(None) == "[Q]"
    assert base.lookup("p") is not copy.lookup("p")
    with pytest.raises(ParseError, match='function "extra" not defined'):
        base.new("n").parse("{{extra}}")


def test_execute_template_unknown_name_is_gos_message() -> None:
    t = Template("t").parse("x")
    with pytest.raises(TemplateError) as e:
        t.execute_template("nope", None)
    assert str(e.value) == 'template: no template "nope" associated with template "t"'


def test_execute_writes_to_a_writer_including_partial_output_on_error() -> None:
    out = io.StringIO()
    t = Template("t").parse("before {{.a.b}} after")
    with pytest.raises(ExecError) as e:
        t.execute({"a": None}, out)
    assert out.getvalue() == "before "
    assert str(e.value) == (
        'template: t:1:11: executing "t" at <.a.b>: nil pointer evaluating interface {}.b'
    )
    out = io.StringIO()
    assert Template("t").parse("ok {{.}}").execute(5, out) == "ok 5"
    assert out.getvalue() == "ok 5"


def test_empty_template_cannot_execute() -> None:
    with pytest.raises(ExecError) as e:
        Template("t").execute(None)
    assert str(e.value) == 'template: t: "t" is an incomplete or empty template'


def test_errors_are_carpool_errors_with_exit_code_1() -> None:
    with pytest.raises(ParseError) as e:
        Template("x.tmpl").parse("line\n{{if .a}}")
    assert isinstance(e.value, TemplateError) and isinstance(e.value, CarpoolError)
    assert e.value.exit_code == 1
    assert str(e.value) == "template: x.tmpl:2: unexpected EOF"


def test_options_and_function_names_are_validated() -> None:
    with pytest.raises(TemplateError, match="unrecognized option: missingkey=maybe"):
        Template("t").option("missingkey=maybe")
    with pytest.raises(TemplateError, match="empty option string"):
        Template("t").option("")
    with pytest.raises(TemplateError, match='function name "a-b" is not a valid identifier'):
        Template("t").funcs({"a-b": len})
    with pytest.raises(TemplateError, match="value for f not a function"):
        Template("t").funcs({"f": 3})  # type: ignore[dict-item]


def test_missingkey_options() -> None:
    data = {"a": 1.0}
    assert Template("t").parse("{{.b}}").execute(data) == "<no value>"
    assert Template("t").option("missingkey=zero").parse("{{.b}}").execute(data) == "<no value>"
    typed = GoMap("string", {"a": "x"})
    assert Template("t").option("missingkey=zero").parse("[{{.b}}]").execute(typed) == "[]"
    with pytest.raises(ExecError, match='map has no entry for key "b"'):
        Template("t").option("missingkey=error").parse("{{.b}}").execute(data)


def test_delims() -> None:
    t = Template("t").delims("<<", ">>").parse("<<.a>> {{.a}}")
    assert t.execute({"a": 1.0}) == "1 {{.a}}"


def test_user_functions_override_builtins() -> None:
    assert render("{{len 1 2}}", None, len=lambda a, b: "mine") == "mine"
    # the builtin "and" short-circuits: boom is never called
    calls = []

    def boom() -> str:
        calls.append(1)
        return "x"

    assert render("{{and 0 (boom)}}", None, boom=boom) == "0"
    assert calls == []


def test_recursion_limit_is_an_error_not_a_crash() -> None:
    t = Template("t").parse('{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}')
    with pytest.raises(ExecError, match=r"exceeded maximum template depth \(100000\)"):
        t.execute(None)


def test_recursion_through_functions_is_an_error_not_a_crash() -> None:
    holder: dict[str, Template] = {}

    def again(x: Any) -> str:
        return holder["t"].execute(x)

    holder["t"] = Template("t", {"again": again}).parse("{{if .}}{{again (slice . 1)}}{{end}}")
    with pytest.raises(ExecError, match="exceeded maximum template depth"):
        holder["t"].execute(list(range(100000)))


# ---------------------------------------------------------------- parse cache


def test_parse_cache_reuses_trees_for_the_same_text() -> None:
    text = "{{range .}}{{.}}{{end}} cached"
    a = Template("t").parse(text)
    b = Template("t").parse(text)
    assert a.tree is b.tree
    assert b.execute([1.0, 2.0]) == "12 cached"
    # a different name is a different tree (error positions name the template)
    assert Template("u").parse(text).tree is not a.tree


def test_parse_cache_rechecks_functions() -> None:
    text = "{{shout .}}"
    with pytest.raises(ParseError, match='function "shout" not defined'):
        Template("t").parse(text)
    assert render(text, "x", shout=str.upper) == "X"
    with pytest.raises(ParseError, match='function "shout" not defined'):
        Template("t").parse(text)


def test_parse_cache_replays_errors() -> None:
    for _ in range(2):
        with pytest.raises(ParseError, match="unclosed action"):
            Template("t").parse("{{.a")


def test_parse_cache_is_bounded() -> None:
    for i in range(template_module._CACHE_MAX + 10):
        Template("t").parse(f"{i}")
    assert len(template_module._CACHE) <= template_module._CACHE_MAX


# ---------------------------------------------------------------- Go signatures


@go_signature("float64", "int", result="string", returns_error=False)
def _typed(f: float, i: int) -> str:
    return f"{type(f).__name__}:{f} {type(i).__name__}:{i}"


def test_untyped_constants_convert_like_go() -> None:
    assert render("{{typed 3 4}}", None, typed=_typed) == "float:3.0 int:4"
    assert render("{{typed 'a' 0x10}}", None, typed=_typed) == "float:97.0 int:16"


def test_typed_parameters_reject_other_types_with_gos_message() -> None:
    with pytest.raises(ExecError) as e:
        render("{{typed .f .f}}", {"f": 1.5}, typed=_typed)
    assert str(e.value).endswith("wrong type for value; expected int; got float64")
    with pytest.raises(ExecError) as e:
        render("{{typed 1.5 2.5}}", None, typed=_typed)
    assert str(e.value).endswith("expected integer; found 2.5")
    with pytest.raises(ExecError) as e:
        render("{{typed 1}}", None, typed=_typed)
    assert str(e.value).endswith("wrong number of args for typed: want 2 got 1")


def test_functions_without_declaration_take_interfaces() -> None:
    def two(a: Any, b: Any) -> str:
        return f"{a!r},{b!r}"

    def opt(a: Any, b: Any = 1) -> str:
        return f"{a!r},{b!r}"

    assert signature_of(two).func_type() == "func(interface {}, interface {}) (interface {}, error)"
    assert render("{{two 1 .x}}", {"x": None}, two=two) == "1,None"
    assert render("{{two .m .l}}", {"m": {}, "l": []}, two=two) == "{},[]"
    with pytest.raises(ExecError, match="wrong number of args for two: want 2 got 3"):
        render("{{two 1 2 3}}", None, two=two)
    assert render("{{opt 1}} {{opt 1 2}}", None, opt=opt) == "1,1 1,2"


def test_function_errors() -> None:
    def bad() -> str:
        raise GoError("no luck")

    def crash() -> int:
        return 1 // 0

    with pytest.raises(ExecError) as e:
        render("x{{bad}}", None, bad=bad)
    assert str(e.value) == 'template: t:1:3: executing "t" at <bad>: error calling bad: no luck'
    with pytest.raises(
        ExecError, match="error calling crash: runtime error: integer divide by zero"
    ):
        render("{{crash}}", None, crash=crash)


def test_typed_results_keep_their_go_type() -> None:
    @go_signature(result="[]string", returns_error=False)
    def names() -> GoSlice:
        return GoSlice("string", ["b", "a"])

    @go_signature(result="int64", returns_error=False)
    def big() -> Int64:
        return Int64(5)

    text = '{{printf "%T %T %v" names big names}} {{index names 1}} {{eq big 5}}'
    assert render(text, None, names=names, big=big) == "[]string int64 [b a] a true"


def test_methods_of_objects_can_be_called() -> None:
    class Cell:
        def __init__(self) -> None:
            self.value: Any = None

        @go_signature("interface {}", result="string", returns_error=False)
        def Set(self, v: Any) -> str:
            self.value = v
            return ""

        @go_signature(returns_error=False)
        def Get(self) -> Any:
            return self.value

    out = render("{{$c := cell}}{{$c.Set 42}}{{$c.Get}} {{.c.Get}}", {"c": Cell()}, cell=Cell)
    assert out == "42 <no value>"


# ---------------------------------------------------------------- values and fmt


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (False, False),
        (True, True),
        (0, False),
        (0.0, False),
        (-0.0, False),
        (2, True),
        (0.1, True),
        ("", False),
        ("0", True),
        ([], False),
        ([None], True),
        ({}, False),
        ({"a": None}, True),
        (len, True),
    ],
)
def test_truth(value: Any, expected: bool) -> None:
    assert truth(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "<nil>"),
        (True, "bool"),
        (1, "int"),
        (Int64(1), "int64"),
        (1.5, "float64"),
        ("s", "string"),
        ([], "[]interface {}"),
        ({}, "map[string]interface {}"),
        (GoSlice("string"), "[]string"),
        (GoMap("int"), "map[string]int"),
        (_typed, "func(float64, int) string"),
    ],
)
def test_kind_name(value: Any, expected: str) -> None:
    assert kind_name(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e6, "1e+06"),
        (100000.0, "100000"),
        (0.25, "0.25"),
        (1e-5, "1e-05"),
        (123456789.0, "1.23456789e+08"),
        (-0.0, "-0"),
        (3.0, "3"),
        (1e21, "1e+21"),
        ({"b": 2.0, "a": [1.0, "x", None]}, "map[a:[1 x <nil>] b:2]"),
        (["a", "b"], "[a b]"),
        (None, "<nil>"),
        (True, "true"),
        (float("inf"), "+Inf"),
        (float("nan"), "NaN"),
    ],
)
def test_format_value(value: Any, expected: str) -> None:
    assert gofmt.format_value(value) == expected


def test_sprint_spacing_and_sprintln() -> None:
    assert gofmt.sprint(1, 2, "a", 3, "b", "c", 4.5, None) == "1 2a3bc4.5 <nil>"
    assert gofmt.sprintln(1, "a", None) == "1 a <nil>\n"


@pytest.mark.parametrize(
    ("fmt", "args", "expected"),
    [
        ("%d", (3.0,), "%!d(float64=3)"),
        ("%d %d", (1,), "1 %!d(MISSING)"),
        ("%d", (1, "x", None), "1%!(EXTRA string=x, <nil>)"),
        ("%v", (None,), "<nil>"),
        ("%s", (None,), "%!s(<nil>)"),
        (
            "%5.1f|%-6d|%+d|%x|%X|%o|%b",
            (3.14159, 42, 5, 255, 255, 8, 5),
            "  3.1|42    |+5|ff|FF|10|101",
        ),
        ("%q %+q %#q", ("é\n", "é", "a"), '"é\\n" "\\u00e9" `a`'),
        ("%c|%U|%#U", (0x263A, 0x263A, 0x263A), "☺|U+263A|U+263A '☺'"),
        ("%[2]d %[1]d %d", (1, 2), "2 1 2"),
        ("%*d|%.*f", (4, 7, 2, 3.14159), "   7|3.14"),
        ("%e %g %G", (1234.5678, 1e-7, 1e21), "1.234568e+03 1e-07 1E+21"),
        ("%t %v", (True, False), "true false"),
        ("%08.3f|%-8.2f|%+.2e", (-3.14159, 2.5, 12345.0), "-003.142|2.50    |+1.23e+04"),
        ("%x % X %#x", ("hi", "hi", "hi"), "6869 68 69 0x6869"),
        ("%6.2v|%.3g|%#g", (3.14159, 1234.5678, 1.0), "   3.1|1.23e+03|1.00000"),
        ("100%%", (), "100%"),
        ("%!", (), "%!!(MISSING)"),
        ("%", (), "%!(NOVERB)"),
        ("%z", (1,), "%!z(int=1)"),
    ],
)
def test_sprintf(fmt: str, args: tuple[Any, ...], expected: str) -> None:
    assert gofmt.sprintf(fmt, *args) == expected


def test_string_map_keys_sort_in_go_byte_order() -> None:
    """The all-string fast path of sorted_keys orders like Go's fmtsort (UTF-8 bytes)."""
    from carpool.templater.gofmt import _key_order, sorted_keys

    keys = ["b", "a", "é", "\ud800", "\udfff", "\U0001f600", "", "Z", "\uffff", "\ue000", "a\x00"]
    for shift in range(len(keys)):
        rotated = keys[shift:] + keys[:shift]
        expected = sorted(rotated, key=_key_order)
        assert sorted_keys(dict.fromkeys(rotated)) == expected
        assert expected == sorted(rotated, key=lambda k: k.encode("utf-8", "surrogatepass"))
