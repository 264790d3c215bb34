"""``carpool test``: bats files in a test image layered on the built one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builder.conftest import copy_example, write_project
from tests.conftest import Cli

pytestmark = pytest.mark.host

MANIFEST = (
    "name: example.com/aci-tested:1\n"
    "aci:\n  dependencies: [carpool.dev/busybox]\n"
    "  app:\n    exec: [/bin/sh, -c, 'echo up > /tmp/app-started; sleep 30']\n"
)


def test_hello_example_tests_pass_and_tap_is_kept(cli: Cli, tmp_path: Path) -> None:
    project = copy_example("aci-hello", tmp_path)
    proc = cli("test", "-W", project)
    assert "ok 1 the page greets the world" in proc.stdout
    assert "ok 2 files/ were copied" in proc.stdout
    tap = (project / "target/tests-result/hello.bats").read_text()
    assert tap.startswith("1..2")
    assert (project / "target/tests-result/hello.bats_status").read_text() == "0\n"


def test_failing_bats_fails_with_its_tap(cli: Cli, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "aci-manifest.yml": MANIFEST,
            "tests/wait.sh": "#!/bin/sh\ntest -f /tmp/app-started\n",
            "tests/good.bats": '@test "app started" {\n  [ -f /tmp/app-started ]\n}\n'
            '@test "tester env" {\n  [ "$TESTER" = TRUE ]\n}\n',
            "tests/bad.bats": '@test "one plus one" {\n  [ $((1 + 1)) -eq 3 ]\n}\n',
            "tests/files/etc/fixture": "from tests/files\n",
        },
    )
    proc = cli("test", "-W", project, check=False)
    assert proc.returncode == 1
    assert "error: failed tests: bad.bats" in proc.stderr
    assert "not ok 1 one plus one" in proc.stderr
    results = project / "target/tests-result"
    assert "ok 1 app started" in (results / "good.bats").read_text()
    assert "ok 2 tester env" in (results / "good.bats").read_text()
    assert (results / "good.bats_status").read_text() == "0\n"
    assert (results / "bad.bats_status").read_text() != "0\n"


def test_wait_sh_failure_is_detected(cli: Cli, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "aci-manifest.yml": MANIFEST,
            "tests/wait.sh": "#!/bin/sh\nexit 1\n",
            "tests/t.bats": '@test "never runs" {\n  true\n}\n',
        },
    )
    proc = cli("test", "-W", project, "--set-env", "CARPOOL_WAIT_TRIES=2", check=False)
    assert proc.returncode == 1
    assert "failed tests: wait.sh" in proc.stderr


def test_no_tests_passes_unless_T(cli: Cli, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {"aci-manifest.yml": MANIFEST})
    cli("test", "-W", project)
    proc = cli("test", "-W", project, "-T", check=False)
    assert proc.returncode == 1
    assert "no test" in proc.stderr


def test_install_with_tests_fetches_only_after_passing(cli: Cli, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "aci-manifest.yml": MANIFEST.replace("aci-tested", "aci-installed"),
            "tests/bad.bats": '@test "fails" {\n  false\n}\n',
        },
    )
    proc = cli("install", "-W", project, "-t", check=False)
    assert proc.returncode == 1 and "failed tests: bad.bats" in proc.stderr
    listed = cli("image", "list").stdout
    assert "aci-installed" not in listed  # neither the image nor its test image stays
    (project / "tests/bad.bats").write_text('@test "passes" {\n  true\n}\n')
    out = cli("install", "-W", project, "-t")
    image_id = out.stdout.split()[0]
    assert cli("image", "cat-manifest", image_id).returncode == 0
