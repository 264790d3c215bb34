"""Paths inside an image's root filesystem, resolved as if chrooted there.

Image content is untrusted: an ``/etc`` symlink pointing at ``/../../etc`` must
resolve inside the rootfs, never to the host's files.  Every host-side read or
write into a rootfs goes through :func:`resolve`.
"""

from __future__ import annotations

import os
from pathlib import Path

from carpool.errors import RuntimeFailure

MAX_SYMLINKS = 40


def resolve(root: Path, path: str, *, follow_last: bool = True) -> Path:
    """The host path of ``path`` inside ``root``, following symlinks without escaping."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        if (parts or follow_last) and candidate.is_symlink():
            hops += 1
            if hops > MAX_SYMLINKS:
                raise RuntimeFailure(f"too many symlinks resolving {path} in the image")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


def read_text(root: Path, path: str) -> str | None:
    try:
        return resolve(root, path).read_text(errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def write_file(
    root: Path, path: str, data: bytes, *, mode: int = 0o644, uid: int = 0, gid: int = 0
) -> None:
    """Write ``path`` inside ``root`` (a writable overlay), replacing a symlink there."""
    parent = resolve(root, os.path.dirname(path.rstrip("/")) or "/")
    parent.mkdir(parents=True, exist_ok=True)
    target = parent / os.path.basename(path.rstrip("/"))
    if target.is_symlink() or (target.exists() and not target.is_file()):
        if target.is_dir() and not target.is_symlink():
            raise RuntimeFailure(f"cannot write {path} in the app: it is a directory")
        target.unlink()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        os.write(fd, data)
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
