"""dgr's commands: ``build``, ``clean``, ``install``, ``test``, ``try``, ``graph``,
``init``, ``aci-version``, ``sign``.  Each takes ``-W/--work-dir`` (the project dir)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import click

from carpool.cli.context import CliContext
from carpool.cli.output import terminal_progress
from carpool.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


def _work_dir(func: F) -> F:
    return click.option(
        "-W",
        "--work-dir",
        "work_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=".",
        show_default=True,
        help="The project directory (aci-manifest.yml or pod-manifest.yml).",
    )(func)


def _build_options(func: F) -> F:
    func = click.option(
        "--set-env",
        "set_env",
        multiple=True,
        metavar="K=V",
        help="Environment variable for the build steps (repeatable).",
    )(func)
    func = click.option(
        "-L",
        "--log-level",
        "log_level",
        default="info",
        show_default=True,
        help="LOG_LEVEL given to build scripts (trace, debug, info, warn, error).",
    )(func)
    func = click.option(
        "--no-cache", is_flag=True, help="Build even if nothing changed since the last build."
    )(func)
    func = click.option("-v", "--verbose", is_flag=True, help="Show the build scripts' output.")(
        func
    )
    func = click.option(
        "-c",
        "--catch-on-error",
        is_flag=True,
        help="When a build step fails, open a shell where it ran (needs a terminal).",
    )(func)
    return func


def _env_pairs(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set-env: {item!r} is not K=V")
        out[key] = value
    return out


class _PlainProgress:
    """Plain lines only: a live progress display would draw over an interactive shell."""

    def step(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def total(self, amount: int | None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


def _options(
    set_env: tuple[str, ...],
    log_level: str,
    no_cache: bool,
    verbose: bool,
    progress: Any,
    catch_on_error: bool = False,
) -> Any:
    from carpool.builder.build import BuildOptions

    def show(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    return BuildOptions(
        set_env=_env_pairs(set_env),
        log_level=log_level,
        environ=dict(os.environ),
        use_cache=not no_cache,
        progress=_PlainProgress() if catch_on_error else progress,
        on_output=show if verbose or catch_on_error or log_level in ("debug", "trace") else None,
        catch_on_error=catch_on_error,
    )


class _ProjectBuild(NamedTuple):
    progress: Any
    options: Any  # BuildOptions
    results: Any  # list of built images


@contextmanager
def _building(obj: CliContext, work_dir: Path, build_flags: Any) -> Iterator[_ProjectBuild]:
    """Build the project (``build_flags`` from :func:`_build_options`) for a command that
    runs as one build of it: signals stop it cleanly, and a concurrent build/clean/test of
    the same project waits until the ``with`` block is done."""
    from carpool.builder.interrupts import stop_on_signals
    from carpool.builder.pod import build_any
    from carpool.builder.sessions import project_lock
    from carpool.store import Store

    with (
        terminal_progress() as progress,
        stop_on_signals(),
        project_lock(obj.data_dir, work_dir / "target", progress),
    ):
        options = _options(progress=progress, **build_flags)
        results = build_any(Store(obj.data_dir), obj.data_dir, work_dir, options)
        yield _ProjectBuild(progress, options, results)


def _print_images(results: Any) -> None:
    for result in results:
        print(f"{result.image_id}  {result.name}:{result.version}")


@click.command()
@_work_dir
@_build_options
@click.pass_obj
def build(obj: CliContext, /, work_dir: Path, **build_flags: Any) -> None:
    """Build the project into target/image.aci (or one ACI per pod app); print the image ID."""
    with _building(obj, work_dir, build_flags) as built:
        pass
    _print_images(built.results)


@click.command()
@_work_dir
@click.pass_obj
def clean(obj: CliContext, work_dir: Path) -> None:
    """Remove the project's target/ directory (and what interrupted builds left behind)."""
    from carpool.builder.build import clean as clean_target
    from carpool.builder.interrupts import stop_on_signals

    with stop_on_signals():
        clean_target(work_dir, data_dir=obj.data_dir)


@click.command()
@_work_dir
@_build_options
@click.option("-t", "--test", "run_tests", is_flag=True, help="Run the tests before installing.")
@click.option("-T", "--no-test-fail", is_flag=True, help="With -t: fail when there is no test.")
@click.pass_obj
def install(
    obj: CliContext, /, work_dir: Path, run_tests: bool, no_test_fail: bool, **build_flags: Any
) -> None:
    """Build (if needed) and fetch the image(s) into the store; print the image ID."""
    from carpool.store import Store

    store = Store(obj.data_dir)
    with _building(obj, work_dir, build_flags) as built:
        if run_tests:
            from carpool.builder.tester import test_project

            test_project(
                store, obj.data_dir, work_dir, built.options, fail_without_tests=no_test_fail
            )
        for result in built.results:
            store.import_aci(result.aci, progress=built.progress)
    _print_images(built.results)


@click.command("aci-version")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def aci_version(file: Path) -> None:
    """Print the version label of an ACI file."""
    from carpool.aci import read_manifest

    manifest = read_manifest(file)
    version = manifest.version
    if version is None:
        raise UsageError(f"{file}: the image has no version label")
    print(version)


@click.command()
@_work_dir
@_build_options
@click.option("-T", "--no-test-fail", is_flag=True, help="Fail when the project has no test.")
@click.pass_obj
def test(obj: CliContext, /, work_dir: Path, no_test_fail: bool, **build_flags: Any) -> None:
    """Build, then run tests/*.bats in a test image layered on the built one."""
    from carpool.builder.tester import test_project
    from carpool.store import Store

    with _building(obj, work_dir, build_flags) as built:
        report = test_project(
            Store(obj.data_dir),
            obj.data_dir,
            work_dir,
            built.options,
            fail_without_tests=no_test_fail,
        )
    for name, tap in report.items():
        print(f"# {name}")
        print(tap, end="" if tap.endswith("\n") else "\n")


@click.command("try")
@_work_dir
@click.pass_obj
def try_(obj: CliContext, work_dir: Path) -> None:
    """Render the templates into target/try with all attributes (dependencies' too)."""
    from carpool.builder.trial import try_project
    from carpool.store import Store

    report = try_project(Store(obj.data_dir), work_dir)
    for path in report.rendered:
        print(path)
    for failure in report.failures:
        print(f"warning: {failure}", file=sys.stderr)


@click.command()
@_work_dir
def graph(work_dir: Path) -> None:
    """Write target/graph.dot (and graph.png when graphviz is installed)."""
    from carpool.builder.graph import write_graph

    for path in write_graph(work_dir):
        print(path)


@click.command()
@_work_dir
@click.option("-f", "--force", is_flag=True, help="Write even if the directory is not empty.")
def init(work_dir: Path, force: bool) -> None:
    """Create dgr's sample project."""
    from carpool.builder.sample import init_project

    init_project(work_dir, force=force)


@click.command()
@_work_dir
@click.option("--keyring", type=click.Path(dir_okay=False, path_type=Path), help="gpg keyring.")
@click.option("--key", "key_id", help="Key to sign with (gpg --local-user).")
def sign(work_dir: Path, keyring: Path | None, key_id: str | None) -> None:
    """Sign target/image.aci with gpg: a detached armored image.aci.asc."""
    from carpool.builder.sign import sign_image

    print(sign_image(work_dir / "target" / "image.aci", keyring=keyring, key_id=key_id))
