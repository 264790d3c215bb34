"""``carpool templater`` stays lean: what rendering a templates dir must not import."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Cli
from tests.imports import matching, run_and_list_modules
from tests.templater.test_cli import make_project


def test_templater_path_imports_no_models_store_or_runtime(carpool: Cli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    proc, modules = run_and_list_modules(
        ["templater", "-t", str(tmp_path / "out"), str(project)], tmp_path, env=carpool.env
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out/etc/resolv.conf").read_text().startswith("nameserver 8.8.8.8\n")
    heavy = matching(
        modules,
        (
            "pydantic",
            "rich",
            "kazoo",
            "subprocess",  # only a template's checkCmd needs it
            "carpool.appc",
            "carpool.aci",
            "carpool.store",
            "carpool.runtime",
            "carpool.oci",
            "carpool.network",
            "carpool.builder",
            "carpool.discovery",
        ),
    )
    assert heavy == []
