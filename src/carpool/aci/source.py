"""Where archive bytes come from: a path or an already open binary stream."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from carpool.errors import ArchiveError

Source = str | os.PathLike[str] | BinaryIO

_ID_PREFIX = "sha512-"
#: Shortest expected ID accepted: rkt's store keys keep half of the digest (64 hex digits).
_MIN_EXPECTED_HEX = 64


def source_name(source: Source, name: str | None) -> str:
    """How error messages call the archive."""
    if name is not None:
        return name
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


@contextmanager
def open_source(source: Source, name: str) -> Iterator[BinaryIO]:
    """The source as a binary stream; paths are opened unbuffered (reads go straight in)."""
    if not isinstance(source, str | os.PathLike):
        yield source
        return
    try:
        stream = open(source, "rb", buffering=0)  # noqa: SIM115 - closed below
    except OSError as e:
        raise ArchiveError(f"{name}: cannot open: {e.strerror or e}") from e
    with stream:
        yield stream


def check_expected_id(image_id: str, expected: str | None, name: str) -> None:
    """Refuse an archive whose ID is not ``expected`` (a full ID or rkt's 64-digit key)."""
    if expected is None:
        return
    expected = expected.lower()
    if not expected.startswith(_ID_PREFIX) or len(expected) < len(_ID_PREFIX) + _MIN_EXPECTED_HEX:
        raise ArchiveError(
            f"{name}: expected image ID {expected!r} must be sha512- and at least 64 hex digits"
        )
    if not image_id.startswith(expected):
        raise ArchiveError(f"{name}: image ID {image_id} does not match the expected {expected}")
