from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.leaks import HostSnapshot

REPO = Path(__file__).resolve().parent.parent
CARPOOL = [sys.executable, "-m", "carpool"]


@pytest.fixture(autouse=True)
def no_leaks(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Fail any test that leaves mounts, netns, links, cgroups or processes behind.

    Tests marked ``host`` are checked against the whole host (mounts, netns, links,
    cgroups, runc state, iptables); the others for processes they started and for
    mounts under this session's temporary dirs.  Run ``host`` tests one pytest at a
    time: two sessions changing the host at once would see each other's changes.
    """
    host = request.node.get_closest_marker("host") is not None
    scope = None if host else str(tmp_path_factory.getbasetemp())
    before = HostSnapshot.take(host_wide=host, mount_scope=scope)
    yield
    # processes we stopped may take a moment to be reaped
    deadline = time.monotonic() + 5
    while True:
        leaks = HostSnapshot.take(host_wide=host, mount_scope=scope).leaks_since(before)
        if not leaks or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if leaks:
        pytest.fail("test leaked host state:\n  " + "\n  ".join(leaks), pytrace=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh carpool data dir for one test."""
    path = tmp_path / "carpool-data"
    path.mkdir()
    return path


class Cli:
    """Runs the real ``carpool`` command in a subprocess against one data dir."""

    def __init__(self, data_dir: Path, config_dir: Path) -> None:
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "CARPOOL_DIR": str(data_dir),
            "CARPOOL_CONFIG": str(config_dir),
        }

    def __call__(
        self,
        *args: str | os.PathLike[str],
        check: bool = True,
        input: str | None = None,
        timeout: float = 120,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*CARPOOL, *map(str, args)],
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
            env={**self.env, **(env or {})},
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"carpool {' '.join(map(str, args))} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc


@pytest.fixture
def carpool(data_dir: Path, tmp_path: Path) -> Cli:
    config_dir = tmp_path / "carpool-config"
    config_dir.mkdir()
    return Cli(data_dir, config_dir)
