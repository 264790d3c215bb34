"""``carpool run`` against real runc: exit codes, output, apps in one pod, settings."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.runtime.conftest import run_shell
from tests.runtime.images import build_aci

pytestmark = pytest.mark.host

NONE = ("--net", "none")


def status_lines(carpool: Cli, uuid: str) -> dict[str, str]:
    out = carpool("status", uuid).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_output_exit_zero_status_logs_and_list(
    carpool: Cli, busybox_aci: Path, tmp_path: Path
) -> None:
    uuid_file = tmp_path / "uuid"
    proc = carpool("run", *NONE, "--uuid-file-save", uuid_file, busybox_aci)
    assert proc.stdout == "hello from busybox\n"
    uuid = uuid_file.read_text().strip()
    status = status_lines(carpool, uuid)
    assert status["state"] == "exited"
    assert status["exited"] == "true"
    assert status["app-busybox"] == "0"
    assert status["networks"] == "none"
    assert carpool("logs", uuid).stdout == "hello from busybox\n"
    listed = json.loads(carpool("list", "--format", "json").stdout)
    assert [(p["name"], p["state"]) for p in listed] == [(uuid, "exited")]
    table = carpool("list").stdout
    assert uuid[:8] in table and "example.com/busybox" in table
    info = json.loads(carpool("status", "--format", "json", uuid[:6]).stdout)
    assert info["apps"][0]["exit_code"] == 0


def test_app_exit_status_and_stderr_propagate(carpool: Cli, busybox_aci: Path) -> None:
    proc = run_shell(carpool, busybox_aci, "echo oops >&2; exit 7", check=False)
    assert proc.returncode == 7
    assert proc.stderr == "oops\n"
    assert proc.stdout == ""


def test_failing_app_stops_the_pod_with_its_status(
    carpool: Cli, busybox_aci: Path, tmp_path: Path
) -> None:
    uuid_file = tmp_path / "uuid"
    proc = carpool(
        "run",
        *NONE,
        "--uuid-file-save",
        uuid_file,
        busybox_aci,
        "--name",
        "server",
        "--exec",
        "/bin/sh",
        "--",
        "-c",
        "trap 'echo got TERM; exit 0' TERM; while true; do sleep 0.1; done",
        "---",
        busybox_aci,
        "--name",
        "client",
        "--exec",
        "/bin/sh",
        "--",
        "-c",
        "sleep 0.5; exit 3",
        check=False,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    assert "got TERM" in proc.stdout
    status = status_lines(carpool, uuid_file.read_text().strip())
    assert status["app-client"] == "3"
    assert status["app-server"] == "0"


def test_two_apps_talk_over_localhost(carpool: Cli, busybox_aci: Path) -> None:
    proc = carpool(
        "run",
        *NONE,
        busybox_aci,
        "--name",
        "server",
        "--exec",
        "/bin/nc",
        "--",
        "-l",
        "-p",
        "9000",
        "---",
        busybox_aci,
        "--name",
        "client",
        "--exec",
        "/bin/sh",
        "--",
        "-c",
        "until echo ping over lo | nc 127.0.0.1 9000; do sleep 0.1; done",
        timeout=60,
    )
    assert "ping over lo" in proc.stdout


def test_carpool_failures_exit_254(carpool: Cli, busybox_aci: Path) -> None:
    missing = carpool("run", *NONE, "example.com/nothing", check=False)
    assert missing.returncode == 254
    assert missing.stderr.startswith("error: ") and len(missing.stderr.splitlines()) == 1
    no_exec = carpool("run", *NONE, busybox_aci, "--exec", "/no/such/binary", check=False)
    assert no_exec.returncode == 254
    assert "/no/such/binary" in no_exec.stderr
    not_on_path = carpool("run", *NONE, busybox_aci, "--exec", "no-such-command", check=False)
    assert not_on_path.returncode == 254  # runc's failure, not an app exit status
    assert "no-such-command" in not_on_path.stderr
    unknown_net = carpool("run", "--net", "no-such-net", busybox_aci, check=False)
    assert unknown_net.returncode == 254
    assert "no-such-net" in unknown_net.stderr
    port = carpool("run", *NONE, "--port", "http:8080", busybox_aci, check=False)
    assert port.returncode == 254 and "--port" in port.stderr
    bad_flag = carpool("run", *NONE, busybox_aci, "--bogus", "x", check=False)
    assert bad_flag.returncode == 254 and "--bogus" in bad_flag.stderr
    bad_volume = carpool("run", *NONE, "--volume", "data,kind=nfs", busybox_aci, check=False)
    assert bad_volume.returncode == 254 and "--volume" in bad_volume.stderr
    nested = carpool(
        "run",
        *NONE,
        "--volume",
        "a,kind=empty",
        "--volume",
        "b,kind=empty",
        busybox_aci,
        "--mount",
        "volume=a,target=/srv",
        "--mount",
        "volume=b,target=/srv/inner",
        check=False,
    )
    assert nested.returncode == 254 and "overlap" in nested.stderr
    unknown_volume = carpool(
        "run", *NONE, busybox_aci, "--mount", "volume=ghost,target=/g", check=False
    )
    assert unknown_volume.returncode == 254 and "ghost" in unknown_volume.stderr
    no_user = carpool("run", *NONE, busybox_aci, "--user", "nobody-here", check=False)
    assert no_user.returncode == 254 and "nobody-here" in no_user.stderr


def test_hostname_hosts_and_dns(carpool: Cli, busybox_aci: Path, tmp_path: Path) -> None:
    uuid_file = tmp_path / "uuid"
    script = "hostname; cat /etc/hostname /etc/hosts /etc/resolv.conf"
    proc = carpool(
        "run",
        *NONE,
        "--hostname",
        "web-1",
        "--dns",
        "10.1.2.3",
        "--dns",
        "10.1.2.4",
        "--dns-search",
        "example.org",
        busybox_aci,
        "--exec",
        "/bin/sh",
        "--",
        "-c",
        script,
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == "web-1" and lines[1] == "web-1"
    assert any(line.startswith("127.0.0.1") and "web-1" in line for line in lines)
    assert "nameserver 10.1.2.3" in lines and "nameserver 10.1.2.4" in lines
    assert "search example.org" in lines
    default = carpool(
        "run", *NONE, "--uuid-file-save", uuid_file, busybox_aci, "--exec", "/bin/hostname"
    )
    assert default.stdout.strip() == "carpool-" + uuid_file.read_text().strip()

    def names(text: str) -> set[str]:
        return {line.split(":")[0].strip() for line in text.splitlines()[2:]}

    # other pods' veths may come and go meanwhile: compare with the host before and after
    before = names(Path("/proc/net/dev").read_text())
    host_net = carpool(
        "run", "--net", "host", busybox_aci, "--exec", "/bin/cat", "--", "/proc/net/dev"
    )
    after = names(Path("/proc/net/dev").read_text())
    assert before & after <= names(host_net.stdout) <= before | after
    assert names(host_net.stdout) != {"lo"}
    isolated = carpool("run", *NONE, busybox_aci, "--exec", "/bin/cat", "--", "/proc/net/dev")
    assert [line.split(":")[0].strip() for line in isolated.stdout.splitlines()[2:]] == ["lo"]


def test_environment_precedence(carpool: Cli, images_dir: Path, tmp_path: Path) -> None:
    aci = build_aci(
        images_dir / "env.aci",
        name="example.com/env",
        app={
            "exec": ["/bin/env"],
            "environment": [
                {"name": "FROM_IMAGE", "value": "image"},
                {"name": "OVERRIDDEN", "value": "image"},
                {"name": "PER_APP", "value": "image"},
            ],
        },
    )
    env_file = tmp_path / "env"
    env_file.write_text("# comment\n\nFROM_FILE=file\nOVERRIDDEN=file\n")
    proc = carpool(
        "run",
        *NONE,
        "--set-env-file",
        env_file,
        "--set-env",
        "OVERRIDDEN=pod",
        "--set-env",
        "PER_APP=pod",
        aci,
        "--set-env",
        "PER_APP=app",
    )
    env = dict(line.split("=", 1) for line in proc.stdout.splitlines())
    assert env["FROM_IMAGE"] == "image"
    assert env["FROM_FILE"] == "file"
    assert env["OVERRIDDEN"] == "pod"
    assert env["PER_APP"] == "app"
    assert env["AC_APP_NAME"] == "env"
    assert env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert env["HOME"] == "/root" and env["USER"] == "root"
    as_app = carpool("run", *NONE, aci, "--user", "app", "--group", "appgrp")
    env = dict(line.split("=", 1) for line in as_app.stdout.splitlines())
    assert env["HOME"] == "/home/app" and env["USER"] == "app"


def test_users_groups_and_working_directory(carpool: Cli, images_dir: Path) -> None:
    aci = build_aci(
        images_dir / "users.aci",
        name="example.com/users",
        app={
            "exec": ["/bin/sh", "-c", "id; pwd"],
            "user": "app",
            "group": "appgrp",
            "supplementaryGIDs": [3456, 77],
            "workingDirectory": "/srv/data",
        },
        files={"/opt/owned": (b"x", 0o644, 4321, 5432)},
        dirs={"/srv": (0o755, 0, 0), "/srv/data": (0o755, 1234, 2345)},
    )
    by_name = carpool("run", *NONE, aci).stdout.splitlines()
    assert by_name[0].startswith("uid=1234(app) gid=2345(appgrp) groups=")
    assert "3456(extra)" in by_name[0] and "77" in by_name[0]
    assert by_name[1] == "/srv/data"
    numeric = carpool("run", *NONE, aci, "--user", "99", "--group", "98").stdout
    assert numeric.startswith("uid=99 gid=98")
    by_path = carpool("run", *NONE, aci, "--user", "/opt/owned", "--group", "/opt/owned").stdout
    assert by_path.startswith("uid=4321 gid=5432")
    caps = carpool(
        "run", *NONE, aci, "--exec", "/bin/grep", "--", "^Cap", "/proc/self/status"
    ).stdout
    # a non-root app gets the bounding set only (like rkt), nothing effective
    assert "CapEff:\t0000000000000000" in caps
    assert "CapBnd:\t00000000a80425fb" in caps


def test_volumes_and_mount_points(carpool: Cli, images_dir: Path, tmp_path: Path) -> None:
    aci = build_aci(
        images_dir / "volumes.aci",
        name="example.com/volumes",
        app={
            "exec": ["/bin/true"],
            "mountPoints": [
                {"name": "data", "path": "/data"},
                {"name": "cache", "path": "/var/cache"},
                {"name": "config", "path": "/config", "readOnly": True},
            ],
        },
    )
    data, config = tmp_path / "data", tmp_path / "config"
    data.mkdir()
    config.mkdir()
    (config / "app.conf").write_text("setting=1\n")
    script = (
        "echo written > /data/out; cat /config/app.conf; "
        "touch /config/nope 2>/dev/null && echo config-writable; "
        "touch /var/cache/ok && echo cache-ok; "
        "stat -c '%a %u %g' /scratch; touch /ro/nope 2>/dev/null || echo ro-refused; "
        "echo shared > /scratch/from-writer"
    )
    ro = tmp_path / "ro"
    ro.mkdir()
    proc = carpool(
        "run",
        *NONE,
        "--volume",
        f"data,kind=host,source={data}",
        "--volume",
        f"config,kind=host,source={config}",
        "--volume",
        f"ro,kind=host,source={ro},readOnly=true",
        "--volume",
        "scratch,kind=empty,mode=0750,uid=1234,gid=2345",
        aci,
        "--name",
        "writer",
        "--exec",
        "/bin/sh",
        "--mount",
        "volume=scratch,target=/scratch",
        "--mount",
        "volume=ro,target=/ro",
        "--",
        "-c",
        script,
        "---",
        aci,
        "--name",
        "reader",
        "--mount",
        "volume=scratch,target=/scratch",
        "--exec",
        "/bin/sh",
        "--",
        "-c",
        "until cat /scratch/from-writer 2>/dev/null; do sleep 0.1; done",
    )
    out = proc.stdout.splitlines()
    assert (data / "out").read_text() == "written\n"
    assert "setting=1" in out
    assert "config-writable" not in out
    assert "cache-ok" in out  # unmatched mount point: an implicit empty volume
    assert "750 1234 2345" in out
    assert "ro-refused" in out
    assert "shared" in out
    missing = carpool(
        "run",
        *NONE,
        "--volume",
        f"data,kind=host,source={tmp_path / 'absent'}",
        aci,
        check=False,
    )
    assert missing.returncode == 254 and "absent" in missing.stderr
    link = tmp_path / "link"
    link.symlink_to(data)
    symlinked = carpool("run", *NONE, "--volume", f"data,kind=host,source={link}", aci, check=False)
    assert symlinked.returncode == 254 and "symlink" in symlinked.stderr


def test_overlay_keeps_the_image_pristine(carpool: Cli, busybox_aci: Path) -> None:
    run_shell(carpool, busybox_aci, "echo dirty > /bin/mark")
    again = run_shell(carpool, busybox_aci, "test -e /bin/mark || echo clean")
    assert again.stdout == "clean\n"


def test_event_handlers_run_in_the_app_context(
    carpool: Cli, images_dir: Path, tmp_path: Path
) -> None:
    aci = build_aci(
        images_dir / "handlers.aci",
        name="example.com/handlers",
        app={
            "exec": ["/bin/sh", "-c", "cat /tmp/prestarted; echo main > /out/main"],
            "user": "app",
            "group": "appgrp",
            "eventHandlers": [
                {"name": "pre-start", "exec": ["/bin/sh", "-c", "id -u > /tmp/prestarted"]},
                {"name": "post-stop", "exec": ["/bin/sh", "-c", "echo stopped > /out/post"]},
            ],
        },
    )
    out = tmp_path / "out"
    out.mkdir(mode=0o777)
    os.chmod(out, 0o777)
    proc = carpool(
        "run",
        *NONE,
        "--volume",
        f"out,kind=host,source={out}",
        aci,
        "--mount",
        "volume=out,target=/out",
    )
    assert proc.stdout == "1234\n"
    assert (out / "main").read_text() == "main\n"
    assert (out / "post").read_text() == "stopped\n"
    failing = build_aci(
        images_dir / "failing-prestart.aci",
        name="example.com/failing-prestart",
        app={
            "exec": ["/bin/sh", "-c", "echo should not run"],
            "eventHandlers": [{"name": "pre-start", "exec": ["/bin/sh", "-c", "exit 5"]}],
        },
    )
    proc = carpool("run", *NONE, failing, check=False)
    assert proc.returncode == 5
    assert "should not run" not in proc.stdout


def test_empty_volume_mode_is_applied(tmp_path: Path) -> None:
    from carpool.runtime.volumes import create_empty_volumes

    create_empty_volumes(
        tmp_path, [{"name": "v", "kind": "empty", "mode": "0700", "uid": 5, "gid": 6}]
    )
    st = (tmp_path / "sharedVolumes" / "v").stat()
    assert stat.S_IMODE(st.st_mode) == 0o700 and (st.st_uid, st.st_gid) == (5, 6)


def test_lone_container_gets_its_namespaces_from_runc(
    carpool: Cli, busybox_aci: Path, tmp_path: Path
) -> None:
    """A one-container pod pins nothing: runc makes its namespaces, with lo up."""
    uuid_file = tmp_path / "uuid"
    script = "cat /sys/class/net/lo/flags; ls /sys/class/net; hostname"
    proc = carpool(
        "run", *NONE, "--uuid-file-save", uuid_file, "--hostname", "lone", busybox_aci,
        "--exec", "/bin/sh", "--", "-c", script,
    )  # fmt: skip
    flags, interfaces, hostname = proc.stdout.splitlines()
    assert int(flags, 16) & 0x1  # IFF_UP: lo is up
    assert (interfaces, hostname) == ("lo", "lone")  # a network namespace of its own
    pod_dir = Path(carpool.env["CARPOOL_DIR"], "pods", "run", uuid_file.read_text().strip())
    assert not (pod_dir / "mounts" / "ns").exists()  # nothing was pinned
    config = json.loads((pod_dir / "apps" / "busybox" / "oci" / "main" / "config.json").read_text())
    assert {"type": "network"} in config["linux"]["namespaces"]
    assert config["hostname"] == "lone"


def test_lone_container_rootfs_keeps_the_image_etc_attributes(carpool: Cli, tmp_path: Path) -> None:
    """carpool writes /etc/hostname into the upper dir itself (runc mounts the overlay):
    the /etc it makes there must look like the image's, as overlayfs's copy-up would."""
    aci = build_aci(tmp_path / "etc.aci", name="example.com/odd-etc", dirs={"/etc": (0o751, 1, 1)})
    carpool("fetch", aci)
    script = "stat -c '%a %u %g' /etc; cat /etc/hostname; grep odd /etc/hosts; touch /etc/new"
    proc = carpool(
        "run", *NONE, "--hostname", "odd", "example.com/odd-etc",
        "--exec", "/bin/sh", "--", "-c", script,
    )  # fmt: skip
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["751 1 1", "odd"]
    assert "odd" in lines[2]
