"""Rendering an image with its dependencies into one rootfs tree (appc ace.md rules).

1. Layers are the dependencies depth-first in listed order, then the image itself:
   ``A -> [B, C], C -> [D]`` renders B, D, C, A.  A dependency shared by two branches is
   visited once per branch, as the spec says.
2. A later layer overrides an earlier one at the same path.  Only directories merge; any
   other entry, including a symlink to a directory, is replaced, never followed.
3. ``pathWhitelist``: a layer keeps a file only if every non-empty whitelist of the
   image itself and of the images above it on its branch lists it; directories survive
   when listed or when they lead to a listed path.

The merge is planned in memory first, so every surviving entry is written once: regular
files, symlinks and device nodes are hard-linked from the layers' extracted trees
(rendered trees are read-only lower dirs, so sharing inodes is safe and fast),
directories are created and then given the metadata of the topmost layer that has them.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from carpool.errors import StoreError


class PathFilter:
    """The ``pathWhitelist``s that apply to one layer (all must allow a path).

    This module's records are plain classes: :func:`flatten_dependencies` is on
    ``carpool run``'s path, where importing :mod:`dataclasses` costs ~14 ms and a
    ``NamedTuple`` compiles a forward reference per field.
    """

    __slots__ = ("whitelists",)

    def __init__(self, whitelists: tuple[frozenset[str], ...]) -> None:
        self.whitelists = whitelists

    @staticmethod
    def of(whitelists: Sequence[Sequence[str]]) -> PathFilter | None:
        sets = tuple(frozenset(_clean(p) for p in wl) for wl in whitelists if wl)
        return PathFilter(sets) if sets else None

    def keeps_file(self, path: str) -> bool:
        return all(path in wl for wl in self.whitelists)

    def keeps_dir(self, path: str) -> bool:
        prefix = path + "/"
        return all(path in wl or any(p.startswith(prefix) for p in wl) for wl in self.whitelists)


def _clean(path: str) -> str:
    path = "/" + "/".join(part for part in path.split("/") if part and part != ".")
    return path


class Layer:
    """One image's extracted rootfs, in render order, with the filters of its branch."""

    __slots__ = ("image_id", "rootfs", "whitelists")

    def __init__(
        self, image_id: str, rootfs: Path, whitelists: tuple[tuple[str, ...], ...]
    ) -> None:
        self.image_id = image_id
        self.rootfs = rootfs
        self.whitelists = whitelists

    def __repr__(self) -> str:
        return f"Layer({self.image_id!r}, {self.rootfs!r}, {self.whitelists!r})"

    @property
    def filter(self) -> PathFilter | None:
        return PathFilter.of(self.whitelists)


def flatten_dependencies(
    image_id: str,
    load: Callable[[str], tuple[Path, Sequence[str], list[str]]],
) -> list[Layer]:
    """The layers of ``image_id`` in render order.

    ``load(id)`` returns the image's extracted rootfs, its ``pathWhitelist`` and the
    IDs its dependencies resolve to (raising :class:`StoreError` for a missing one).
    """
    layers: list[Layer] = []

    def visit(current: str, above: tuple[tuple[str, ...], ...], path: tuple[str, ...]) -> None:
        if current in path:
            cycle = " -> ".join((*path, current))
            raise StoreError(f"image dependencies form a cycle: {cycle}")
        rootfs, whitelist, dependencies = load(current)
        whitelists = (*above, tuple(whitelist)) if whitelist else above
        for dependency in dependencies:
            visit(dependency, whitelists, (*path, current))
        layers.append(Layer(current, rootfs, whitelists))

    visit(image_id, (), ())
    return layers


class _Node:
    __slots__ = ("children", "src")

    def __init__(self, src: str, children: dict[str, _Node] | None) -> None:
        self.src = src
        self.children = children  # None for anything that is not a directory


def plan(layers: Sequence[Layer]) -> _Node:
    """Merge the layers in memory: the tree of entries that survive, with their sources."""
    root = _Node(str(layers[-1].rootfs), {})
    for layer in layers:
        keep = layer.filter
        stack: list[tuple[str, _Node, str]] = [(str(layer.rootfs), root, "")]
        while stack:
            directory, node, rel = stack.pop()
            children = node.children
            assert children is not None
            with os.scandir(directory) as entries:
                for entry in entries:
                    path = f"{rel}/{entry.name}"
                    if entry.is_dir(follow_symlinks=False):
                        if keep is not None and not keep.keeps_dir(path):
                            continue
                        child = children.get(entry.name)
                        if child is None or child.children is None:
                            child = children[entry.name] = _Node(entry.path, {})
                        else:
                            child.src = entry.path  # the upper layer's metadata wins
                        stack.append((entry.path, child, path))
                    elif keep is None or keep.keeps_file(path):
                        children[entry.name] = _Node(entry.path, None)
    return root


def materialize(root: _Node, dest: Path) -> int:
    """Write the planned tree into the empty directory ``dest``; returns the entry count."""
    as_root = os.geteuid() == 0
    directories: list[tuple[str, str]] = [(root.src, str(dest))]
    stack: list[tuple[_Node, str]] = [(root, str(dest))]
    count = 0
    while stack:
        node, target = stack.pop()
        assert node.children is not None
        for name, child in node.children.items():
            path = f"{target}/{name}"
            count += 1
            if child.children is not None:
                os.mkdir(path, 0o700)
                directories.append((child.src, path))
                stack.append((child, path))
            else:
                _link_or_copy(child.src, path)
    # children before parents, so that setting a directory's mtime is the last touch
    for src, path in reversed(directories):
        _copy_dir_metadata(src, path, as_root)
    return count


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EMLINK, errno.EPERM):
            raise
        _copy_entry(src, dst)


def _copy_entry(src: str, dst: str) -> None:
    st = os.lstat(src)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISREG(st.st_mode):
        import shutil

        shutil.copy2(src, dst, follow_symlinks=False)
    elif stat.S_ISFIFO(st.st_mode):
        os.mkfifo(dst, stat.S_IMODE(st.st_mode))
    else:
        os.mknod(dst, st.st_mode, st.st_rdev)
    if os.geteuid() == 0:
        os.lchown(dst, st.st_uid, st.st_gid)
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(dst, stat.S_IMODE(st.st_mode))  # chown clears setuid bits
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _copy_dir_metadata(src: str, dst: str, as_root: bool) -> None:
    st = os.lstat(src)
    if as_root:
        os.chown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, stat.S_IMODE(st.st_mode))
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        names = []
    for name in names:
        try:
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False))
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP):
                raise
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
