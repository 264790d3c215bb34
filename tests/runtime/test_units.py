"""Pure parts of the runtime: flag parsing, chroot-style path resolution, users, manifests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from carpool.errors import UsageError
from carpool.runtime import rootpath, users
from carpool.runtime.images import ResolvedImage
from carpool.runtime.manifest import app_name_for, build_pod_manifest
from carpool.runtime.options import (
    AppOptions,
    PodOptions,
    parse_insecure,
    parse_mount,
    parse_net,
    parse_volume,
    read_env_file,
)


def test_volume_and_mount_flags() -> None:
    assert parse_volume("data,kind=host,source=/srv,readOnly=true") == {
        "name": "data",
        "kind": "host",
        "source": "/srv",
        "readOnly": True,
    }
    assert parse_volume("tmp,kind=empty,mode=0700,uid=1,gid=2") == {
        "name": "tmp",
        "kind": "empty",
        "mode": "0700",
        "uid": 1,
        "gid": 2,
    }
    for bad in (
        "data,kind=host",
        "data,kind=host,source=rel",
        "Bad,kind=empty",
        "d,kind=empty,x=1",
    ):
        with pytest.raises(UsageError, match="--volume"):
            parse_volume(bad)
    assert parse_mount("volume=data,target=/srv") == {"volume": "data", "path": "/srv"}
    with pytest.raises(UsageError, match="--mount"):
        parse_mount("volume=data")


def test_env_file_net_and_insecure(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.write_text("# c\n; c\n\nA=1\nB=x=y\n")
    assert read_env_file(env) == [("A", "1"), ("B", "x=y")]
    env.write_text("not an assignment\n")
    with pytest.raises(UsageError, match=":1:"):
        read_env_file(env)
    assert parse_net([]) == ["default"]
    assert parse_net(["host"]) == ["host"]
    with pytest.raises(UsageError):
        parse_net(["host,none"])
    assert parse_insecure(["all"]) >= {"capabilities", "paths", "seccomp"}
    with pytest.raises(UsageError, match="nope"):
        parse_insecure(["paths,nope"])


def test_rootpath_never_escapes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "real").mkdir()
    (root / "etc" / "passwd").symlink_to("/../../../../etc/shadow-not-here")
    (root / "link").symlink_to("../../..")
    (root / "abs").symlink_to("/real")
    assert rootpath.resolve(root, "/etc/passwd") == root / "etc" / "shadow-not-here"
    assert rootpath.resolve(root, "/link/etc") == root / "etc"
    assert rootpath.resolve(root, "/abs/x") == root / "real" / "x"
    rootpath.write_file(root, "/etc/passwd", b"mine\n")
    assert not (root / "etc" / "passwd").is_symlink()
    assert (root / "etc" / "passwd").read_text() == "mine\n"
    loop = root / "loop"
    loop.symlink_to("loop")
    with pytest.raises(Exception, match="symlinks"):
        rootpath.resolve(root, "/loop/x")


def test_users_by_name_number_and_path(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("web:x:33:44:w:/var/www:/bin/sh\n")
    (tmp_path / "etc" / "group").write_text("www:x:44:\n")
    (tmp_path / "file").write_text("")
    os.chown(tmp_path / "file", 7, 8)
    assert users.resolve_user(tmp_path, "web", "a") == 33
    assert users.resolve_group(tmp_path, "www", "a") == 44
    assert users.resolve_user(tmp_path, "12", "a") == 12
    assert users.resolve_user(tmp_path, "/file", "a") == 7
    assert users.resolve_group(tmp_path, "/file", "a") == 8
    with pytest.raises(Exception, match="nobody"):
        users.resolve_user(tmp_path, "nobody", "a")


def image(name: str, app: dict[str, object] | None) -> ResolvedImage:
    manifest = {"acKind": "ImageManifest", "name": name}
    if app is not None:
        manifest["app"] = app  # type: ignore[assignment]
    return ResolvedImage("sha512-" + "0" * 128, name, {"version": "1"}, manifest, Path("/t"))


def test_pod_manifest_overrides_and_implicit_volumes() -> None:
    img = image(
        "example.com/my_app",
        {
            "exec": ["/app", "a"],
            "user": "0",
            "group": "0",
            "environment": [{"name": "A", "value": "image"}],
            "mountPoints": [{"name": "data", "path": "/data"}, {"name": "logs", "path": "/logs"}],
        },
    )
    options = PodOptions(
        apps=[AppOptions(image="x", args=["b"], env=[("A", "app")])],
        env=[("A", "pod"), ("B", "pod")],
        volumes=[{"name": "data", "kind": "host", "source": "/srv"}],
    )
    manifest = build_pod_manifest(options, [img])
    app = manifest["apps"][0]
    assert app["name"] == "my-app" == app_name_for("example.com/my_app")
    assert app["app"]["exec"] == ["/app", "a", "b"]
    assert app["app"]["environment"] == [
        {"name": "A", "value": "app"},
        {"name": "B", "value": "pod"},
    ]
    assert app["mounts"] == [
        {"volume": "data", "path": "/data"},
        {"volume": "logs", "path": "/logs"},
    ]
    assert {"name": "logs", "kind": "empty", "mode": "0755"} in manifest["volumes"]
    with pytest.raises(UsageError, match="--exec"):
        build_pod_manifest(PodOptions(apps=[AppOptions(image="x")]), [image("a/b", None)])
    twice = PodOptions(apps=[AppOptions(image="x"), AppOptions(image="x")])
    with pytest.raises(UsageError, match="--name"):
        build_pod_manifest(twice, [img, img])


def test_dns_flags_and_app_names() -> None:
    from carpool.runtime.options import parse_dns

    assert parse_dns(["10.0.0.1", "::1"], ["example.org"]) == (["10.0.0.1", "::1"], ["example.org"])
    assert parse_dns(["host"], []) == (["host"], [])
    for servers, search in (
        (["1.2.3.4\nnameserver 6.6.6.6"], []),
        (["host", "1.1.1.1"], []),
        ([], ["a b"]),
    ):
        with pytest.raises(UsageError, match="--dns"):
            parse_dns(servers, search)
    img = image("example.com/x", {"exec": ["/x"]})
    with pytest.raises(UsageError, match="--name"):
        build_pod_manifest(PodOptions(apps=[AppOptions(image="x", name="../escape")]), [img])


def _read_all(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()


def test_spawned_child_gets_devnull_pipes_its_own_session_and_the_lock_fd(
    tmp_path: Path,
) -> None:
    """What subprocess.Popen gave runc: /dev/null stdin, pipes, setsid, pass_fds, SIGPIPE."""
    import sys

    from carpool.runtime.spawn import spawn

    list_fds = (
        "import os\n"
        "for fd in sorted(os.listdir('/proc/self/fd'), key=int):\n"
        "    try:\n"
        "        print(fd, os.readlink(f'/proc/self/fd/{fd}'))\n"
        "    except FileNotFoundError:  # listdir's own, closed by now\n"
        "        pass\n"
    )
    shell = "grep SigIgn /proc/$$/status; cut -d' ' -f1,6 /proc/$$/stat; echo err >&2; exit 3"
    with open(tmp_path / "lock", "w") as lock:
        lock_fd = lock.fileno()
        python = spawn([sys.executable, "-c", list_fds], pass_fd=lock_fd, piped=True)
        sh = spawn(["sh", "-c", shell], pass_fd=lock_fd, piped=True)
        assert python.stdout is not None and sh.stdout is not None and sh.stderr is not None
        fds = dict(line.split(" ", 1) for line in _read_all(python.stdout).splitlines())
        out, err = _read_all(sh.stdout).splitlines(), _read_all(sh.stderr)
        os.waitid(os.P_PID, sh.pid, os.WEXITED | os.WNOWAIT)
        assert sh.poll() == 3 and sh.returncode == 3
        os.waitid(os.P_PID, python.pid, os.WEXITED | os.WNOWAIT)
        assert python.poll() == 0
    assert sorted(fds, key=int) == ["0", "1", "2", str(lock_fd)]  # nothing else leaks
    assert fds["0"] == "/dev/null" and fds[str(lock_fd)] == str(tmp_path / "lock")
    assert fds["1"].startswith("pipe:") and fds["2"].startswith("pipe:")
    ignored = int(out[0].split()[1], 16)
    assert not ignored & (1 << (13 - 1))  # SIGPIPE back at its default action
    pid, session = out[1].split()
    assert pid == session == str(sh.pid)  # a session of its own
    assert err == "err\n"
