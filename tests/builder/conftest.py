from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, Cli

EXAMPLES = REPO / "examples"


@pytest.fixture(scope="module")
def shared_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir per module holding the busybox base (bootstrapped once)."""
    from carpool.builder.bootstrap import bootstrap_busybox
    from carpool.store import Store

    path = tmp_path_factory.mktemp("builder-data")
    bootstrap_busybox(Store(path))
    return path


@pytest.fixture
def cli(shared_data: Path, tmp_path: Path) -> Cli:
    config = tmp_path / "config"
    config.mkdir()
    return Cli(shared_data, config)


def write_project(root: Path, files: dict[str, str]) -> Path:
    """A project dir from ``{relative path: content}`` (``runlevels/*`` made executable)."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        if rel.startswith("runlevels/") or rel.endswith(".sh"):
            path.chmod(0o755)
    return root


def copy_example(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("target"))
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_background_run(
    cli: Cli, proc: subprocess.Popen[Any], uuid_file: Path, *, wait: float = 20
) -> None:
    """End a test's background ``carpool run``: stop its pod (once the UUID is written),
    reap ``carpool run`` (killed if it does not exit in ``wait`` s) and gc the pod."""
    deadline = time.monotonic() + 10
    while not uuid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if uuid_file.exists():
        cli("stop", "--force", uuid_file.read_text().strip(), check=False)
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    cli("gc", "--grace", "0s", check=False)
