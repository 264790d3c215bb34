"""Safe extraction of an ACI into a directory, computing its image ID on the way.

Nothing outside the destination is ever written, whatever the archive says:

* entry names are checked against the ACI layout first (:mod:`carpool.aci.layout`);
* every file system operation is relative to a directory file descriptor opened with
  ``O_NOFOLLOW``, one path component at a time, and creates with ``O_EXCL``/``mkdir``/
  ``symlink``/``link``, which never follow or replace anything -- so even a symlink swapped
  in by someone else cannot redirect a write;
* the archive is extracted into a private temporary directory next to the destination and
  renamed into place only when the whole archive (end marker, manifest, digest) checked
  out; on any failure the temporary directory is removed and the destination is untouched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from carpool.aci.compression import Compression, open_decompressed
from carpool.aci.layout import MANIFEST, ROOTFS, Layout, Parts
from carpool.aci.manifest import MAX_MANIFEST_SIZE, parse_manifest
from carpool.aci.scan import ImageInfo
from carpool.aci.source import Source, check_expected_id, open_source, source_name
from carpool.aci.tarstream import EntryType, TarEntry, TarReader
from carpool.appc import ImageManifest
from carpool.errors import ArchiveError
from carpool.progress import SILENT, Progress

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_NODE_FORMATS = {
    EntryType.CHARDEV: stat.S_IFCHR,
    EntryType.BLOCKDEV: stat.S_IFBLK,
    EntryType.FIFO: stat.S_IFIFO,
}
#: xattr failures that mean "this file system or these privileges cannot hold it".
_XATTR_UNSUPPORTED = frozenset({errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM})
_MAX_WARNINGS = 20


@dataclass(frozen=True)
class ExtractResult(ImageInfo):
    """What :func:`inspect_image` would have said of the archive, plus what extraction
    could not apply here (``warnings``, e.g. xattrs the file system refuses)."""

    warnings: tuple[str, ...] = ()


class _Tree:
    """Directory descriptors below one root, opened component by component without ever
    following a symlink.  A few stay open (least recently used first out) because tar
    entries of one directory usually come together."""

    _KEEP_OPEN = 64

    def __init__(self, root_fd: int) -> None:
        self._root = root_fd
        self._open: OrderedDict[Parts, int] = OrderedDict()

    def dir_fd(self, parts: Parts, *, create: bool) -> int:
        """The descriptor of directory ``parts``, valid until the next call.

        With ``create``, missing directories are made (mode 0755, like ``tar -x`` does for
        parents the archive does not list).  A symlink or file on the way raises ELOOP or
        ENOTDIR.
        """
        if not parts:
            return self._root
        fd = self._open.get(parts)
        if fd is not None:
            self._open.move_to_end(parts)
            return fd
        depth = len(parts) - 1
        while depth and parts[:depth] not in self._open:
            depth -= 1
        fd = self._open[parts[:depth]] if depth else self._root
        for index in range(depth, len(parts)):
            name = parts[index]
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(name, 0o755, dir_fd=fd)
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            self._open[parts[: index + 1]] = child
            if len(self._open) > self._KEEP_OPEN:
                os.close(self._open.popitem(last=False)[1])
            fd = child
        return fd

    def close(self) -> None:
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class _Extraction:
    """One archive going into one (temporary) directory."""

    def __init__(
        self,
        name: str,
        root_fd: int,
        *,
        max_size: int | None,
        same_owner: bool,
        allow_devices: bool,
        xattrs: bool,
        progress: Progress,
    ) -> None:
        self.name = name
        self.tree = _Tree(root_fd)
        self.max_size = max_size
        self.same_owner = same_owner
        self.allow_devices = allow_devices
        self.xattrs = xattrs
        self.progress = progress
        self.layout = Layout(name)
        self.dirs: list[tuple[Parts, TarEntry]] = []
        self.warnings: list[str] = []
        self.manifest: ImageManifest | None = None
        self.manifest_bytes = b""
        self.owner = (os.geteuid(), os.getegid())
        self.umask = _current_umask()
        self.reader: TarReader | None = None

    def run(self, stream: BinaryIO, expected_id: str | None) -> ExtractResult:
        decompressed, compression = open_decompressed(stream, self.name)
        reader = self.reader = TarReader(
            decompressed,
            source=self.name,
            max_size=self.max_size,
            progress=self.progress,
            read_ahead=True,
        )
        try:
            return self._run(reader, compression, expected_id)
        finally:
            reader.close()

    def _run(
        self, reader: TarReader, compression: Compression, expected_id: str | None
    ) -> ExtractResult:
        entries = 0
        while (entry := reader.next_entry()) is not None:
            parts = self.layout.admit(entry)
            if parts is None:
                continue
            entries += 1
            try:
                self._extract(entry, parts)
            except OSError as e:
                raise self._os_error(entry, e) from e
            except (ValueError, OverflowError) as e:
                raise ArchiveError(f"{self.name}: {entry.name}: cannot extract: {e}") from e
        if self.manifest is None:
            raise ArchiveError(f"{self.name}: no manifest in the archive")
        reader.finish()
        check_expected_id(reader.image_id, expected_id, self.name)
        try:
            self.tree.dir_fd((ROOTFS,), create=True)  # an image may have an empty rootfs
            # deepest first, so a read-only directory never blocks its children
            for parts, entry in sorted(self.dirs, key=lambda item: -len(item[0])):
                self._set_fd_metadata(self.tree.dir_fd(parts, create=False), entry)
        except OSError as e:
            raise ArchiveError(f"{self.name}: cannot set directory metadata: {e}") from e
        assert self.manifest is not None
        return ExtractResult(
            image_id=reader.image_id,
            manifest=self.manifest,
            manifest_bytes=self.manifest_bytes,
            size=reader.size,
            entries=entries,
            compression=compression,
            warnings=tuple(self.warnings),
        )

    def _os_error(self, entry: TarEntry, e: OSError) -> ArchiveError:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            why = "path goes through a symlink or a non-directory, refused"
        elif e.errno == errno.EEXIST:
            why = "path already exists in the archive, refused"
        else:
            why = f"cannot extract: {e.strerror or e}"
        return ArchiveError(f"{self.name}: {entry.name}: {why}")

    # -- entries ---------------------------------------------------------------------

    def _extract(self, entry: TarEntry, parts: Parts) -> None:
        assert self.reader is not None
        kind = entry.type
        if kind is EntryType.FILE:
            data = None
            if parts == (MANIFEST,):
                data = self.reader.read_data(MAX_MANIFEST_SIZE, f"{self.name}: manifest")
                self.manifest = parse_manifest(data, self.name)
                self.manifest_bytes = data
            parent = self.tree.dir_fd(parts[:-1], create=True)
            fd = os.open(parts[-1], _CREATE_FLAGS, entry.mode & 0o777, dir_fd=parent)
            try:
                if data is not None:
                    _write_all(fd, data)
                else:
                    self.reader.write_data(fd)
                self._set_fd_metadata(fd, entry, created_with_mode=True)
            finally:
                os.close(fd)
        elif kind is EntryType.DIRECTORY:
            parent = self.tree.dir_fd(parts[:-1], create=True)
            # it may exist already as a parent of earlier entries; checked just below
            with contextlib.suppress(FileExistsError):
                os.mkdir(parts[-1], 0o700, dir_fd=parent)
            self.tree.dir_fd(parts, create=False)
            self.dirs.append((parts, entry))
        elif kind is EntryType.SYMLINK:
            parent = self.tree.dir_fd(parts[:-1], create=True)
            os.symlink(entry.linkname, parts[-1], dir_fd=parent)
            self._set_path_metadata(parent, parts[-1], entry, chmod=False)
        elif kind is EntryType.HARDLINK:
            target = self.layout.hardlink_target(entry)
            source_dir = os.dup(self.tree.dir_fd(target[:-1], create=False))
            try:
                parent = self.tree.dir_fd(parts[:-1], create=True)
                os.link(
                    target[-1],
                    parts[-1],
                    src_dir_fd=source_dir,
                    dst_dir_fd=parent,
                    follow_symlinks=False,
                )
            finally:
                os.close(source_dir)
        else:
            if not self.allow_devices:
                raise ArchiveError(
                    f"{self.name}: {entry.name}: {kind.value} refused (only root may create one)"
                )
            parent = self.tree.dir_fd(parts[:-1], create=True)
            device = os.makedev(entry.devmajor, entry.devminor)
            os.mknod(parts[-1], _NODE_FORMATS[kind] | 0o600, device, dir_fd=parent)
            self._set_path_metadata(parent, parts[-1], entry, chmod=True)

    # -- metadata --------------------------------------------------------------------

    def _set_fd_metadata(
        self, fd: int, entry: TarEntry, *, created_with_mode: bool = False
    ) -> None:
        # Everything here was made by this process in directories without setgid bits, so
        # it belongs to our euid/egid and needs no chown when the archive says the same;
        # a file created with its mode needs no chmod when the umask took nothing away
        # (setuid/setgid/sticky bits are always set explicitly, after writing).
        # chown comes first: it clears setuid/setgid bits and file capabilities.
        if self.same_owner and (entry.uid, entry.gid) != self.owner:
            os.fchown(fd, entry.uid, entry.gid)
        if not (
            created_with_mode and self.umask is not None and not entry.mode & (0o7000 | self.umask)
        ):
            os.fchmod(fd, entry.mode)
        if self.xattrs:
            for key, value in entry.xattrs.items():
                self._setxattr(fd, key, value, entry)
        os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))

    def _set_path_metadata(self, parent: int, name: str, entry: TarEntry, *, chmod: bool) -> None:
        """For symlinks and device nodes, which cannot be opened safely."""
        if self.same_owner:
            os.chown(name, entry.uid, entry.gid, dir_fd=parent, follow_symlinks=False)
        if chmod:  # a node we just made with mknod in our private directory, not a symlink
            os.chmod(name, entry.mode, dir_fd=parent)
        if self.xattrs and entry.xattrs:
            path = f"/proc/self/fd/{parent}/{name}"
            for key, value in entry.xattrs.items():
                self._setxattr(path, key, value, entry)
        os.utime(name, ns=(entry.mtime_ns, entry.mtime_ns), dir_fd=parent, follow_symlinks=False)

    def _setxattr(self, target: int | str, key: str, value: bytes, entry: TarEntry) -> None:
        try:
            if isinstance(target, int):
                os.setxattr(target, key, value)
            else:
                os.setxattr(target, key, value, follow_symlinks=False)
        except OSError as e:
            if e.errno not in _XATTR_UNSUPPORTED:
                raise
            if len(self.warnings) < _MAX_WARNINGS:
                self.warnings.append(f"{entry.name}: xattr {key} not restored: {e.strerror}")


def _current_umask() -> int | None:
    """The process umask, read without changing it (``os.umask`` can only set it)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _check_destination(dest: Path) -> None:
    try:
        st = dest.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode) and not any(os.scandir(dest)):
        return  # an empty directory is replaced atomically by the rename
    raise ArchiveError(f"{dest}: already exists")


def extract_image(
    source: Source,
    dest_dir: str | os.PathLike[str],
    *,
    max_size: int | None = None,
    expected_id: str | None = None,
    same_owner: bool | None = None,
    allow_devices: bool | None = None,
    xattrs: bool = True,
    name: str | None = None,
    progress: Progress = SILENT,
) -> ExtractResult:
    """Extract an ACI (path or binary stream) to ``dest_dir/manifest`` + ``dest_dir/rootfs``.

    ``dest_dir`` must not exist (or be an empty directory); it appears complete or not at
    all.  The image ID is computed while reading, in the one pass.  Options:

    * ``max_size``: refuse archives whose uncompressed tar exceeds this many bytes;
    * ``expected_id``: refuse an archive with another image ID (full or rkt's 64-digit key);
    * ``same_owner``: chown to the archive's numeric owners (default: when running as root);
    * ``allow_devices``: create device nodes and FIFOs (default: when running as root);
    * ``xattrs``: restore extended attributes; ones this file system or these privileges
      cannot hold become :attr:`ExtractResult.warnings`;
    * ``name``: how error messages call the source (default: its path or stream name).

    Raises :class:`ArchiveError` for anything unreadable, corrupt or hostile.
    """
    dest = Path(dest_dir)
    label = source_name(source, name)
    is_root = os.geteuid() == 0
    _check_destination(dest)
    progress.step(f"extracting {label}")
    progress.total(None)
    with open_source(source, label) as stream:
        try:
            tmp = tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
        except OSError as e:
            raise ArchiveError(f"{dest}: cannot extract there: {e.strerror or e}") from e
        try:
            root_fd = os.open(tmp, _DIR_FLAGS)
            os.fchmod(root_fd, 0o700)  # drops a setgid bit inherited from dest's parent
            extraction = _Extraction(
                label,
                root_fd,
                max_size=max_size,
                same_owner=is_root if same_owner is None else same_owner,
                allow_devices=is_root if allow_devices is None else allow_devices,
                xattrs=xattrs,
                progress=progress,
            )
            try:
                result = extraction.run(stream, expected_id)
                os.fchmod(root_fd, 0o755)
            finally:
                extraction.tree.close()
                os.close(root_fd)
            try:
                os.rename(tmp, dest)
            except OSError as e:
                raise ArchiveError(f"{dest}: cannot move into place: {e.strerror or e}") from e
        except BaseException:
            _remove_tree(tmp)
            raise
    return result


def _remove_tree(path: str) -> None:
    """Remove a partial extraction, even one whose directories were made read-only."""
    if os.geteuid() != 0:  # root ignores permission bits; others first make dirs writable
        with contextlib.suppress(OSError):
            for _dirpath, dirnames, _files, dirfd in os.fwalk(path):
                os.fchmod(dirfd, 0o700)
                for child in dirnames:  # fwalk lists real directories only, never symlinks
                    with contextlib.suppress(OSError):
                        os.chmod(child, 0o700, dir_fd=dirfd)
    shutil.rmtree(path, ignore_errors=True)
