"""Compression of ACI archives, recognised by magic bytes and never by file name.

appc lets an ``.aci`` file be a plain tar or a gzip, bzip2 or xz compressed one
(``aci/file.go: DetectFileType``); the name always ends in ``.aci`` so only the
first bytes tell.  Everything here streams: nothing is read twice or held whole.
"""

from __future__ import annotations

import bz2
import enum
import gzip
import io
import lzma
import zlib
from typing import BinaryIO, Protocol

from carpool.errors import ArchiveError


class Compression(enum.StrEnum):
    NONE = "none"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"


_MAGICS: tuple[tuple[bytes, Compression], ...] = (
    (b"\x1f\x8b", Compression.GZIP),
    (b"BZh", Compression.BZIP2),
    (b"\xfd7zXZ\x00", Compression.XZ),
)
_USTAR_OFFSET = 257
#: Bytes needed to recognise every supported format (``ustar`` ends at 262).
SNIFF_SIZE = 512

#: Exceptions the decompressors raise on corrupt or truncated input.
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
)


class ReadableInto(Protocol):
    def readinto(self, buffer: bytearray | memoryview, /) -> int | None: ...


def sniff(head: bytes) -> Compression | None:
    """The compression of an archive whose first bytes are ``head``, or None if unknown."""
    for magic, kind in _MAGICS:
        if head.startswith(magic):
            return kind
    if head[_USTAR_OFFSET : _USTAR_OFFSET + 5] == b"ustar":
        return Compression.NONE
    return None


class _Prefixed(io.RawIOBase):
    """A stream that first yields bytes already read (for sniffing), then the rest."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest
        self._rest_readinto = getattr(rest, "readinto", None)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        if self._rest_readinto is not None:
            got = self._rest_readinto(buffer)
            return got or 0
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_upto(stream: BinaryIO, size: int) -> bytes:
    parts: list[bytes] = []
    left = size
    while left:
        data = stream.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def open_decompressed(stream: BinaryIO, source: str) -> tuple[ReadableInto, Compression]:
    """Wrap ``stream`` so that reading it yields the uncompressed tar, whatever the format.

    Raises :class:`ArchiveError` naming ``source`` when the format is unknown.  Errors of the
    decompressor itself surface later, while reading (see :data:`DECOMPRESSION_ERRORS`).
    """
    try:
        head = _read_upto(stream, SNIFF_SIZE)
    except OSError as e:
        raise ArchiveError(f"{source}: cannot read: {e.strerror or e}") from e
    kind = sniff(head)
    if kind is None:
        if not head:
            raise ArchiveError(f"{source}: empty file, not an ACI archive")
        raise ArchiveError(
            f"{source}: not an ACI archive (neither a tar nor gzip, bzip2 or xz compressed)"
        )
    raw = _Prefixed(head, stream)
    if kind is Compression.NONE:
        return raw, kind
    # The decompressors read their input in their own chunks; a buffered reader in front
    # of the raw prefix stream keeps those reads cheap.
    buffered = io.BufferedReader(raw, buffer_size=1 << 20)
    if kind is Compression.GZIP:
        return gzip.GzipFile(fileobj=buffered, mode="rb"), kind
    if kind is Compression.BZIP2:
        return bz2.BZ2File(buffered, mode="rb"), kind
    return lzma.LZMAFile(buffered, mode="rb"), kind


class Writable(Protocol):
    def write(self, data: bytes | bytearray | memoryview, /) -> int: ...


class _Uncompressed:
    """The writer for ``compression="none"``: passes bytes straight through."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._out.write(data)

    def close(self) -> None:
        self._out.flush()


class CompressingWriter(Protocol):
    def write(self, data: bytes | bytearray | memoryview, /) -> int: ...

    def close(self) -> None: ...


def open_compressor(out: BinaryIO, compression: Compression) -> CompressingWriter:
    """A writer compressing into ``out`` reproducibly: same input, same bytes.

    gzip gets mtime 0 and no file name in its header; closing the writer does not close
    ``out``.
    """
    if compression is Compression.GZIP:
        return gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6)
    if compression is Compression.BZIP2:
        return bz2.BZ2File(out, mode="wb", compresslevel=9)
    if compression is Compression.XZ:
        return lzma.LZMAFile(out, mode="wb", format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64)
    return _Uncompressed(out)
