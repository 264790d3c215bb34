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
    _write_owned(target, data, mode, uid, gid)


def write_layered(
    lower: Path,
    upper: Path,
    path: str,
    data: bytes,
    *,
    mode: int = 0o644,
    uid: int = 0,
    gid: int = 0,
) -> None:
    """:func:`write_file` into an overlay that is not mounted yet: into its ``upper`` dir.

    ``path`` is resolved in ``lower`` (the image), as the mounted overlay would resolve
    it; the directories leading to it are created in ``upper`` with the mode, owner and
    times of their ``lower`` counterparts, as overlayfs's copy-up makes them (an upper
    directory's attributes are the merged directory's).  The file replaces whatever
    non-directory the image has there.  The overlay must not be mounted meanwhile.
    """
    import stat

    name = os.path.basename(path.rstrip("/"))
    parent = resolve(lower, os.path.dirname(path.rstrip("/")) or "/")
    below, above = lower, upper
    for part in parent.relative_to(lower).parts:
        below, above = below / part, above / part
        if os.path.isdir(above):
            continue
        try:
            st: os.stat_result | None = os.lstat(below)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise RuntimeFailure(f"cannot write {path} in the app: {part} is not a directory")
        os.mkdir(above, 0o755)
        if st is not None:
            os.chown(above, st.st_uid, st.st_gid)
            os.chmod(above, stat.S_IMODE(st.st_mode))
            os.utime(above, ns=(st.st_atime_ns, st.st_mtime_ns))
    if (parent / name).is_dir() and not (parent / name).is_symlink():
        raise RuntimeFailure(f"cannot write {path} in the app: it is a directory")
    _write_owned(above / name, data, mode, uid, gid)


def _write_owned(target: Path, data: bytes, mode: int, uid: int, gid: int) -> None:
    """Write ``target`` (never through a symlink) with this owner and mode."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        os.write(fd, data)
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
