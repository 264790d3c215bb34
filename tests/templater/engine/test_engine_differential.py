"""carpool's text/template against Go's, on hand-written cases covering every construct.

All cases go to Go in one batch; each case is then one test comparing output and the
exact error text (``template: NAME:LINE:COL: …``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .cases import CASES
from .conftest import Case, Result, py_render, same


def _case(entry: tuple[Any, ...]) -> Case:
    template, data, *rest = entry
    case: Case = {"template": template, "data": data}
    if rest:
        case.update(rest[0])
    return case


ALL: list[Case] = [_case(e) for e in CASES]


@pytest.fixture(scope="module")
def go_results(go_render: Callable[[list[Case]], list[Result]]) -> list[Result]:
    return go_render(ALL)


def test_enough_cases() -> None:
    assert len(ALL) >= 300


@pytest.mark.parametrize("index", range(len(ALL)), ids=lambda i: f"case{i}")
def test_same_as_go(index: int, go_results: list[Result]) -> None:
    case = ALL[index]
    go = go_results[index]
    py = py_render(case)
    assert same(py, go), f"template {case['template']!r}\n  go: {go}\n  py: {py}"
