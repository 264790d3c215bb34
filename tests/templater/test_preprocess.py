"""dgr's CleanupOfTemplate and the output rules around it."""

from __future__ import annotations

from carpool.templater import render_string
from carpool.templater.preprocess import cleanup_template, find_no_value, finish_output


def test_trailing_spaces_are_removed_but_not_tabs() -> None:
    assert cleanup_template("a   \nb\t \nc") == "a\nb\t\nc"


def test_leading_dash_strips_only_this_lines_indentation() -> None:
    text = "x:\n    {{- if true }}\n  y\n    {{- end }}\n"
    assert cleanup_template(text) == "x:\n{{ if true }}\n  y\n{{ end }}"
    # Go alone would have eaten the newline before the action too
    assert render_string(text, None) == "x:\n\n  y\n"
    assert render_string(text, None, cleanup=False) == "x:\n  y\n"


def test_trailing_dash_joins_the_next_line() -> None:
    assert (
        cleanup_template("a {{ if true -}}\n   b\n{{ end -}}\nc")
        == "a {{ if true }}   b\n{{ end }}c"
    )
    assert render_string("a {{ if true -}}\n   b\n{{ end -}}\nc", None) == "a    b\nc"


def test_dash_markers_mid_line_keep_go_semantics() -> None:
    assert cleanup_template("a {{- 1 -}} b") == "a {{- 1 -}} b"
    assert render_string("a {{- 1 -}} b", None) == "a1b"


def test_crlf_and_final_newline_follow_bufio_scanlines() -> None:
    assert cleanup_template("a\r\nb\r\n") == "a\nb"
    assert cleanup_template("") == ""
    assert cleanup_template("\n\n") == "\n"
    assert cleanup_template("x -}}") == "x }}"


def test_output_gets_one_newline_and_no_value_is_found_by_line() -> None:
    assert finish_output("a") == "a\n"
    assert find_no_value("ok\nhost: <no value>\n") == (2, "host: <no value>")
    assert find_no_value("all fine\n") is None
