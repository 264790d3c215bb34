"""A whole templater run against a Go templater (stdlib text/template) on generated configs.

The benchmark's generator writes a dgr directory (partials, ranges over maps and
lists, conditionals, default/override attribute sections in nested dirs) and
``benchmarks/gotemplater`` renders it the way dgr does; both trees must be equal.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from carpool.templater import run_templater

REPO = Path(__file__).resolve().parents[2]


def test_carpool_renders_the_same_tree_as_go(tmp_path: Path) -> None:
    go = shutil.which("go")
    if go is None:
        pytest.skip("the Go toolchain (Debian package golang-go) is not installed")
    spec = importlib.util.spec_from_file_location("bench", REPO / "benchmarks" / "templater.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    project = tmp_path / "dgr"
    bench.generate(project, count=15)
    binary = bench.build_go(tmp_path)
    subprocess.run([str(binary), "-t", str(tmp_path / "go"), str(project)], check=True)
    report = run_templater(project, tmp_path / "carpool")
    assert len(report.rendered) == 15
    assert bench.same_tree(tmp_path / "carpool", tmp_path / "go") == []
    # through the persistent cache: cold (parsed and stored), then warm (rebuilt from it)
    from carpool.templater.engine import template

    for run in ("cold", "warm"):
        template._CACHE.clear()
        run_templater(project, tmp_path / run, cache_dir=tmp_path / "cache")
        assert bench.same_tree(tmp_path / run, tmp_path / "go") == []
