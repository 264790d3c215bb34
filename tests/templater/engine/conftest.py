"""Differential testing against Go's own ``text/template``.

``gorender/main.go`` (standard library only) is built once per session and renders a
whole batch of cases in one process; :func:`py_render` runs the same case through
carpool's engine with the same test functions (:mod:`.gofuncs`).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from carpool.errors import TemplateError
from carpool.templater.cache import Bundle
from carpool.templater.engine import Template

from .gofuncs import GO_FUNCS

GORENDER_SRC = Path(__file__).resolve().parent / "gorender"

Case = dict[str, Any]
Result = dict[str, Any]


def _go_env(base: Path) -> dict[str, str]:
    """Go needs a build cache; HOME may be unset in CI, so everything is explicit."""
    cache = os.environ.get("CARPOOL_GOCACHE") or str(
        Path(tempfile.gettempdir()) / "carpool-gocache"
    )
    env = dict(os.environ)
    env.update(
        GOCACHE=cache,
        GOPATH=str(base / "gopath"),
        GO111MODULE="off",
        CGO_ENABLED="0",
        GOFLAGS="",
        GOTOOLCHAIN="local",
    )
    env.setdefault("HOME", str(base))
    return env


@pytest.fixture(scope="session")
def gorender_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go") or ("/usr/bin/go" if Path("/usr/bin/go").exists() else None)
    if go is None:
        pytest.skip("the Go toolchain (`go`, Debian package golang-go) is not installed")
    base = tmp_path_factory.mktemp("gorender")
    version = subprocess.run(
        [go, "env", "GOVERSION"], env=_go_env(base), capture_output=True, text=True, timeout=60
    ).stdout.strip()
    if not version.startswith("go1.19"):
        # other Go versions render differently (e.g. 1.22 ranges over integers)
        pytest.skip(f"the differential tests compare with Go 1.19 (dgr's), found {version!r}")
    binary = base / "gorender"
    proc = subprocess.run(
        [go, "build", "-o", str(binary), "main.go"],
        cwd=GORENDER_SRC,
        env=_go_env(base),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"go build failed:\n{proc.stderr}"
    return binary


@pytest.fixture(scope="session")
def go_render(gorender_bin: Path) -> Callable[[list[Case]], list[Result]]:
    """Render a batch of cases with Go's text/template (one process for the batch)."""

    def render(cases: list[Case]) -> list[Result]:
        proc = subprocess.run(
            [str(gorender_bin)],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        results: list[Result] = json.loads(proc.stdout)
        assert len(results) == len(cases)
        return results

    return render


def to_go_data(value: Any, ints: bool) -> Any:
    """JSON data as Go's decoder gives it: numbers are float64 unless ``ints``."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if ints else float(value)
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        return [to_go_data(v, ints) for v in value]
    if isinstance(value, dict):
        return {k: to_go_data(v, ints) for k, v in value.items()}
    raise TypeError(value)


def py_render(case: Case, cache: Bundle | None = None) -> Result:
    """carpool's rendering of a case, shaped like gorender's result (every parse through
    the persistent cache ``cache`` when one is given)."""
    out = io.StringIO()
    try:
        t = Template(case.get("name") or "t", GO_FUNCS)
        delims = case.get("delims")
        if delims:
            t.delims(delims[0], delims[1])
        if case.get("option"):
            t.option(case["option"])
        t.parse(case["template"], cache=cache)
        for more in case.get("parses") or []:
            t.parse(more, cache=cache)
        raw = json.loads(json.dumps(case.get("data")))
        data = to_go_data(raw, bool(case.get("ints")))
        if case.get("exec"):
            t.execute_template(case["exec"], data, out)
        else:
            t.execute(data, out)
    except TemplateError as e:
        return {"output": out.getvalue(), "error": str(e)}
    return {"output": out.getvalue()}


def same(py: Result, go: Result) -> bool:
    """Identical output and error (a Go panic only needs an error from carpool)."""
    goerr = go.get("error")
    if goerr is not None and goerr.startswith("panic: "):
        return py.get("error") is not None
    return py.get("output") == go.get("output") and py.get("error") == goerr
