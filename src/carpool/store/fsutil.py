"""Store filesystem helpers: trees that vanish at once, and cheap tree fingerprints.

Atomic file writes live in :mod:`carpool.fsutil`, shared with the other packages.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path

from carpool.digests import sha256


def remove_path(path: Path, trash_dir: Path) -> None:
    """Remove a file or tree; a tree is first renamed away so it vanishes at once.

    A crash during the slow recursive delete leaves only an entry in ``trash_dir``,
    which ``gc`` and ``verify`` sweep, never a half-deleted tree under its real name.
    """
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        path.unlink()
        return
    trash_dir.mkdir(parents=True, exist_ok=True)
    doomed = trash_dir / f"{path.name}-{os.urandom(16).hex()}"
    os.rename(path, doomed)
    remove_tree(doomed)


def remove_tree(path: Path) -> None:
    """Delete a tree, including read-only directories, ignoring what is already gone."""
    import shutil

    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return

    def retry_writable(name: str, exc: BaseException) -> None:
        if isinstance(exc, FileNotFoundError):
            return
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), 0o700)
        if os.path.isdir(name) and not os.path.islink(name):
            os.chmod(name, 0o700)
            shutil.rmtree(name, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=lambda _f, name, exc: retry_writable(name, exc))
    else:
        shutil.rmtree(path, onerror=lambda _f, name, info: retry_writable(name, info[1]))


def tree_fingerprint(root: Path) -> tuple[str, int]:
    """A digest of every entry's path, type, mode, owner, size, mtime and inode.

    Cheap (one ``lstat`` per entry, no file is read) yet it changes when an entry is
    added, removed, replaced, chmod-ed, chown-ed or rewritten (which bumps mtime).
    Returns the hex digest and the number of entries.
    """
    digest = sha256()
    count = 0
    stack = [""]
    while stack:
        rel = stack.pop()
        base = os.path.join(root, rel) if rel else str(root)
        with os.scandir(base) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            path = f"{rel}/{entry.name}" if rel else entry.name
            digest.update(
                f"{path}\0{st.st_mode:o}\0{st.st_uid}\0{st.st_gid}\0{st.st_size}\0"
                f"{st.st_mtime_ns}\0{st.st_ino}\n".encode("utf-8", "surrogateescape")
            )
            count += 1
            if stat.S_ISDIR(st.st_mode):
                stack.append(path)
    return digest.hexdigest(), count
