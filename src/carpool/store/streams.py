"""Readers that report progress and keep a copy of what passes through them."""

from __future__ import annotations

import io
from typing import BinaryIO

from carpool.progress import SILENT, Progress


class _TeeRaw(io.RawIOBase):
    def __init__(self, source: BinaryIO, copy: BinaryIO | None, progress: Progress) -> None:
        self._source = source
        self._copy = copy
        self._progress = progress
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if n:
            if self._copy is not None:
                self._copy.write(data)
            self.consumed += n
            self._progress.advance(n)
        return n


class TeeReader(io.BufferedReader):
    """A buffered reader over ``source`` that copies every byte read into ``copy``.

    ``drain()`` reads what the consumer left (e.g. padding after the tar end marker)
    so that ``copy`` ends up byte-identical to the source.
    """

    def __init__(
        self,
        source: BinaryIO,
        copy: BinaryIO | None,
        progress: Progress = SILENT,
        chunk: int = 1 << 20,
    ) -> None:
        self._raw = _TeeRaw(source, copy, progress)
        super().__init__(self._raw, buffer_size=chunk)

    @property
    def consumed(self) -> int:
        return self._raw.consumed

    def drain(self) -> None:
        while self.read(1 << 20):
            pass
