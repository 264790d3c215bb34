"""Building test archives byte by byte (hostile ones included) and describing trees.

``tarfile.TarInfo.tobuf`` writes whatever name, type and link it is given, which makes
it a convenient forger of archives no honest writer would produce.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = b'{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/test"}'
COMPRESSIONS = ("none", "gzip", "bzip2", "xz")
DECOMPRESS_CMD = {"gzip": ["gzip", "-dc"], "bzip2": ["bzip2", "-dc"], "xz": ["xz", "-dc"]}


@dataclass
class E:
    """One forged tar entry."""

    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    linkname: str = ""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: int = 1_600_000_000
    pax: dict[str, str] = field(default_factory=dict)
    devmajor: int = 0
    devminor: int = 0


def manifest(data: bytes = MANIFEST) -> E:
    return E("manifest", data=data)


def d(name: str, mode: int = 0o755) -> E:
    return E(name, tarfile.DIRTYPE, mode=mode)


def f(name: str, data: bytes = b"data", mode: int = 0o644) -> E:
    return E(name, data=data, mode=mode)


def sym(name: str, target: str) -> E:
    return E(name, tarfile.SYMTYPE, linkname=target, mode=0o777)


def hard(name: str, target: str) -> E:
    return E(name, tarfile.LNKTYPE, linkname=target)


def tar_bytes(entries: list[E], *, fmt: int = tarfile.PAX_FORMAT, end_marker: bool = True) -> bytes:
    out = io.BytesIO()
    for entry in entries:
        info = tarfile.TarInfo(entry.name)
        info.type = entry.type
        info.linkname = entry.linkname
        info.mode = entry.mode
        info.uid, info.gid = entry.uid, entry.gid
        info.mtime = entry.mtime
        info.size = len(entry.data)
        info.devmajor, info.devminor = entry.devmajor, entry.devminor
        info.pax_headers = dict(entry.pax)
        out.write(info.tobuf(fmt, "utf-8", "surrogateescape"))
        if entry.data:
            out.write(entry.data + bytes(-len(entry.data) % 512))
    if end_marker:
        out.write(bytes(1024))
    return out.getvalue()


def compress(data: bytes, kind: str) -> bytes:
    if kind == "gzip":
        return gzip.compress(data, mtime=0)
    if kind == "bzip2":
        return bz2.compress(data)
    if kind == "xz":
        return lzma.compress(data)
    return data


def write_archive(path: Path, entries: list[E], kind: str = "none", **kw: object) -> Path:
    path.write_bytes(compress(tar_bytes(entries, **kw), kind))  # type: ignore[arg-type]
    return path


def sha512_id(data: bytes) -> str:
    return "sha512-" + hashlib.sha512(data).hexdigest()


def describe(root: Path) -> dict[str, tuple[object, ...]]:
    """Everything extraction should preserve, per path below ``root`` (root excluded).

    Hardlinks show as a shared inode number relative to the first path that has it.
    """
    out: dict[str, tuple[object, ...]] = {}
    first_path: dict[int, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            if stat.S_ISREG(kind):
                content: object = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            elif stat.S_ISLNK(kind):
                content = os.readlink(path)
            elif stat.S_ISCHR(kind) or stat.S_ISBLK(kind):
                content = (os.major(st.st_rdev), os.minor(st.st_rdev))
            else:
                content = None
            link = None
            if not stat.S_ISDIR(kind) and st.st_nlink > 1:
                link = first_path.setdefault(st.st_ino, rel)
            try:
                names = sorted(os.listxattr(path, follow_symlinks=False))
                xattrs = tuple((n, os.getxattr(path, n, follow_symlinks=False)) for n in names)
            except OSError:
                xattrs = ()
            mtime = None if stat.S_ISLNK(kind) else st.st_mtime_ns // 10**9
            out[rel] = (
                kind,
                stat.S_IMODE(st.st_mode),
                st.st_uid,
                st.st_gid,
                mtime,
                content,
                link,
                xattrs,
            )
    return out


def listing(root: Path) -> set[str]:
    """Every path below ``root`` (for checking nothing appeared where it should not)."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found
