"""Compression is recognised by its magic bytes alone."""

from __future__ import annotations

import io

import pytest

from carpool.aci import Compression, sniff
from carpool.aci.compression import open_decompressed
from carpool.errors import ArchiveError
from tests.aci.archives import compress, manifest, tar_bytes


@pytest.mark.parametrize("kind", ["none", "gzip", "bzip2", "xz"])
def test_sniff_and_decompress(kind: str) -> None:
    tar = tar_bytes([manifest()])
    data = compress(tar, kind)
    assert sniff(data[:512]) is Compression(kind)
    stream, found = open_decompressed(io.BytesIO(data), "x.aci")
    assert found is Compression(kind)
    out = bytearray()
    buffer = bytearray(4096)
    while got := stream.readinto(buffer):
        out += buffer[:got]
    assert bytes(out) == tar


def test_magic_bytes_only() -> None:
    assert sniff(b"\x1f\x8b" + bytes(600)) is Compression.GZIP
    assert sniff(b"BZh9" + bytes(600)) is Compression.BZIP2
    assert sniff(b"\xfd7zXZ\x00" + bytes(600)) is Compression.XZ
    assert sniff(bytes(257) + b"ustar\x0000" + bytes(300)) is Compression.NONE
    assert sniff(bytes(257) + b"ustar  \x00" + bytes(300)) is Compression.NONE  # GNU magic
    assert sniff(b"PK\x03\x04" + bytes(600)) is None
    assert sniff(bytes(1024)) is None  # a v7 tar or zeros: not an ACI


def test_unknown_format_names_the_file() -> None:
    with pytest.raises(ArchiveError, match=r"^image\.aci: not an ACI archive"):
        open_decompressed(io.BytesIO(b"PK\x03\x04" + bytes(600)), "image.aci")
    with pytest.raises(ArchiveError, match=r"^image\.aci: empty file"):
        open_decompressed(io.BytesIO(b""), "image.aci")
