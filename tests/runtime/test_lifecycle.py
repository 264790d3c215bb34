"""Pod lifecycle across processes: stop, signals, kill -9, prepare, rm, gc, enter, logs."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import CARPOOL, Cli
from tests.runtime.background import Background
from tests.runtime.conftest import pod_leftovers, start_background

pytestmark = pytest.mark.host

NONE = ("--net", "none")
LOOP = "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.1; done"
STUBBORN = "trap '' TERM; echo ready; while true; do sleep 0.1; done"


def state(carpool: Cli, uuid: str) -> str:
    out = carpool("status", uuid).stdout
    return dict(line.split("=", 1) for line in out.splitlines())["state"]


def start_shell(
    background: list[Background],
    carpool: Cli,
    tmp_path: Path,
    busybox_aci: Path,
    script: str,
) -> Background:
    """``carpool run`` in the background: one busybox app running ``sh -c script``."""
    return start_background(
        background,
        carpool,
        tmp_path,
        *NONE,
        str(busybox_aci),
        "--exec",
        "/bin/sh",
        "--",
        "-c",
        script,
    )


def test_stop_from_another_process(
    carpool: Cli, busybox_aci: Path, tmp_path: Path, background: list[Background]
) -> None:
    bg = start_shell(background, carpool, tmp_path, busybox_aci, LOOP)
    uuid = bg.uuid()
    bg.wait_output("ready")
    assert state(carpool, uuid) == "running"
    proc = carpool("stop", "--uuid-file", bg.uuid_file)
    assert proc.stdout.strip() == f'"{uuid}"'
    assert bg.wait() == 0  # the app handled SIGTERM and exited 0
    assert "bye" in bg.output()
    assert state(carpool, uuid) == "exited"
    carpool("stop", uuid)  # stopping an exited pod only cleans up (idempotent)
    prepared = carpool("prepare", str(busybox_aci)).stdout.strip()
    refused = carpool("stop", prepared, check=False)
    assert refused.returncode != 0 and "not running" in refused.stderr


def test_stop_escalates_to_sigkill(
    carpool: Cli, busybox_aci: Path, tmp_path: Path, background: list[Background]
) -> None:
    bg = start_shell(background, carpool, tmp_path, busybox_aci, STUBBORN)
    uuid = bg.uuid()
    bg.wait_output("ready")
    started = time.monotonic()
    carpool("stop", "--timeout", "1", uuid)
    assert 0.9 < time.monotonic() - started < 15
    assert bg.wait() == 128 + signal.SIGKILL


def test_sigterm_and_sigint_to_carpool_run_stop_the_pod(
    carpool: Cli, busybox_aci: Path, tmp_path: Path, background: list[Background]
) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        bg = start_shell(background, carpool, tmp_path, busybox_aci, LOOP)
        uuid = bg.uuid()
        bg.wait_output("ready")
        bg.signal(sig)
        assert bg.wait() == 128 + sig
        assert "bye" in bg.output()
        assert state(carpool, uuid) == "exited"
        assert pod_leftovers(carpool.data_dir) == []


def test_kill_9_of_carpool_run_then_stop_and_gc_leave_nothing(
    carpool: Cli, busybox_aci: Path, tmp_path: Path, background: list[Background]
) -> None:
    bg = start_background(
        background,
        carpool,
        tmp_path,
        *NONE,
        str(busybox_aci),
        "--name",
        "a",
        "--exec",
        "/bin/sh",
        "--",
        "-c",
        STUBBORN,
        "---",
        str(busybox_aci),
        "--name",
        "b",
        "--exec",
        "/bin/sh",
        "--",
        "-c",
        LOOP,
    )
    uuid = bg.uuid()
    bg.wait_output("ready")
    bg.signal(signal.SIGKILL)
    bg.wait()
    # the containers outlive carpool run, and the pod still counts as running
    assert state(carpool, uuid) == "running"
    assert pod_leftovers(carpool.data_dir)
    carpool("stop", "--timeout", "1", uuid)
    assert state(carpool, uuid) == "exited"
    assert pod_leftovers(carpool.data_dir) == []
    gc = carpool("gc", "--grace", "0s")
    assert uuid in gc.stdout
    assert json.loads(carpool("list", "--format", "json").stdout) == []
    pids = subprocess.run(["pgrep", "-f", uuid], capture_output=True, text=True, check=False)
    assert pids.stdout == ""


def test_stop_force(
    carpool: Cli, busybox_aci: Path, tmp_path: Path, background: list[Background]
) -> None:
    bg = start_shell(background, carpool, tmp_path, busybox_aci, STUBBORN)
    uuid = bg.uuid()
    bg.wait_output("ready")
    started = time.monotonic()
    carpool("stop", "--force", uuid)
    assert time.monotonic() - started < 5
    assert bg.wait() == 128 + signal.SIGKILL


def test_enter_and_logs_follow(
    carpool: Cli, busybox_aci: Path, tmp_path: Path, background: list[Background]
) -> None:
    script = "echo first; echo marker > /tmp/marker; " + LOOP
    bg = start_background(
        background,
        carpool,
        tmp_path,
        *NONE,
        "--hostname",
        "entered",
        str(busybox_aci),
        "--name",
        "one",
        "--exec",
        "/bin/sh",
        "--",
        "-c",
        script,
        "---",
        str(busybox_aci),
        "--name",
        "two",
        "--exec",
        "/bin/sh",
        "--",
        "-c",
        LOOP,
    )
    uuid = bg.uuid()
    bg.wait_output("ready", count=2)
    entered = carpool("enter", "--app", "one", uuid, "/bin/sh", "-c", "cat /tmp/marker; hostname")
    assert entered.stdout == "marker\nentered\n"
    status = carpool("enter", "--app", "two", uuid, "/bin/sh", "-c", "exit 4", check=False)
    assert status.returncode == 4
    ambiguous = carpool("enter", uuid, "/bin/true", check=False)
    assert ambiguous.returncode != 0 and "--app" in ambiguous.stderr
    assert carpool("logs", "--app", "one", uuid).stdout.startswith("first\nready\n")
    both = carpool("logs", uuid).stdout.splitlines()
    assert "one: first" in both and "two: ready" in both
    follower = subprocess.Popen(
        [*CARPOOL, "logs", "--follow", "--app", "one", uuid],
        env=carpool.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)
        carpool("stop", uuid)
        out, _ = follower.communicate(timeout=30)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert out.endswith("bye\n")
    assert bg.wait() == 0


def test_prepare_run_prepared_cat_manifest_rm(
    carpool: Cli, busybox_aci: Path, tmp_path: Path
) -> None:
    uuid = carpool(
        "prepare",
        "--set-env",
        "WHO=prepared",
        "--volume",
        "scratch,kind=empty",
        str(busybox_aci),
        "--exec",
        "/bin/sh",
        "--mount",
        "volume=scratch,target=/s",
        "--",
        "-c",
        "echo $WHO; hostname",
    ).stdout.strip()
    assert state(carpool, uuid) == "prepared"
    uuid_file = tmp_path / "prepared-uuid"
    uuid_file.write_text(uuid + "\n")
    manifest = json.loads(carpool("cat-manifest", "--uuid-file", uuid_file).stdout)
    assert manifest["acKind"] == "PodManifest"
    app = manifest["apps"][0]
    assert app["name"] == "busybox"
    assert app["image"]["id"].startswith("sha512-")
    assert app["app"]["exec"] == ["/bin/sh", "-c", "echo $WHO; hostname"]
    assert {"name": "WHO", "value": "prepared"} in app["app"]["environment"]
    assert app["mounts"] == [{"volume": "scratch", "path": "/s"}]
    assert manifest["volumes"][0]["name"] == "scratch"
    proc = carpool("run-prepared", "--net", "none", "--hostname", "later", uuid)
    assert proc.stdout == "prepared\nlater\n"
    assert state(carpool, uuid) == "exited"
    again = carpool("run-prepared", "--net", "none", uuid, check=False)
    assert again.returncode == 254 and "not prepared" in again.stderr
    assert carpool("status", "--uuid-file", uuid_file).stdout.startswith("state=exited")
    assert carpool("rm", "--uuid-file", uuid_file).stdout.strip() == f'"{uuid}"'
    assert carpool("status", uuid, check=False).returncode != 0
    other = carpool("prepare", "--quiet", str(busybox_aci)).stdout.strip()
    carpool("rm", other)
    assert json.loads(carpool("list", "--format", "json").stdout) == []


def test_gc_grace_and_expire_prepared(carpool: Cli, busybox_aci: Path) -> None:
    prepared = carpool("prepare", str(busybox_aci)).stdout.strip()
    carpool("run", *NONE, busybox_aci)
    kept = carpool("gc")  # default grace: exited pods are only marked
    assert kept.stdout == ""
    states = {p["name"]: p["state"] for p in json.loads(carpool("list", "--format", "json").stdout)}
    assert states[prepared] == "prepared"
    assert sorted(states.values()) == ["exited garbage", "prepared"]
    swept = carpool("gc", "--grace", "0s").stdout
    assert prepared not in swept and len(swept.splitlines()) == 1
    carpool("gc", "--grace", "0s", "--expire-prepared", "0s")
    assert json.loads(carpool("list", "--format", "json").stdout) == []
    bad = carpool("gc", "--grace", "soon", check=False)
    assert bad.returncode != 0 and "--grace" in bad.stderr


def test_status_wait(
    carpool: Cli, busybox_aci: Path, tmp_path: Path, background: list[Background]
) -> None:
    bg = start_shell(background, carpool, tmp_path, busybox_aci, "sleep 1; exit 6")
    uuid = bg.uuid()
    out = carpool("status", "--wait", uuid).stdout
    assert "exited=true" in out and "app-busybox=6" in out
    assert bg.wait() == 6


def test_rm_refuses_a_running_pod(
    carpool: Cli, busybox_aci: Path, tmp_path: Path, background: list[Background]
) -> None:
    bg = start_shell(background, carpool, tmp_path, busybox_aci, LOOP)
    uuid = bg.uuid()
    bg.wait_output("ready")
    refused = carpool("rm", uuid, check=False)
    assert refused.returncode != 0 and "stop it first" in refused.stderr
    carpool("stop", uuid)
    bg.wait()
    carpool("rm", uuid)


def test_interactive_app_gets_the_terminal(carpool: Cli, busybox_aci: Path) -> None:
    import os
    import pty
    import select

    master, slave = pty.openpty()
    script = "test -t 0 && echo is-a-tty; read line; echo got:$line; exit 3"
    proc = subprocess.Popen(
        [
            *CARPOOL,
            "run",
            *NONE,
            "--interactive",
            str(busybox_aci),
            "--exec",
            "/bin/sh",
            "--",
            "-c",
            script,
        ],
        env=carpool.env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    out = b""
    try:
        deadline = time.monotonic() + 30
        sent = False
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    break
                if not data:
                    break
                out += data
            if b"is-a-tty" in out and not sent:
                os.write(master, b"typed\n")
                sent = True
            if b"got:" in out and proc.poll() is not None:
                break
        assert proc.wait(timeout=30) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert b"is-a-tty" in out and b"got:typed" in out
    two_apps = carpool(
        "run",
        *NONE,
        "--interactive",
        busybox_aci,
        "---",
        busybox_aci,
        "--name",
        "other",
        check=False,
    )
    assert two_apps.returncode == 254 and "--interactive" in two_apps.stderr


def test_uuid_file_save_that_cannot_be_written(
    carpool: Cli, busybox_aci: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "missing" / "uuid"
    run = carpool("run", *NONE, "--uuid-file-save", bad, busybox_aci, check=False)
    assert run.returncode == 254
    assert run.stderr.strip().splitlines()[-1] == (
        f"error: --uuid-file-save {bad}: No such file or directory"
    )
    prepare = carpool("prepare", "--uuid-file-save", bad, busybox_aci, check=False)
    assert prepare.returncode != 0 and "Traceback" not in prepare.stderr
    assert f"error: --uuid-file-save {bad}:" in prepare.stderr


def test_prepare_that_cannot_save_its_uuid_leaves_no_pod(
    carpool: Cli, busybox_aci: Path, tmp_path: Path
) -> None:
    unwritable = tmp_path / "no-such-dir" / "uuid"
    proc = carpool("prepare", "--uuid-file-save", unwritable, busybox_aci, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --uuid-file-save ") and proc.stdout == ""
    assert json.loads(carpool("list", "--format", "json").stdout) == []
