"""Deterministic ACI writing: the same tree and options give the same bytes and image ID.

Entries come in a fixed order (``manifest``, ``rootfs``, then the tree depth first with
names sorted bytewise), owners are numeric only (empty user and group names), xattrs are
PAX ``SCHILY.xattr.*`` records in name order, hardlinks stay hardlinks, and ``mtime``
pins every timestamp (like ``SOURCE_DATE_EPOCH``).  gzip headers carry mtime 0 and no file
name.  The archive is written to a temporary file, fsynced and renamed into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

from carpool.aci.compression import CompressingWriter, Compression, open_compressor
from carpool.aci.layout import MANIFEST, ROOTFS
from carpool.appc import ImageManifest
from carpool.errors import ArchiveError
from carpool.fsutil import fsync_dir
from carpool.progress import SILENT, Progress

_BLOCK = tarfile.BLOCKSIZE
_RECORD = tarfile.RECORDSIZE
_CHUNK = 1 << 20
#: Host-specific attributes that do not belong in an image: SELinux labels of the build
#: host, and POSIX ACLs (``system.*``), which tar stores differently.
_SKIPPED_XATTRS = ("security.selinux", "system.")
_BINARY_CHARSET = b"21 hdrcharset=BINARY\n"

Parts = tuple[str, ...]


def _sort_key(parts: Parts) -> tuple[bytes, ...]:
    return tuple(os.fsencode(part) for part in parts)


class _TarWriter:
    """Writes tar blocks into a compressor while hashing the uncompressed stream."""

    def __init__(self, out: CompressingWriter, progress: Progress) -> None:
        self._out = out
        self._hash = hashlib.sha512()
        self._offset = 0
        self._progress = progress

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)
        self._out.write(data)
        self._offset += len(data)
        self._progress.advance(len(data))

    def header(self, info: tarfile.TarInfo, xattrs: dict[str, bytes] | None = None) -> None:
        """One entry's header; PAX records for long names etc. come from tarfile, the
        ``SCHILY.xattr.*`` ones are added here; all values are raw bytes, the way GNU tar
        writes them (without tarfile's ``hdrcharset=BINARY``, which GNU tar warns about)."""
        buf = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        if len(buf) == _BLOCK and not xattrs:
            self.write(buf)
            return
        records = buf[_BLOCK:-_BLOCK].rstrip(b"\x00").replace(_BINARY_CHARSET, b"", 1)
        for key, value in (xattrs or {}).items():
            records += _pax_record(b"SCHILY.xattr." + os.fsencode(key), value)
        pax = tarfile.TarInfo("././@PaxHeader")
        pax.type = tarfile.XHDTYPE
        pax.size = len(records)
        self.write(pax.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape"))
        self.write(records)
        self.pad()
        self.write(buf[-_BLOCK:])

    def pad(self) -> None:
        if self._offset % _BLOCK:
            self.write(bytes(_BLOCK - self._offset % _BLOCK))

    def close(self) -> str:
        """Write the end-of-archive marker and record padding; return the image ID."""
        self.write(bytes(2 * _BLOCK))
        if self._offset % _RECORD:
            self.write(bytes(_RECORD - self._offset % _RECORD))
        return "sha512-" + self._hash.hexdigest()


def _manifest_bytes(manifest: ImageManifest | bytes | str) -> bytes:
    if isinstance(manifest, ImageManifest):
        return manifest.to_json().encode()
    data = manifest.encode() if isinstance(manifest, str) else manifest
    ImageManifest.from_json(data, source="manifest")  # raises ValidationError
    return data


def _pax_record(key: bytes, value: bytes) -> bytes:
    """``"<len> key=value\\n"`` where ``len`` counts the whole record, itself included."""
    payload = b" " + key + b"=" + value + b"\n"
    length = len(payload)
    while length != len(payload) + len(str(length)):
        length = len(payload) + len(str(length))
    return str(length).encode() + payload


def _xattrs(path: str) -> dict[str, bytes]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}  # file system without xattrs
    return {
        key: os.getxattr(path, key, follow_symlinks=False)
        for key in sorted(names, key=os.fsencode)
        if not key.startswith(_SKIPPED_XATTRS)
    }


class _Archiver:
    def __init__(self, rootfs: Path, tar: _TarWriter, mtime: int | None, xattrs: bool) -> None:
        self.rootfs = rootfs
        self.tar = tar
        self.mtime = mtime
        self.xattrs = xattrs
        self.links: dict[tuple[int, int], str] = {}
        self.buffer = bytearray(_CHUNK)

    def info(self, name: str, st: os.stat_result) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid = st.st_uid
        info.gid = st.st_gid
        info.uname = info.gname = ""
        info.mtime = self.mtime if self.mtime is not None else st.st_mtime_ns // 1_000_000_000
        return info

    def xattrs_of(self, path: str) -> dict[str, bytes] | None:
        return _xattrs(path) if self.xattrs else None

    def add_root(self, st: os.stat_result) -> None:
        info = self.info(ROOTFS, st)
        info.type = tarfile.DIRTYPE
        self.tar.header(info, self.xattrs_of(str(self.rootfs)))

    def add(self, parts: Parts, excluded: set[Parts]) -> bool:
        """Archive one path; True if it is a directory (children may follow)."""
        path = os.path.join(self.rootfs, *parts)
        name = "/".join((ROOTFS, *parts))
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            raise ArchiveError(f"{path}: no such file to archive") from None
        mode = st.st_mode
        if stat.S_ISSOCK(mode):
            excluded.add(parts)  # like tar: sockets cannot be archived
            return False
        if not stat.S_ISDIR(mode) and st.st_nlink > 1:
            first = self.links.setdefault((st.st_dev, st.st_ino), name)
            if first != name:
                info = self.info(name, st)
                info.type = tarfile.LNKTYPE
                info.linkname = first
                self.tar.header(info)
                return False
        info = self.info(name, st)
        xattrs = self.xattrs_of(path)
        if stat.S_ISREG(mode):
            self.add_file(path, info, xattrs)
            return False
        if stat.S_ISDIR(mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(mode):
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(path)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            info.devmajor = os.major(st.st_rdev)
            info.devminor = os.minor(st.st_rdev)
        elif stat.S_ISFIFO(mode):
            info.type = tarfile.FIFOTYPE
        self.tar.header(info, xattrs)
        return stat.S_ISDIR(mode)

    def add_file(self, path: str, info: tarfile.TarInfo, xattrs: dict[str, bytes] | None) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with open(fd, "rb", buffering=0) as f:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ArchiveError(f"{path}: changed while being archived")
            info.size = st.st_size
            self.tar.header(info, xattrs)
            view = memoryview(self.buffer)
            left = info.size
            while left:
                got = f.readinto(view[: min(left, _CHUNK)])
                if not got:
                    raise ArchiveError(f"{path}: shrank while being archived")
                self.tar.write(view[:got])
                left -= got
        self.tar.pad()


def _tree(rootfs: Path) -> list[Parts]:
    """Every path below ``rootfs`` (not following symlinks), in no particular order."""
    found: list[Parts] = []
    pending: list[Parts] = [()]
    while pending:
        parts = pending.pop()
        with os.scandir(os.path.join(rootfs, *parts)) as entries:
            for entry in entries:
                child = (*parts, entry.name)
                found.append(child)
                if entry.is_dir(follow_symlinks=False):
                    pending.append(child)
    return found


def _selection(only: Iterable[str | os.PathLike[str]]) -> list[Parts]:
    wanted: set[Parts] = set()
    for item in only:
        text = os.fspath(item)
        parts = tuple(part for part in text.split("/") if part not in ("", "."))
        if ".." in parts:
            raise ArchiveError(f"{text}: '..' is not allowed in paths to archive")
        for depth in range(1, len(parts) + 1):
            wanted.add(parts[:depth])  # parents come along, or the archive would not load
    return list(wanted)


def _write_tar(
    tar: _TarWriter,
    archiver: _Archiver,
    manifest: bytes,
    rootfs_stat: os.stat_result,
    paths: list[Parts],
) -> str:
    """The whole tar stream: manifest, rootfs, the tree; returns the image ID."""
    header = tarfile.TarInfo(MANIFEST)
    header.size = len(manifest)
    header.mode = 0o644
    mtime = archiver.mtime
    header.mtime = mtime if mtime is not None else rootfs_stat.st_mtime_ns // 10**9
    tar.header(header)
    tar.write(manifest)
    tar.pad()
    archiver.add_root(rootfs_stat)
    excluded: set[Parts] = set()
    non_dirs: set[Parts] = set()
    for parts in paths:
        path = os.path.join(archiver.rootfs, *parts)
        if parts[:-1] in non_dirs or parts[:-1] in excluded:
            raise ArchiveError(f"{os.path.dirname(path)}: not a directory, cannot archive {path}")
        try:
            is_dir = archiver.add(parts, excluded)
        except OSError as e:
            raise ArchiveError(f"{path}: cannot archive: {e.strerror or e}") from e
        if not is_dir:
            non_dirs.add(parts)
    return tar.close()


def write_aci(
    manifest: ImageManifest | bytes | str,
    rootfs_dir: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    compression: Compression | str = Compression.GZIP,
    mtime: int | None = None,
    only: Iterable[str | os.PathLike[str]] | None = None,
    xattrs: bool = True,
    progress: Progress = SILENT,
) -> str:
    """Write ``manifest`` and the tree ``rootfs_dir`` as an ACI at ``out_path``; return its ID.

    ``compression`` is ``gzip`` (default), ``xz``, ``bzip2`` or ``none``.  ``mtime`` pins
    every entry's modification time (otherwise files keep theirs and the manifest gets the
    rootfs directory's).  ``only`` restricts the tree to these paths relative to
    ``rootfs_dir`` (exactly those: a listed directory does not bring its contents), plus the
    directories above them.  A manifest given as bytes is written byte for byte after it
    was validated.
    """
    kind = Compression(compression)
    data = _manifest_bytes(manifest)
    rootfs = Path(rootfs_dir)
    try:
        rootfs_stat = rootfs.lstat()
    except OSError as e:
        raise ArchiveError(f"{rootfs}: cannot read: {e.strerror or e}") from e
    if not stat.S_ISDIR(rootfs_stat.st_mode):
        raise ArchiveError(f"{rootfs}: not a directory")
    try:
        paths = _tree(rootfs) if only is None else _selection(only)
    except OSError as e:
        raise ArchiveError(f"{e.filename}: cannot read: {e.strerror or e}") from e
    paths.sort(key=_sort_key)
    out = Path(out_path)
    progress.step(f"writing {out}")
    progress.total(None)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    except OSError as e:
        raise ArchiveError(f"{out}: cannot write: {e.strerror or e}") from e
    try:
        with open(fd, "wb") as raw:
            compressor = open_compressor(raw, kind)
            tar = _TarWriter(compressor, progress)
            try:
                image_id = _write_tar(
                    tar, _Archiver(rootfs, tar, mtime, xattrs), data, rootfs_stat, paths
                )
            except BaseException:
                with contextlib.suppress(Exception):  # the file is deleted anyway
                    compressor.close()
                raise
            compressor.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(out.parent)
    return image_id
