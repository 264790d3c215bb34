"""Crash-safe file writes, shared by every package that keeps state on disk.

The architecture promises that every write is atomic (temp file + rename, fsync where
it matters).  One implementation keeps that promise the same everywhere: readers see
the old file or the new one, never a mix, and a crash leaves at most a dot-named
temporary file that directory listings skip.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_replaceable(path: Path) -> None:
    """Refuse to rename over anything but a regular file (or nothing).

    A user may name ``/dev/stdout``, a FIFO or a symlink as an output path; renaming a
    temporary file over it would silently replace that node instead of writing to it.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EEXIST, "exists and is not a regular file", str(path))


def atomic_write_bytes(
    path: Path, data: bytes, *, mode: int = 0o644, parents: bool = False, durable: bool = True
) -> None:
    """Replace ``path`` with ``data`` (file mode exactly ``mode``), atomically.

    With ``durable`` the data is fsynced before the rename and the directory after it,
    so after a crash the file holds either its old or its new content.  State that does
    not outlive a reboot (running pods) passes ``durable=False`` and skips the fsyncs,
    which cost milliseconds on ``carpool run``'s start-up path.  ``parents`` creates
    missing directories first (for files whose directory a user chose).
    """
    ensure_replaceable(path)
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.urandom(16).hex()}")  # no uuid import: ~3 ms
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)  # whatever the umask
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_write_text(
    path: Path, text: str, *, mode: int = 0o644, parents: bool = False, durable: bool = True
) -> None:
    """:func:`atomic_write_bytes` for text (UTF-8)."""
    atomic_write_bytes(path, text.encode(), mode=mode, parents=parents, durable=durable)
