"""Small real ACIs for runtime tests: busybox-static plus whatever files a test needs."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

BUSYBOX = Path("/bin/busybox")
APPLETS = (
    "sh",
    "true",
    "false",
    "echo",
    "cat",
    "sleep",
    "id",
    "hostname",
    "grep",
    "ls",
    "env",
    "nc",
    "httpd",
    "wget",
    "touch",
    "pwd",
    "test",
    "stat",
    "mkdir",
    "kill",
    "trap",
    "ps",
)


def image_manifest(name: str, app: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "acKind": "ImageManifest",
        "acVersion": "0.8.11",
        "name": name,
        "labels": [{"name": "os", "value": "linux"}, {"name": "arch", "value": "amd64"}],
    }
    if app is not None:
        manifest["app"] = {"user": "0", "group": "0", **app}
    manifest.update(extra)
    return manifest


def build_aci(
    path: Path,
    name: str = "example.com/busybox",
    app: dict[str, Any] | None = None,
    files: dict[str, tuple[bytes, int, int, int]] | None = None,
    dirs: dict[str, tuple[int, int, int]] | None = None,
    **extra: Any,
) -> Path:
    """An uncompressed ACI with busybox at /bin/busybox and applet links in /bin.

    ``files`` maps an absolute path to (content, mode, uid, gid); ``dirs`` to (mode, uid, gid)
    (also for ``/bin``, ``/etc``, ``/tmp`` and ``/root``, which are always there).
    """
    if app is None:
        app = {"exec": ["/bin/true"]}
    manifest = image_manifest(name, app, **extra)
    with tarfile.open(path, "w") as tar:

        def add(info: tarfile.TarInfo, data: bytes | None = None) -> None:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)

        def directory(name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, mode, uid, gid
            add(info)

        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest")
        info.size, info.mode = len(data), 0o644
        add(info, data)
        standard = {"/bin": 0o755, "/etc": 0o755, "/tmp": 0o1777, "/root": 0o755}
        directory("rootfs")
        for d, mode in standard.items():
            directory("rootfs" + d, *(dirs or {}).get(d, (mode, 0, 0)))
        body = BUSYBOX.read_bytes()
        info = tarfile.TarInfo("rootfs/bin/busybox")
        info.size, info.mode = len(body), 0o755
        add(info, body)
        for applet in APPLETS:
            info = tarfile.TarInfo(f"rootfs/bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            add(info)
        etc = {
            "/etc/passwd": (
                b"root:x:0:0:root:/root:/bin/sh\n"
                b"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                b"app:x:1234:2345:app user:/home/app:/bin/sh\n",
                0o644,
                0,
                0,
            ),
            "/etc/group": (b"root:x:0:\ndaemon:x:1:\nappgrp:x:2345:\nextra:x:3456:\n", 0o644, 0, 0),
        }
        made = {"/", "/bin", "/etc", "/tmp", "/root"}
        for dpath, (mode, uid, gid) in sorted((dirs or {}).items()):
            if dpath not in standard:
                directory("rootfs" + dpath, mode, uid, gid)
                made.add(dpath)
        for fpath, (content, mode, uid, gid) in sorted({**etc, **(files or {})}.items()):
            parent = fpath.rsplit("/", 1)[0]
            parts = parent.strip("/").split("/")
            for i in range(1, len(parts) + 1):
                d = "/" + "/".join(parts[:i])
                if d not in made and d != "/":
                    directory("rootfs" + d)
                    made.add(d)
            info = tarfile.TarInfo("rootfs" + fpath)
            info.size, info.mode, info.uid, info.gid = len(content), mode, uid, gid
            add(info, content)
    return path
