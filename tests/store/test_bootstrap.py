"""``carpool bootstrap busybox``: a deterministic base image from the host's busybox."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cli

pytestmark = pytest.mark.skipif(
    not Path("/bin/busybox").is_file(), reason="busybox-static is not installed"
)


def test_bootstrap_busybox_is_deterministic_and_runs(carpool: Cli, tmp_path: Path) -> None:
    first = carpool("bootstrap", "busybox", "-o", tmp_path / "one.aci").stdout.strip()
    second = carpool("bootstrap", "busybox", "-o", tmp_path / "two.aci").stdout.strip()
    assert first == second and first.startswith("sha512-")
    assert (tmp_path / "one.aci").read_bytes() == (tmp_path / "two.aci").read_bytes()
    assert carpool("bootstrap", "busybox").stdout.strip() == first  # straight into the store
    [entry] = json.loads(carpool("image", "list", "--format", "json").stdout)
    assert entry["id"] == first and entry["name"] == "carpool.dev/busybox"
    assert set(entry["labels"]) == {"version", "os", "arch"}
    assert entry["labels"]["os"] == "linux"

    carpool("image", "render", "carpool.dev/busybox", tmp_path / "out")
    rootfs = tmp_path / "out/rootfs"
    echo = subprocess.run(
        [rootfs / "bin/busybox", "echo", "hello"], capture_output=True, text=True, check=True
    )
    assert echo.stdout == "hello\n"
    assert os.readlink(rootfs / "bin/sh") == "busybox"
    assert os.readlink(rootfs / "usr/bin/env") == "../../bin/busybox"
    assert (rootfs / "etc/passwd").read_text().startswith("root:x:0:0:")
    assert (rootfs / "tmp").stat().st_mode & 0o7777 == 0o1777
    manifest = json.loads((tmp_path / "out/manifest").read_text())
    assert manifest["app"]["exec"] == ["/bin/sh"]


def test_bootstrap_busybox_name_and_version(carpool: Cli) -> None:
    image_id = carpool(
        "bootstrap", "busybox", "--name", "example.com/bb", "--version", "7.0"
    ).stdout.strip()
    assert carpool("image", "cat-manifest", "example.com/bb:7.0").returncode == 0
    assert carpool("image", "list", "--full").stdout.count(image_id) == 1
    bad = carpool("bootstrap", "busybox", "--name", "Not A Name", check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --name: 'Not A Name' is not")
    assert len(bad.stderr.splitlines()) == 1


def test_bootstrap_busybox_output_that_cannot_be_written(carpool: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = carpool("bootstrap", "busybox", "-o", blocker / "x.aci", check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: --output {blocker}/x.aci:")
    assert "Traceback" not in proc.stderr
    assert carpool("image", "list", "--format", "json").stdout.strip() == "[]"  # nothing stored
