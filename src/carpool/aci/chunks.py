"""The uncompressed stream as a sequence of hashed chunks, optionally read ahead in a thread.

Decompressing and hashing (zlib, lzma, bz2 and hashlib all release the GIL) run in a
background thread while the caller parses entries and writes files, the way ``tar -xz``
runs ``gzip`` in a separate process.  Either way every byte is hashed exactly once, in
order, and the size limit is enforced before a chunk is handed out.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable

from carpool.aci.compression import DECOMPRESSION_ERRORS, ReadableInto
from carpool.errors import ArchiveError

CHUNK_SIZE = 1 << 20
_READ_AHEAD = 4  # chunks


class _Digest:
    """Hashes, counts, tees and bounds the bytes read; shared by both chunk sources."""

    def __init__(
        self,
        source: str,
        max_size: int | None,
        tee: Callable[[memoryview], object] | None,
    ) -> None:
        self.source = source
        self.max_size = max_size
        self.tee = tee
        self.hash = hashlib.sha512()
        self.size = 0

    def read(self, stream: ReadableInto, buffer: bytearray) -> memoryview:
        try:
            got = stream.readinto(buffer) or 0
        except DECOMPRESSION_ERRORS as e:
            raise ArchiveError(f"{self.source}: corrupt or truncated data: {e}") from e
        chunk = memoryview(buffer)[:got]
        if got:
            self.size += got
            if self.max_size is not None and self.size > self.max_size:
                raise ArchiveError(
                    f"{self.source}: uncompressed archive exceeds the limit of "
                    f"{self.max_size} bytes"
                )
            self.hash.update(chunk)
            if self.tee is not None:
                self.tee(chunk)
        return chunk


class Chunks:
    """Reads in the calling thread."""

    def __init__(self, stream: ReadableInto, digest: _Digest) -> None:
        self._stream = stream
        self._digest = digest
        self._buffer = bytearray(CHUNK_SIZE)

    def next(self) -> memoryview:
        """The next chunk (empty at the end), valid until the next call."""
        return self._digest.read(self._stream, self._buffer)

    def close(self) -> None:
        pass


class PrefetchedChunks(Chunks):
    """Reads, decompresses and hashes up to a few chunks ahead in a background thread.

    :meth:`close` must be called (it stops and joins the thread); it waits for a read the
    thread is blocked in, so a stream that never delivers blocks it too.
    """

    def __init__(self, stream: ReadableInto, digest: _Digest) -> None:
        self._stream = stream
        self._digest = digest
        self._filled: queue.Queue[memoryview | BaseException] = queue.Queue()
        self._free: queue.Queue[bytearray | None] = queue.Queue()
        for _ in range(_READ_AHEAD):
            self._free.put(bytearray(CHUNK_SIZE))
        self._held: bytearray | None = None
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="aci-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                buffer = self._free.get()
                if buffer is None:
                    return
                chunk = self._digest.read(self._stream, buffer)
                self._filled.put(chunk)
                if not chunk:
                    return
        except BaseException as e:  # handed to the consumer, which raises it
            self._filled.put(e)

    def next(self) -> memoryview:
        if self._held is not None:
            self._free.put(self._held)
            self._held = None
        if self._done:
            return memoryview(b"")
        item = self._filled.get()
        if isinstance(item, BaseException):
            self._done = True
            raise item
        if not item:
            self._done = True
            return item
        self._held = item.obj  # type: ignore[assignment]
        return item

    def close(self) -> None:
        self._stop.set()
        self._free.put(None)
        self._thread.join()


def open_chunks(
    stream: ReadableInto,
    *,
    source: str,
    max_size: int | None = None,
    tee: Callable[[memoryview], object] | None = None,
    read_ahead: bool = False,
) -> tuple[Chunks, _Digest]:
    digest = _Digest(source, max_size, tee)
    chunks = PrefetchedChunks(stream, digest) if read_ahead else Chunks(stream, digest)
    return chunks, digest
