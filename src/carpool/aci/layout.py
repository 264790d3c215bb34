"""The ACI layout rules, checked entry by entry before anything touches the disk.

An ACI holds exactly a ``manifest`` file and a ``rootfs/`` tree (appc ``aci/layout.go``);
any other name, a ``..`` component, an absolute name, a duplicate, a hardlink to anything
but an earlier non-directory entry of the rootfs, or an entry below a symlink or a file
of the archive is refused.  These rules need no filesystem, so the same checker serves
extraction and plain validation; extraction adds symlink-proof file operations on top.

Like appc's ``ValidateArchive``, names are cleaned first, so ``./rootfs/x`` is fine and
the ``./`` entry ``tar -C dir -cf x.aci .`` writes is ignored.  Deliberately more lenient:
the ``rootfs`` directory entry itself may be missing (appc requires it; its children imply
it, and an image without any gets an empty rootfs).  Stricter: ``..``, absolute names and
paths through symlinks are refused rather than cleaned, a duplicate ``manifest`` is refused,
hardlinks must point at an earlier entry of the rootfs, and names, owners, times and link
targets must be ones Linux can store.
"""

from __future__ import annotations

import os

from carpool.aci.tarstream import EntryType, TarEntry
from carpool.errors import ArchiveError

MANIFEST = "manifest"
ROOTFS = "rootfs"
#: Longest entry name accepted, in bytes (Linux PATH_MAX).
MAX_NAME = 4096
#: Longest name component and symlink target Linux accepts (NAME_MAX, PATH_MAX - 1).
MAX_COMPONENT = 255
MAX_SYMLINK = 4095
_MAX_ID = 2**32 - 2  # (uid_t)-1 means "unchanged" to chown
_MTIME_RANGE = range(-(2**62), 2**62)

Parts = tuple[str, ...]


def split_name(name: str) -> Parts:
    """Components of an archive name; ``./`` and repeated slashes are dropped.

    Raises ValueError with the reason for absolute names, ``..`` components and NULs.
    """
    if "\x00" in name:
        raise ValueError("NUL byte in name")
    if name.startswith("/"):
        raise ValueError("absolute name")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME:
        raise ValueError(f"name longer than {MAX_NAME} bytes")
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in parts:
        raise ValueError("'..' in name")
    for part in parts:
        if len(part) > MAX_COMPONENT // 4 and len(os.fsencode(part)) > MAX_COMPONENT:
            raise ValueError(f"name component longer than {MAX_COMPONENT} bytes")
    return parts


class Layout:
    """Admits the entries of one archive in order, refusing any that break the layout."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._seen: set[Parts] = set()
        # Directories so far, listed or implied by deeper entries.  None of them is, or lies
        # below, a non-directory entry; so an entry whose parent is here needs no ancestor
        # check (most entries: archives list a directory's contents together).
        self._dirs: set[Parts] = {()}
        self._non_dirs: dict[Parts, EntryType] = {}
        self.has_manifest = False
        self.has_rootfs = False

    def _refuse(self, entry: TarEntry, why: str) -> ArchiveError:
        return ArchiveError(f"{self._source}: {entry.name}: {why}")

    def admit(self, entry: TarEntry) -> Parts | None:
        """The entry's components, None for a harmless ``./`` entry; raises ArchiveError."""
        try:
            parts = split_name(entry.name)
        except ValueError as e:
            raise self._refuse(entry, f"{e}, refused") from None
        is_dir = entry.type is EntryType.DIRECTORY
        if not parts:
            if not is_dir:
                raise self._refuse(entry, "not a valid entry name")
            return None  # the archive root ("./" from `tar -C dir .`): nothing to extract
        top = parts[0]
        if top == MANIFEST:
            if len(parts) != 1 or entry.type is not EntryType.FILE:
                raise self._refuse(entry, "manifest must be a regular file")
            self.has_manifest = True
        elif top == ROOTFS:
            if len(parts) == 1:
                if not is_dir:
                    raise self._refuse(entry, "rootfs is not a directory")
                self.has_rootfs = True
        else:
            raise self._refuse(entry, "outside of manifest and rootfs/, refused")
        if parts in self._seen:
            raise self._refuse(entry, "duplicate entry, refused")
        parent = parts[:-1]
        known_parent = parent in self._dirs
        if not known_parent:
            for depth in range(1, len(parts)):
                kind = self._non_dirs.get(parts[:depth])
                if kind is not None:
                    ancestor = "/".join(parts[:depth])
                    raise self._refuse(entry, f"path goes through {kind.value} {ancestor}, refused")
        if not is_dir and parts in self._dirs:
            raise self._refuse(entry, "replaces a directory of earlier entries, refused")
        self._check_fields(entry)
        if entry.type is EntryType.HARDLINK:
            self._check_hardlink(entry)
        self._seen.add(parts)
        if not known_parent:
            for depth in range(1, len(parts)):
                self._dirs.add(parts[:depth])
        if is_dir:
            self._dirs.add(parts)
        else:
            self._non_dirs[parts] = entry.type
        return parts

    def _check_fields(self, entry: TarEntry) -> None:
        """Values no file system can hold would only fail later, half way through."""
        if entry.type is EntryType.SYMLINK:
            target = entry.linkname
            if not target or "\x00" in target:
                raise self._refuse(entry, "symlink target is empty or contains NUL")
            if len(target) > MAX_SYMLINK // 4 and len(os.fsencode(target)) > MAX_SYMLINK:
                raise self._refuse(entry, f"symlink target longer than {MAX_SYMLINK} bytes")
        if not (0 <= entry.uid <= _MAX_ID and 0 <= entry.gid <= _MAX_ID):
            raise self._refuse(entry, f"owner {entry.uid}:{entry.gid} is out of range")
        if entry.mtime_ns not in _MTIME_RANGE:
            raise self._refuse(entry, "modification time is out of range")
        if not (0 <= entry.devmajor <= _MAX_ID and 0 <= entry.devminor <= _MAX_ID):
            raise self._refuse(entry, "device number is out of range")
        for key in entry.xattrs:
            if not key or "\x00" in key or len(key) > MAX_COMPONENT:
                raise self._refuse(entry, f"invalid xattr name {key!r}")

    def hardlink_target(self, entry: TarEntry) -> Parts:
        return split_name(entry.linkname)

    def _check_hardlink(self, entry: TarEntry) -> None:
        try:
            target = split_name(entry.linkname)
        except ValueError as e:
            raise self._refuse(entry, f"hardlink target {entry.linkname}: {e}, refused") from None
        if not target or target[0] != ROOTFS or len(target) == 1:
            raise self._refuse(entry, f"hardlink target {entry.linkname} is outside rootfs/")
        if target not in self._non_dirs:
            raise self._refuse(
                entry,
                f"hardlink target {entry.linkname} is not an earlier file of the archive",
            )
