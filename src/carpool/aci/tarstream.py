"""A strict, streaming tar reader that hashes every byte it reads.

Python's :mod:`tarfile` treats a corrupt header after the first one as the end of the
archive and buffers stream input in a way that is slow for large members, so ACI reading
uses this small reader instead.  It understands what real ACIs contain -- ustar, GNU and
PAX headers (long names, ``SCHILY.xattr.*``, large numbers) -- and refuses everything else
(sparse files, multi-volume archives) with an :class:`ArchiveError` naming the source.

The SHA-512 of the uncompressed stream (the appc image ID) is computed over exactly the
bytes read, in the same pass; :meth:`TarReader.finish` reads what follows the
end-of-archive marker so the digest covers the whole stream.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from carpool.aci.chunks import open_chunks
from carpool.aci.compression import ReadableInto
from carpool.errors import ArchiveError
from carpool.progress import SILENT, Progress

BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)
#: Largest PAX extended header or GNU long name accepted (they are held in memory).
MAX_EXTENDED_HEADER = 1 << 20


class EntryType(enum.Enum):
    FILE = "file"
    HARDLINK = "hardlink"
    SYMLINK = "symlink"
    CHARDEV = "character device"
    BLOCKDEV = "block device"
    DIRECTORY = "directory"
    FIFO = "fifo"


_TYPES = {
    b"0": EntryType.FILE,
    b"\x00": EntryType.FILE,
    b"7": EntryType.FILE,  # contiguous file: a regular file everywhere that matters
    b"1": EntryType.HARDLINK,
    b"2": EntryType.SYMLINK,
    b"3": EntryType.CHARDEV,
    b"4": EntryType.BLOCKDEV,
    b"5": EntryType.DIRECTORY,
    b"6": EntryType.FIFO,
}
_EXTENDED = frozenset({b"x", b"g", b"L", b"K"})
_UNSUPPORTED = {
    b"S": "GNU sparse file",
    b"V": "GNU volume header",
    b"M": "GNU multi-volume continuation",
    b"D": "GNU dump directory",
    b"N": "GNU long names (old style)",
}


@dataclass(slots=True)
class TarEntry:
    """One member of the archive, with extended headers already applied."""

    name: str
    type: EntryType
    mode: int
    uid: int
    gid: int
    size: int
    mtime_ns: int
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)


def _decode(raw: bytes) -> str:
    # surrogateescape keeps any byte sequence intact when the name is passed back to os.*
    return raw.decode("utf-8", "surrogateescape")


def _string(field_bytes: bytes) -> str:
    return _decode(field_bytes.split(b"\x00", 1)[0])


class _BadNumber(Exception):
    pass


def _number(field_bytes: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 when the high bit is set."""
    first = field_bytes[0]
    if first & 0x80:
        if first == 0x80:
            return int.from_bytes(field_bytes[1:], "big")
        if first == 0xFF:
            return int.from_bytes(field_bytes, "big", signed=True)
        raise _BadNumber(field_bytes)
    text = field_bytes.split(b"\x00", 1)[0].strip(b" ")
    if not text:
        return 0
    if not text.isdigit():
        raise _BadNumber(field_bytes)
    try:
        return int(text, 8)
    except ValueError:  # 8 or 9
        raise _BadNumber(field_bytes) from None


def _checksum_ok(block: bytes) -> bool:
    try:
        stored = _number(block[148:156])
    except _BadNumber:
        return False
    unsigned = sum(block[:148]) + sum(block[156:]) + 8 * 0x20
    if stored == unsigned:
        return True
    # Some old tars summed signed chars.
    high = sum(1 for b in block[:148] if b & 0x80) + sum(1 for b in block[156:] if b & 0x80)
    return stored == unsigned - 256 * high


def _parse_pax(data: bytes, where: str) -> dict[str, bytes]:
    """PAX records ``"<len> <key>=<value>\\n"``; values stay bytes (xattrs are binary)."""
    records: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        if data[pos] == 0:  # NUL padding some writers leave after the last record
            break
        space = data.find(b" ", pos)
        if space < 0 or not data[pos:space].isdigit():
            raise ArchiveError(f"{where}: corrupt PAX header")
        length = int(data[pos:space])
        end = pos + length
        if length <= space - pos or end > len(data) or data[end - 1 : end] != b"\n":
            raise ArchiveError(f"{where}: corrupt PAX header")
        key, eq, value = data[space + 1 : end - 1].partition(b"=")
        if not eq:
            raise ArchiveError(f"{where}: corrupt PAX header")
        records[key.decode("utf-8", "surrogateescape")] = value
        pos = end
    return records


def _pax_int(records: dict[str, bytes], key: str, where: str) -> int | None:
    value = records.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ArchiveError(f"{where}: bad PAX {key} {value!r}") from None


def _pax_time_ns(value: bytes, where: str) -> int:
    text = value.decode("ascii", "replace")
    whole, _, frac = text.partition(".")
    try:
        seconds = int(whole)
        digits = (frac + "000000000")[:9] if frac else "0"
        if frac and not frac.isdigit():
            raise ValueError(frac)
        nanos = int(digits)
    except ValueError:
        raise ArchiveError(f"{where}: bad PAX mtime {value!r}") from None
    if text.startswith("-"):
        return seconds * 1_000_000_000 - nanos
    return seconds * 1_000_000_000 + nanos


class TarReader:
    """Reads entries from an uncompressed tar stream.

    Call :meth:`next_entry` until it returns None, consuming each entry's data with
    :meth:`data_chunks`/:meth:`read_data` (or letting :meth:`next_entry` skip it), then
    :meth:`finish`.  ``max_size`` bounds the uncompressed bytes read, to defeat endless data;
    ``tee`` sees every uncompressed byte in order (for copying the tar somewhere), from the
    read-ahead thread when ``read_ahead`` is set; then :meth:`close` must be called.
    """

    def __init__(
        self,
        stream: ReadableInto,
        *,
        source: str,
        max_size: int | None = None,
        tee: Callable[[memoryview], object] | None = None,
        progress: Progress = SILENT,
        read_ahead: bool = False,
    ) -> None:
        self._source = source
        self._max_size = max_size
        self._progress = progress
        self._chunks, self._digest = open_chunks(
            stream, source=source, max_size=max_size, tee=tee, read_ahead=read_ahead
        )
        self._view = memoryview(b"")
        self._pos = 0
        self._end = 0
        self._base = 0  # stream offset of self._view[0]
        self._entry_left = 0  # data bytes of the current entry not consumed yet
        self._entry_padding = 0
        self._global_pax: dict[str, bytes] = {}
        self._ended = False
        self._eof = False

    def close(self) -> None:
        """Stop reading ahead (if it does); the reader cannot be used afterwards."""
        self._chunks.close()

    def __enter__(self) -> TarReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw byte access -------------------------------------------------------------

    @property
    def offset(self) -> int:
        """Bytes of the uncompressed stream consumed so far."""
        return self._base + self._pos

    def _refill(self) -> bool:
        if self._eof:
            return False
        chunk = self._chunks.next()
        self._base += self._end
        if not chunk:
            self._eof = True
            self._view = chunk
            self._pos = self._end = 0
            return False
        self._progress.advance(len(chunk))
        self._view = chunk
        self._pos = 0
        self._end = len(chunk)
        return True

    def _take(self, size: int) -> memoryview:
        """Up to ``size`` bytes (at least one unless at EOF), valid until the next call."""
        if self._pos == self._end and not self._refill():
            return self._view[:0]
        n = min(size, self._end - self._pos)
        chunk = self._view[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def _read_exact(self, size: int) -> bytes:
        parts: list[bytes] = []
        left = size
        while left:
            chunk = self._take(left)
            if not chunk:
                break
            parts.append(bytes(chunk))
            left -= len(chunk)
        return b"".join(parts)

    def _skip(self, size: int) -> None:
        left = size
        while left:
            chunk = self._take(left)
            if not chunk:
                raise self._truncated()
            left -= len(chunk)

    def _truncated(self) -> ArchiveError:
        return ArchiveError(f"{self._source}: truncated archive (unexpected end of data)")

    def _check_room(self, size: int, where: str) -> None:
        if self._max_size is not None and self.offset + size > self._max_size:
            raise ArchiveError(
                f"{where}: {size} bytes exceed the archive size limit of {self._max_size} bytes"
            )

    # -- entries ---------------------------------------------------------------------

    def _read_member_data(self, size: int, where: str) -> bytes:
        if size > MAX_EXTENDED_HEADER:
            raise ArchiveError(f"{where}: extended header of {size} bytes is too large")
        data = self._read_exact(size)
        if len(data) != size:
            raise self._truncated()
        self._skip(-size % BLOCK)
        return data

    def _header_block(self) -> bytes:
        pos = self._pos
        if self._end - pos >= BLOCK:  # the usual case: the whole header is buffered
            self._pos = pos + BLOCK
            return self._view[pos : pos + BLOCK].tobytes()
        return self._read_exact(BLOCK)

    def next_entry(self) -> TarEntry | None:
        """The next entry, or None at the end-of-archive marker."""
        if self._ended:
            return None
        if self._entry_left or self._entry_padding:
            self.skip_data()
        pax: dict[str, bytes] = {}
        long_name: str | None = None
        long_link: str | None = None
        while True:
            start = self.offset
            block = self._header_block()
            if len(block) < BLOCK:
                raise ArchiveError(
                    f"{self._source}: truncated archive (no end-of-archive marker)"
                    if not block
                    else f"{self._source}: truncated archive (partial header)"
                )
            if block == _ZERO_BLOCK:
                if pax or long_name is not None or long_link is not None:
                    raise ArchiveError(f"{self._at(start)}: extended header without an entry")
                self._ended = True
                return None
            if not _checksum_ok(block):
                raise ArchiveError(f"{self._at(start)}: corrupt archive (bad header checksum)")
            typeflag = block[156:157]
            try:
                size = _number(block[124:136])
                if typeflag in _EXTENDED:
                    data = self._read_member_data(size, self._at(start))
                    if typeflag == b"x":
                        pax.update(_parse_pax(data, self._at(start)))
                    elif typeflag == b"g":
                        self._global_pax.update(_parse_pax(data, self._at(start)))
                    elif typeflag == b"L":
                        long_name = _decode(data.split(b"\x00", 1)[0])
                    else:
                        long_link = _decode(data.split(b"\x00", 1)[0])
                    continue
                entry = self._entry(block, typeflag, size, pax, long_name, long_link, start)
            except _BadNumber:
                raise ArchiveError(
                    f"{self._at(start)}: corrupt archive (bad number in header)"
                ) from None
            if entry.type is EntryType.FILE and entry.size:
                self._check_room(entry.size, f"{self._source}: {entry.name}")
                self._entry_left = entry.size
                self._entry_padding = -entry.size % BLOCK
            return entry

    def _at(self, offset: int) -> str:
        return f"{self._source}: offset {offset}"

    def _entry(
        self,
        block: bytes,
        typeflag: bytes,
        size: int,
        pax: dict[str, bytes],
        long_name: str | None,
        long_link: str | None,
        start: int,
    ) -> TarEntry:
        raw_name = block[0:100].split(b"\x00", 1)[0]
        if block[345] and block[257:263] == b"ustar\x00":  # POSIX ustar: the prefix field
            raw_name = block[345:500].split(b"\x00", 1)[0] + b"/" + raw_name
        name = long_name if long_name is not None else _decode(raw_name)
        kind = _TYPES.get(typeflag)
        if kind is None:
            what = _UNSUPPORTED.get(typeflag, f"entry type {typeflag!r}")
            raise ArchiveError(f"{self._source}: {name}: unsupported {what}")
        if kind is EntryType.FILE and typeflag == b"\x00" and name.endswith("/"):
            kind = EntryType.DIRECTORY  # old V7 convention
        linkname = ""
        if kind is EntryType.SYMLINK or kind is EntryType.HARDLINK:
            linkname = long_link if long_link is not None else _string(block[157:257])
        entry = TarEntry(
            name=name,
            type=kind,
            mode=_number(block[100:108]) & 0o7777,
            uid=_number(block[108:116]),
            gid=_number(block[116:124]),
            size=size,
            mtime_ns=_number(block[136:148]) * 1_000_000_000,
            linkname=linkname,
        )
        if kind is EntryType.CHARDEV or kind is EntryType.BLOCKDEV:
            entry.devmajor = _number(block[329:337])
            entry.devminor = _number(block[337:345])
        records = {**self._global_pax, **pax} if self._global_pax else pax
        if records:
            self._apply_pax(entry, records, self._at(start))
        if entry.size < 0:
            raise ArchiveError(f"{self._at(start)}: corrupt archive (negative size)")
        if kind is not EntryType.FILE:
            entry.size = 0  # only regular files carry data (like Go's archive/tar, GNU tar)
        return entry

    def _apply_pax(self, entry: TarEntry, records: dict[str, bytes], where: str) -> None:
        if "path" in records:
            entry.name = _decode(records["path"])
        if any(key.startswith("GNU.sparse.") for key in records):
            raise ArchiveError(f"{self._source}: {entry.name}: unsupported GNU sparse file")
        if "linkpath" in records and entry.type in _LINKS:
            entry.linkname = _decode(records["linkpath"])
        for key, field_name in (("size", "size"), ("uid", "uid"), ("gid", "gid")):
            value = _pax_int(records, key, where)
            if value is not None:
                setattr(entry, field_name, value)
        if "mtime" in records:
            entry.mtime_ns = _pax_time_ns(records["mtime"], where)
        for key, raw in records.items():
            if key.startswith("SCHILY.xattr."):
                entry.xattrs[key[len("SCHILY.xattr.") :]] = raw

    # -- entry data ------------------------------------------------------------------

    def data_chunks(self) -> Iterator[memoryview]:
        """The current entry's remaining data; each chunk is valid until the next one."""
        while self._entry_left:
            chunk = self._take(self._entry_left)
            if not chunk:
                raise self._truncated()
            self._entry_left -= len(chunk)
            yield chunk
        if self._entry_padding:
            self._skip(self._entry_padding)
            self._entry_padding = 0

    def write_data(self, fd: int) -> None:
        """Write the current entry's remaining data to file descriptor ``fd``."""
        left = self._entry_left
        while left:
            chunk = self._take(left)
            if not chunk:
                raise self._truncated()
            left -= len(chunk)
            self._entry_left = left
            while chunk:
                chunk = chunk[os.write(fd, chunk) :]
        if self._entry_padding:
            self._skip(self._entry_padding)
            self._entry_padding = 0

    def read_data(self, limit: int, what: str) -> bytes:
        """The current entry's data as bytes, refusing more than ``limit`` bytes."""
        if self._entry_left > limit:
            raise ArchiveError(f"{what}: {self._entry_left} bytes is larger than {limit} bytes")
        return b"".join(bytes(chunk) for chunk in self.data_chunks())

    def skip_data(self) -> None:
        self._skip(self._entry_left + self._entry_padding)
        self._entry_left = self._entry_padding = 0

    # -- end -------------------------------------------------------------------------

    def finish(self) -> None:
        """Read what follows the end-of-archive marker so the digest covers everything."""
        if not self._ended:
            raise RuntimeError("finish() before the end-of-archive marker")
        self._pos = self._end
        while self._refill():
            self._pos = self._end

    @property
    def size(self) -> int:
        """Uncompressed bytes read so far (the whole tar after :meth:`finish`)."""
        return self._digest.size

    @property
    def image_id(self) -> str:
        """``sha512-<hex>`` of the uncompressed stream; complete only after :meth:`finish`."""
        return "sha512-" + self._digest.hash.hexdigest()


_LINKS = frozenset({EntryType.SYMLINK, EntryType.HARDLINK})
