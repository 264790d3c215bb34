"""Builds that are killed, stopped or run twice at once leave nothing behind.

Each test catches ``carpool build`` while a build script sleeps in its runc container
(overlays mounted, container and cgroups alive), then checks the data dir and the host.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from carpool.builder.sessions import recover_builds
from carpool.runtime import linux
from carpool.store import Store
from tests.builder.conftest import write_project
from tests.conftest import CARPOOL, Cli

pytestmark = pytest.mark.host

SLEEPER = (
    "#!/dgr/bin/busybox sh\n"
    "set -e\n"
    'echo "sleeping now for ${NAP}s"\n'
    'sleep "$NAP"\n'
    "echo woke > /woke\n"
)


def sleeper_project(root: Path, name: str) -> Path:
    return write_project(
        root,
        {
            "aci-manifest.yml": f"name: example.com/{name}:1\n"
            "aci: {dependencies: [carpool.dev/busybox]}\n",
            "runlevels/build/10.sleep.sh": SLEEPER,
        },
    )


class Running:
    """A ``carpool build -v`` in the background whose stderr is read as it comes."""

    def __init__(self, cli: Cli, project: Path, nap: int) -> None:
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self.proc = subprocess.Popen(
            [*CARPOOL, "build", "-v", "-W", str(project), "--set-env", f"NAP={nap}"],
            env=cli.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._seen:
                self.lines.append(line.rstrip("\n"))
                self._seen.notify_all()
        with self._seen:
            self.lines.append("<eof>")
            self._seen.notify_all()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with self._seen:
            while not any(text in line for line in self.lines):
                left = deadline - time.monotonic()
                assert left > 0 and "<eof>" not in self.lines, f"never saw {text!r}:\n" + "\n".join(
                    self.lines
                )
                self._seen.wait(left)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        self.proc.wait(timeout=timeout)
        assert self.proc.stdout is not None
        stdout = self.proc.stdout.read()  # small: image IDs only
        self._reader.join(timeout)
        return self.proc.returncode, stdout, "\n".join(x for x in self.lines if x != "<eof>")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(10)


def build_containers(data_dir: Path) -> list[str]:
    root = data_dir / "build-runc"
    return sorted(os.listdir(root)) if root.is_dir() else []


def session_dirs(data_dir: Path) -> list[str]:
    builds = data_dir / "builds"
    if not builds.is_dir():
        return []
    return sorted(n for n in os.listdir(builds) if n != "projects" and not n.startswith("."))


def runc_processes(data_dir: Path) -> list[int]:
    """Live processes whose command line names this data dir's build runc root."""
    return processes_naming(str(data_dir / "build-runc"))


def alive(pid: int, start_time: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return stat[19] == start_time and stat[0] != "Z"


def start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def assert_nothing_left(data_dir: Path) -> None:
    deadline = time.monotonic() + 5  # an orphaned runc exits once its container is gone
    while runc_processes(data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert runc_processes(data_dir) == []
    assert build_containers(data_dir) == []
    assert session_dirs(data_dir) == []
    assert linux.mountpoints_under(str(data_dir)) == []
    assert os.listdir(Store(data_dir).layout.tmp) == []


@pytest.mark.parametrize("next_command", ["build", "clean", "gc"])
def test_a_sigkilled_build_is_cleaned_up_by_the_next_command(
    cli: Cli, tmp_path: Path, next_command: str
) -> None:
    project = sleeper_project(tmp_path / "p", f"aci-killed-{next_command}")
    running = Running(cli, project, nap=120)
    try:
        running.wait_for("sleeping now")
        running.proc.send_signal(signal.SIGKILL)
        running.proc.wait()
        # what a killed build leaves: a running container, its overlays, its work dir
        (container,) = build_containers(cli.data_dir)
        state = json.loads((cli.data_dir / "build-runc" / container / "state.json").read_text())
        init_pid = int(state["init_process_pid"])
        init_started = start_time(init_pid)
        assert alive(init_pid, init_started)
        assert len(linux.mountpoints_under(str(cli.data_dir / "builds"))) == 2
        (session,) = [n for n in session_dirs(cli.data_dir) if not n.endswith(".lock")]
        assert session_dirs(cli.data_dir) == [session, f"{session}.lock"]
        assert container.startswith(f"carpool-build-{session}-")

        if next_command == "build":
            out = cli("build", "-W", project, "--set-env", "NAP=0")
            assert "removed the leftovers of an interrupted build" in out.stderr
            assert out.stdout.split()[1] == f"example.com/aci-killed-{next_command}:1"
            assert (project / "target/image.aci").is_file()
        elif next_command == "clean":
            out = cli("clean", "-W", project)
            assert not (project / "target").exists()
        else:
            out = cli("gc")
            assert f"Removed the leftovers of build {session}" in out.stdout
        assert not alive(init_pid, init_started)
        assert_nothing_left(cli.data_dir)
    finally:
        running.stop()
        recover_builds(cli.data_dir)  # whatever the test found, leave the host clean


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_the_step_and_clean_up(
    cli: Cli, tmp_path: Path, signum: signal.Signals
) -> None:
    project = sleeper_project(tmp_path / "p", f"aci-stopped-{signum.name.lower()}")
    images_before = {image.id for image in Store(cli.data_dir).images()}
    running = Running(cli, project, nap=120)
    try:
        running.wait_for("sleeping now")
        (container,) = build_containers(cli.data_dir)
        state = json.loads((cli.data_dir / "build-runc" / container / "state.json").read_text())
        init_pid = int(state["init_process_pid"])
        init_started = start_time(init_pid)
        started = time.monotonic()
        running.proc.send_signal(signum)
        status, stdout, stderr = running.finish(timeout=30)
        assert time.monotonic() - started < 15
    finally:
        running.stop()
        recover_builds(cli.data_dir)
    assert status == 128 + signum
    assert stdout == ""
    assert stderr.splitlines()[-1] == (
        f"error: interrupted by {signum.name}: the build was stopped and cleaned up"
    )
    assert "Traceback" not in stderr
    assert not alive(init_pid, init_started)
    assert not (project / "target").exists()
    assert {image.id for image in Store(cli.data_dir).images()} == images_before
    assert_nothing_left(cli.data_dir)


def test_a_second_build_of_the_project_waits_for_the_first(cli: Cli, tmp_path: Path) -> None:
    project = sleeper_project(tmp_path / "p", "aci-twice")
    first = Running(cli, project, nap=3)
    second: Running | None = None
    third: Running | None = None
    try:
        first.wait_for("sleeping now")
        second = Running(cli, project, nap=3)
        # the second one's start-up clean-up must leave the first build's session alone
        second.wait_for("waiting for another build")
        # a waiting build stops at SIGTERM without disturbing the one it waits for
        third = Running(cli, project, nap=3)
        third.wait_for("waiting for another build")
        third.proc.send_signal(signal.SIGTERM)
        status, third_out, third_err = third.finish()
        assert status == 143 and third_out == ""
        assert third_err.splitlines()[-1].startswith("error: interrupted by SIGTERM")
        status, first_out, first_err = first.finish()
        assert status == 0, first_err
        status, second_out, second_err = second.finish()
        assert status == 0, second_err
    finally:
        first.stop()
        for other in (second, third):
            if other is not None:
                other.stop()
        recover_builds(cli.data_dir)
    assert first_out == second_out  # the second got the first's image from the cache
    assert "unchanged (cached)" in second_err
    assert "sleeping now" not in second_err
    out = cli("aci-version", project / "target/image.aci")
    assert out.stdout == "1\n"
    assert_nothing_left(cli.data_dir)


FAKE_DEBOOTSTRAP = """#!/bin/sh
mount -t tmpfs carpool-test "$1"
echo "I: mounted"
sleep 300 &
wait
"""


def test_debootstrap_mounts_and_processes_die_with_a_killed_carpool(tmp_path: Path) -> None:
    fake = tmp_path / "fake-debootstrap"
    fake.write_text(FAKE_DEBOOTSTRAP)
    fake.chmod(0o755)
    target = tmp_path / "target"
    target.mkdir()
    code = (
        "from carpool.builder.bootstrap import _run_debootstrap\n"
        "class Progress:\n"
        "    def step(self, message): print(message, flush=True)\n"
        "    def total(self, amount): pass\n"
        "    def advance(self, amount=1): pass\n"
        f"_run_debootstrap([{str(fake)!r}, {str(target)!r}], Progress())\n"
    )
    carpool = subprocess.Popen(
        [CARPOOL[0], "-c", code], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert carpool.stdout is not None
        assert carpool.stdout.readline() == "debootstrap: mounted\n"
        assert processes_naming(str(fake))  # the fake debootstrap runs...
        assert linux.mountpoints_under(str(target)) == []  # ...in a mount namespace of its own
        carpool.send_signal(signal.SIGKILL)
        carpool.wait()
        deadline = time.monotonic() + 5
        while processes_naming(str(fake)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_naming(str(fake)) == []
    finally:
        if carpool.poll() is None:
            carpool.kill()
        carpool.wait()
        for pid in processes_naming(str(fake)):
            os.kill(pid, signal.SIGKILL)
        for point in linux.mountpoints_under(str(target)):
            linux.umount(point, detach=True)


def processes_naming(text: str) -> list[int]:
    """Live processes whose command line contains ``text``."""
    needle = text.encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmdline and state != "Z":
            found.append(int(entry))
    return found
