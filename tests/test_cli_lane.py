"""The fast lane parses exactly as click would, or leaves the command line to click."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carpool.cli import podrun, templater
from carpool.cli.clickspec import to_click
from carpool.cli.lane import fast_lane
from carpool.cli.spec import CommandSpec
from tests.conftest import Cli
from tests.imports import matching, run_and_list_modules

SPECS = [podrun.run, podrun.prepare, podrun.run_prepared, templater.templater]


def click_params(spec: CommandSpec, args: list[str]) -> dict[str, Any] | None:
    """What click hands the command for ``args``; None when click refuses or exits."""
    command = to_click(spec)
    try:  # --help prints and exits: that output is not what this compares
        with command.make_context(spec.name, list(args)) as ctx:
            return dict(ctx.params)
    except (click.ClickException, click.exceptions.Exit):
        return None


VALUES = ["x", "/tmp/y", "1.5", "-1", "info", "DEBUG", "nope", "a=b", "--", "---", ""]
NOISE = ["--help", "-h", "--zzz", "-tX", "-co", "--exec", "--", "-"]


@st.composite
def command_lines(draw: st.DrawFn, spec: CommandSpec) -> list[str]:
    """Mostly well-formed command lines for ``spec``, some with a word of noise."""
    words: list[str] = []
    for option in draw(st.lists(st.sampled_from(spec.options), max_size=5)):
        flag = draw(st.sampled_from(option.flags))
        if option.kind == "flag":
            words.append(flag)
            continue
        value = draw(st.sampled_from(option.choices or VALUES))
        if flag.startswith("--") and draw(st.booleans()):
            words.append(f"{flag}={value}")
        else:
            words += [flag, value]
    if any(argument.rest for argument in spec.arguments):
        positional = st.sampled_from(["img", "--exec", "/bin/true", "---", "--set-env", "-x"])
        words += draw(st.lists(positional, max_size=5))
    else:
        count = len(spec.arguments) if draw(st.integers(0, 5)) else draw(st.integers(0, 2))
        words += draw(
            st.lists(st.sampled_from(["dir", "0123", "-"]), min_size=count, max_size=count)
        )
    if draw(st.booleans()):
        noise = draw(st.sampled_from(NOISE + VALUES))
        words.insert(draw(st.integers(0, len(words))), noise)
    return words


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_lane_agrees_with_click(spec: CommandSpec, data: st.DataObject) -> None:
    args = data.draw(command_lines(spec))
    fast = spec.parse(args)
    if fast is not None:
        assert fast == click_params(spec, args), args


@pytest.mark.parametrize(
    ("spec", "args"),
    [
        (templater.templater, ["-t", "/out", "-o", "VAR", "-c", "-L", "WARN", "dir"]),
        (templater.templater, ["--exact-numbers", "dir"]),
        (podrun.run, ["--net", "none", "--net=host", "img", "--exec", "/bin/true", "--", "-x"]),
        (podrun.run, ["--stop-timeout", "2", "--set-env=A=1", "img", "---", "img2", "--help"]),
        (podrun.prepare, ["--quiet", "--volume", "v,kind=empty", "img"]),
        (podrun.run_prepared, ["--dns", "host", "0123abcd"]),
    ],
)
def test_plain_command_lines_take_the_lane(spec: CommandSpec, args: list[str]) -> None:
    fast = spec.parse(args)
    assert fast is not None
    assert fast == click_params(spec, args)


def test_choices_come_back_as_declared() -> None:
    params = templater.templater.parse(["-L", "WARN", "d"])
    assert params is not None
    assert params["level"] == "warn"
    assert params["directory"] == Path("d")


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["templater", "--help"],
        ["templater"],
        ["templater", "-Lbogus", "d"],
        ["templater", "-L", "bogus", "d"],
        ["--frobnicate", "templater", "d"],
        ["image", "list"],  # a click command
        ["no-such-command"],
        [],
        ["--dir"],
        ["run", "--stop-timeout", "soon", "img"],
        ["run", "--net"],
    ],
)
def test_anything_else_goes_to_click(args: list[str]) -> None:
    assert fast_lane(args) is None


def test_global_options_before_the_command(tmp_path: Path) -> None:
    assert fast_lane(["--dir", str(tmp_path), "--debug", "templater", "d"]) is not None
    assert fast_lane([f"--dir={tmp_path}", "run", "img"]) is not None
    file = tmp_path / "file"
    file.write_text("")
    assert fast_lane(["--dir", str(file), "run", "img"]) is None  # click says it is a file


def test_templater_takes_the_lane_without_click(tmp_path: Path) -> None:
    dgr = tmp_path / "dgr"
    (dgr / "templates").mkdir(parents=True)
    (dgr / "attributes").mkdir()
    (dgr / "attributes" / "a.yml").write_text("default:\n  who: world\n")
    (dgr / "templates" / "hello.tmpl").write_text("hello {{ .who }}\n")
    out = tmp_path / "out"
    proc, modules = run_and_list_modules(
        ["--dir", str(tmp_path / "data"), "templater", "-t", str(out), str(dgr)], tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "hello").read_text() == "hello world\n"
    assert matching(modules, ("click", "rich", "logging", "carpool.cli.app")) == []


def test_version_takes_the_lane_without_click(tmp_path: Path) -> None:
    proc, modules = run_and_list_modules(["--version"], tmp_path)
    assert proc.returncode == 0
    assert matching(modules, ("click",)) == []


def test_templater_paths_that_are_files_are_usage_errors(carpool: Cli, tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("")
    for args in (["-t", str(file), str(tmp_path)], [str(file)]):
        proc = carpool("templater", *args, check=False)
        assert proc.returncode == 2
        assert proc.stderr.startswith("error: ") and "not a directory" in proc.stderr
        assert len(proc.stderr.splitlines()) == 1
