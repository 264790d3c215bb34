"""Reusing a previous run's text (``cache_outputs=True``): only when nothing could differ.

Each run is a fresh process, so "reused" is observable: the template engine's executor
is never imported.  Every reused output is compared with a run without any cache.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from carpool.templater import cache, run_templater
from carpool.templater.engine.builtins import BUILTINS
from carpool.templater.functions import (
    CONTEXTS,
    DETERMINISTIC,
    NONDETERMINISTIC,
    function_map,
)

from .test_cache import make_project, tree_of

RUN = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from carpool.templater import run_templater
    report = run_templater(
        Path(sys.argv[1]), Path(sys.argv[2]), cache_dir=Path(sys.argv[3]),
        exact_numbers=sys.argv[4] == "exact", continue_on_error=sys.argv[5] == "-c",
        override_var="TEMPLATER_OVERRIDE", cache_outputs=True,
    )
    print(json.dumps({
        "rendered": len(report.rendered),
        "failures": len(report.failures),
        "executed": "carpool.templater.engine.executor" in sys.modules,
        "yaml": "yaml" in sys.modules,
    }))
    """
)


def run_fresh(
    project: Path,
    out: Path,
    cache_dir: Path,
    *,
    exact: bool = False,
    keep_going: bool = False,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    argv = [
        str(project),
        str(out),
        str(cache_dir),
        "exact" if exact else "",
        "-c" if keep_going else "",
    ]
    proc = subprocess.run(
        [sys.executable, "-c", RUN, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("TEMPLATER_")} | (env or {}),
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def reference(project: Path, tmp_path: Path, **options: Any) -> dict[str, tuple[str, int]]:
    out = tmp_path / "reference"
    shutil.rmtree(out, ignore_errors=True)
    run_templater(project, out, override_var="TEMPLATER_OVERRIDE", **options)
    return tree_of(out)


def test_an_unchanged_run_writes_the_same_text_without_executing(tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    marker = tmp_path / "checked"
    (project / "templates/opt/run.tmpl.sh.cfg").write_text(
        f"mode: 0750\ncheckCmd: echo ok >> {marker}\n"
    )
    cache_dir = tmp_path / "cache"
    expected = reference(project, tmp_path)
    assert expected["opt/run.sh"][1] == 0o750

    first = run_fresh(project, tmp_path / "out1", cache_dir)
    assert first == {"rendered": 3, "failures": 0, "executed": True, "yaml": True}
    second = run_fresh(project, tmp_path / "out2", cache_dir)
    assert second == {"rendered": 3, "failures": 0, "executed": False, "yaml": False}
    assert tree_of(tmp_path / "out2") == expected  # text, and modes from the .cfg files
    # check commands still run (reference, first and second run)
    assert marker.read_text() == "ok\nok\nok\n"

    # a new .cfg changes no text: reused, with the new mode
    (project / "templates/opt/run.tmpl.sh.cfg").write_text("mode: 0700\n")
    third = run_fresh(project, tmp_path / "out3", cache_dir)
    assert third["executed"] is False
    assert stat.S_IMODE((tmp_path / "out3/opt/run.sh").stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "change",
    [
        ("templates/etc/keys.tmpl", "{{range $k, $v := .}}{{$k}}:{{$v}} {{end}}"),
        ("templates/header.partial", '{{define "header"}}## {{.}}{{end}}'),
        ("templates/etc/new.tmpl", "new {{.name}}"),
        ("templates/etc/sub/dir.tmpl", "in a new dir"),
        ("attributes/zz.yml", "override:\n  name: db\n"),
        ("attributes/new.yml", "override:\n  port: 81\n"),
    ],
)
def test_a_changed_input_is_rendered_again(tmp_path: Path, change: tuple[str, str]) -> None:
    project = make_project(tmp_path / "dgr")
    cache_dir = tmp_path / "cache"
    run_fresh(project, tmp_path / "out1", cache_dir)
    rel, text = change
    (project / rel).parent.mkdir(parents=True, exist_ok=True)
    (project / rel).write_text(text)
    result = run_fresh(project, tmp_path / "out2", cache_dir)
    assert result["executed"] is True
    assert tree_of(tmp_path / "out2") == reference(project, tmp_path)
    assert run_fresh(project, tmp_path / "out3", cache_dir)["executed"] is False


def test_override_and_number_mode_are_inputs(tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    cache_dir = tmp_path / "cache"
    run_fresh(project, tmp_path / "out1", cache_dir)
    override = {"TEMPLATER_OVERRIDE": json.dumps({"name": "from-env"})}
    result = run_fresh(project, tmp_path / "out2", cache_dir, env=override)
    assert result["executed"] is True
    assert "FROM-ENV" in (tmp_path / "out2/etc/app.conf").read_text()
    assert run_fresh(project, tmp_path / "out3", cache_dir, env=override)["executed"] is False
    assert tree_of(tmp_path / "out3") == tree_of(tmp_path / "out2")

    exact = run_fresh(project, tmp_path / "out4", cache_dir, exact=True)
    assert exact["executed"] is True
    assert tree_of(tmp_path / "out4") == reference(project, tmp_path, exact_numbers=True)


@pytest.mark.parametrize(
    ("rel", "text"),
    [
        ("templates/etc/token.tmpl", "{{ randAlphaNum 24 }}"),
        ("templates/etc/when.tmpl", "{{ now.Unix }}"),
        ("templates/etc/home.tmpl", '{{ env "HOME" }}'),
        ("attributes/zz.yml", "override:\n  pick: '{{ random .hosts }}'\n"),
    ],
)
def test_runs_calling_nondeterministic_functions_always_execute(
    tmp_path: Path, rel: str, text: str
) -> None:
    project = make_project(tmp_path / "dgr")
    (project / rel).write_text(text)
    cache_dir = tmp_path / "cache"
    for run in ("out1", "out2"):
        assert run_fresh(project, tmp_path / run, cache_dir)["executed"] is True


def test_runs_with_failures_or_warnings_are_not_reused(tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    (project / "templates/etc/missing.tmpl").write_text("{{ .nope }}")
    cache_dir = tmp_path / "cache"
    for run in ("out1", "out2"):
        result = run_fresh(project, tmp_path / run, cache_dir, keep_going=True)
        assert result["failures"] == 1 and result["executed"] is True

    (project / "templates/etc/missing.tmpl").unlink()
    (project / "attributes/zz.yml").write_text("default:\n")  # warns: discards the defaults
    (project / "attributes/zzz.yml").write_text("default: {port: 1, name: web, hosts: []}\n")
    (project / "attributes/zzzz.yml").write_text("default: {label: l, count: 0}\n")
    for run in ("out3", "out4"):
        assert run_fresh(project, tmp_path / run, cache_dir)["executed"] is True


def test_a_damaged_outputs_bundle_is_rendered_again(tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    cache_dir = tmp_path / "cache"
    run_fresh(project, tmp_path / "out1", cache_dir)
    (outputs,) = [p for p in cache_dir.glob("*.cache") if b'"etc/keys"' in p.read_bytes()]
    header, body = outputs.read_bytes().split(b"\n", 1)
    key, value = body.decode().rstrip("\n").split(" ", 1)
    texts = json.loads(value)
    texts[0][0] = "somewhere/else"
    new_body = f"{key} {json.dumps(texts)}\n".encode()
    fields = header.split(b" ")
    fields[2] = cache.sha256(new_body).hexdigest().encode()
    outputs.write_bytes(b" ".join(fields) + b"\n" + new_body)
    result = run_fresh(project, tmp_path / "out2", cache_dir)
    assert result["executed"] is True
    assert tree_of(tmp_path / "out2") == reference(project, tmp_path)
    assert not (tmp_path / "out2/somewhere").exists()


def test_every_function_is_classed_deterministic_or_not() -> None:
    names = set(BUILTINS)
    for context in CONTEXTS:
        names |= set(function_map(context))
    assert set() == DETERMINISTIC & NONDETERMINISTIC
    assert names - DETERMINISTIC - NONDETERMINISTIC == set()  # classify new functions
    assert (DETERMINISTIC | NONDETERMINISTIC) - names == set()


def test_the_outputs_version_covers_every_templater_source() -> None:
    package = Path(cache.__file__).parent
    sources = {p.relative_to(package).as_posix() for p in package.rglob("*.py")}
    assert set(cache._package_sources()) == sources


def test_render_dir_reuses_text_for_attribute_dirs_given_any_way(tmp_path: Path) -> None:
    from carpool.templater import render_dir

    project = make_project(tmp_path / "dgr")
    dirs = [project / "attributes/base", project / "attributes"]
    expected_dir = tmp_path / "expected"
    render_dir(project / "templates", dirs, expected_dir, name_prefix="/dgr/templates")
    expected = tree_of(expected_dir)
    for run in ("cold", "warm"):
        render_dir(
            project / "templates",
            (d for d in dirs),  # a one-shot iterable
            tmp_path / run,
            name_prefix="/dgr/templates",
            cache_dir=tmp_path / "cache",
            cache_outputs=True,
        )
        assert tree_of(tmp_path / run) == expected
    assert len(list((tmp_path / "cache").glob("*.cache"))) == 3  # attributes, templates, text
