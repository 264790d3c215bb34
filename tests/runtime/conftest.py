from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.runtime.background import Background
from tests.runtime.images import build_aci


@pytest.fixture(scope="session")
def images_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtime-images")


@pytest.fixture(scope="session")
def busybox_aci(images_dir: Path) -> Path:
    """busybox with an app that prints its environment and exits 0."""
    return build_aci(
        images_dir / "busybox.aci",
        app={"exec": ["/bin/sh", "-c", "echo hello from $AC_APP_NAME"]},
    )


def pod_leftovers(data_dir: Path) -> list[str]:
    """Anything a pod of ``data_dir`` holds on the host: mounts, runc state, cgroups.

    Only this data dir's pods count: other test sessions may run pods meanwhile.
    """
    found = []
    uuids = {p.name for p in data_dir.glob("pods/*/*")}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4]
            if point.startswith(str(data_dir)):
                found.append(f"mount {point}")
    runc_root = data_dir / "runc"
    if runc_root.is_dir():
        found += [f"runc container {c}" for c in os.listdir(runc_root)]
    for controller in Path("/sys/fs/cgroup").iterdir():
        base = controller / "carpool"
        if base.is_dir():
            found += [f"cgroup {p}" for p in base.iterdir() if p.is_dir() and p.name in uuids]
    return found


@pytest.fixture(autouse=True)
def no_pod_leftovers(data_dir: Path) -> Iterator[None]:
    yield
    deadline = time.monotonic() + 5
    while (left := pod_leftovers(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"pods left host state behind: {left}"


@pytest.fixture
def background(carpool: Cli, tmp_path: Path) -> Iterator[list[Background]]:
    started: list[Background] = []
    yield started
    for bg in started:
        if bg.proc.poll() is None and bg.uuid_file.exists():
            uuid = bg.uuid_file.read_text().strip()
            carpool("stop", "--force", uuid, check=False)
        bg.close()
    carpool("gc", "--grace", "0s", check=False)


def start_background(started: list[Background], cli: Cli, tmp: Path, *args: str) -> Background:
    bg = Background(cli, list(args), tmp)
    started.append(bg)
    return bg


def run_shell(
    cli: Cli, aci: Path, script: str, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``carpool run --net none ACI --exec /bin/sh -- -c SCRIPT``."""
    return cli("run", "--net", "none", aci, "--exec", "/bin/sh", "--", "-c", script, check=check)
