"""Shared helpers for the templater tests."""

from __future__ import annotations

from typing import Any

import pytest

from carpool.errors import TemplateError
from carpool.templater import render_string
from carpool.templater.engine import Template
from carpool.templater.functions import dgr_functions, gtf_functions, sprig_functions

# a dgr context ("template", "partial", "attribute") or one function set alone
SETS = {"sprig": sprig_functions, "gtf": gtf_functions, "dgr": dgr_functions}


def render(text: str, data: Any = None, context: str = "template") -> str:
    """Render ``text`` with the functions of ``context`` (no dgr clean-up)."""
    if context in SETS:
        return Template("").funcs(SETS[context]()).parse(text).execute(data)
    return render_string(text, data, context=context, cleanup=False)  # type: ignore[arg-type]


def render_error(text: str, data: Any = None, context: str = "template") -> str:
    with pytest.raises(TemplateError) as info:
        render(text, data, context)
    return str(info.value)


def check_outputs(
    cases: list[tuple[str, str]], data: Any = None, context: str = "template"
) -> None:
    """Render every case and fail once listing every mismatch (one test, many cases)."""
    failures = []
    for text, expected in cases:
        try:
            got = render(text, data, context)
        except TemplateError as exc:
            got = f"<error: {exc}>"
        if got != expected:
            failures.append(f"{text!r}: expected {expected!r}, got {got!r}")
    assert not failures, "\n".join(failures)


def check_errors(cases: list[tuple[str, str]], data: Any = None, context: str = "template") -> None:
    """Every case must fail with an error containing its message."""
    failures = []
    for text, message in cases:
        try:
            got = render(text, data, context)
        except TemplateError as exc:
            if message not in str(exc):
                failures.append(f"{text!r}: expected error with {message!r}, got {exc}")
        else:
            failures.append(f"{text!r}: expected error with {message!r}, rendered {got!r}")
    assert not failures, "\n".join(failures)
