"""File locks (``flock``) for the critical sections several carpool processes share.

Used by the image store (files under ``locks/``) and the embedded registry.  Locks are
advisory and held on files that are never removed, so a waiting process always locks
the same inode as the holder.  The kernel drops a lock when its holder dies, so
``kill -9`` never leaves anything locked.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path, *, shared: bool = False, mode: int = 0o644) -> Iterator[None]:
    """Hold an exclusive (or shared) lock on ``path`` for the ``with`` block.

    ``mode`` applies when the lock file is created: ``0o600`` for host-wide locks that
    other users must not be able to open (and so hold).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock
