"""``image verify``: the deep check of the store, and its repair.

The blob is the source of truth.  Every blob is extracted afresh (which re-hashes it);
an intact blob keeps its image (files re-extracted when they differ from the archive,
index entry rebuilt when missing); a missing or corrupt blob takes its image with it.
Rendered trees are checked against their stamp and the images they were built from.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from carpool.errors import CarpoolError, StoreError
from carpool.locks import file_lock
from carpool.progress import Progress
from carpool.store import refs
from carpool.store.fsutil import remove_path, tree_fingerprint
from carpool.store.index import IndexEntry, read_index, write_index

if TYPE_CHECKING:
    from carpool.store.store import Store, VerifyReport


def verify_store(store: Store, progress: Progress) -> VerifyReport:
    from carpool.store.store import FINGERPRINT, STAMP, VerifyReport, tree_key

    layout = store.layout
    report = VerifyReport()
    act = report.actions.append
    for leftover in store._sweep_leftovers():
        act(f"removed leftover {leftover}")

    changed = False
    try:
        entries = read_index(layout.index)
    except StoreError as exc:
        act(f"index was unreadable ({exc.message.split(': ', 1)[-1]}): rebuilt from the blobs")
        entries, changed = {}, True

    blobs = sorted(os.listdir(layout.blobs))
    progress.step("verifying images")
    progress.total(len(blobs))
    intact: set[str] = set()
    replaced: set[str] = set()
    for name in blobs:
        progress.advance()
        blob = layout.blob(name)
        short = refs.short_id(name)
        if not _is_full_id(name):
            remove_path(blob, layout.trash)
            act(f"removed stray file cas/blobs/{name}")
            continue
        with store._workdir("verify-") as work:
            try:
                result = store._extract(blob, work / "image")
            except CarpoolError as exc:
                if _hash_or_none(blob) == name:  # the archive is fine: the trouble is here
                    raise StoreError(f"cannot verify image {short}: {exc}") from exc
                blob.unlink()
                act(f"image {short}: archive is unreadable ({exc}): removed")
                continue
            if str(result.image_id) != name:
                blob.unlink()
                act(f"image {short}: archive is corrupt (hashes to {result.image_id}): removed")
                continue
            fresh = work / "image"
            if not (fresh / "manifest").exists():
                (fresh / "manifest").write_bytes(result.manifest_bytes)
            current = layout.image_dir(name)
            difference = _first_difference(fresh, current, ("manifest", "rootfs"))
            if difference is not None:
                fingerprint, _ = tree_fingerprint(fresh / "rootfs")
                (fresh / FINGERPRINT).write_text(fingerprint + "\n")
                remove_path(current, layout.trash)
                os.rename(fresh, current)
                replaced.add(name)
                act(f"image {short}: {difference}: extracted again from its archive")
            else:
                fingerprint, _ = tree_fingerprint(current / "rootfs")
                recorded = _read_text(current / FINGERPRINT)
                if recorded != fingerprint:
                    (current / FINGERPRINT).write_text(fingerprint + "\n")
                    replaced.add(name)
                    act(f"image {short}: fingerprint of its files refreshed")
        intact.add(name)
        manifest = result.manifest
        expected = IndexEntry(
            name=str(manifest.name),
            labels={str(label.name): str(label.value) for label in manifest.labels},
            size=int(result.size),
            blob_size=blob.stat().st_size,
            imported_at=entries[name].imported_at if name in entries else blob.stat().st_mtime,
        )
        if name not in entries:
            act(f"image {short} ({expected.name}) was missing from the index: added")
            entries[name], changed = expected, True
        elif entries[name] != expected:
            act(f"image {short}: index entry did not match its manifest: corrected")
            entries[name], changed = expected, True

    for image_id in sorted(set(entries) - intact):
        act(f"image {refs.short_id(image_id)} ({entries[image_id].name}) had no archive: removed")
        del entries[image_id]
        changed = True
    for name in sorted(os.listdir(layout.images)):
        if name not in intact:
            remove_path(layout.image_dir(name), layout.trash)
            act(f"removed files of unknown image cas/images/{refs.short_id(name)}")
    if changed:
        with file_lock(layout.index_lock):
            write_index(layout.index, entries)

    progress.step("verifying rendered trees")
    for key, stamp in store._trees():
        tree = layout.tree_dir(key)
        problem = None
        if stamp is None:
            problem = "unfinished or unreadable stamp"
        elif not set(stamp.layers) <= intact or stamp.image not in intact:
            problem = "built from images no longer stored"
        elif set(stamp.layers) & replaced:
            problem = "built from damaged image files"
        elif key != tree_key(stamp.layers):
            problem = "stamp does not match its name"
        else:
            try:
                fingerprint, count = tree_fingerprint(tree / "rootfs")
            except OSError:
                fingerprint, count = "", -1
            if (fingerprint, count) != (stamp.fingerprint, stamp.entries):
                problem = "changed on disk"
            elif not (tree / "manifest").is_file() or not (tree / STAMP).is_file():
                problem = "incomplete"
        if problem is None:
            report.trees += 1
            continue
        remove_path(tree, layout.trash)
        act(f"rendered tree {key[:24]}: {problem}: removed (rendered again on next use)")
    store._remove_stale_tree_locks()
    report.images = len(intact)
    return report


def _hash_or_none(blob: Path) -> str | None:
    from carpool.aci import image_id_of

    try:
        return image_id_of(blob)
    except CarpoolError:
        return None


def _is_full_id(name: str) -> bool:
    digits = name[len(refs.ID_PREFIX) :]
    return (
        name.startswith(refs.ID_PREFIX)
        and len(name) == refs.FULL_ID_LENGTH
        and all(c in "0123456789abcdef" for c in digits)
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _first_difference(expected: Path, actual: Path, names: tuple[str, ...]) -> str | None:
    """The first way ``actual`` differs from ``expected`` (type, metadata, content)."""
    stack: list[tuple[str, tuple[str, ...] | None]] = [("", names)]
    while stack:
        rel, only = stack.pop()
        want_dir, have_dir = expected / rel, actual / rel
        try:
            want = sorted(only) if only is not None else sorted(os.listdir(want_dir))
            have = sorted(only) if only is not None else sorted(os.listdir(have_dir))
        except OSError:
            return f"{rel or '.'} is missing"
        if want != have:
            extra = sorted(set(have) - set(want))
            lost = sorted(set(want) - set(have))
            if lost:
                return f"{_join(rel, lost[0])} is missing"
            return f"{_join(rel, extra[0])} is not in the archive"
        for name in want:
            path = _join(rel, name)
            try:
                a = os.lstat(expected / path)
                b = os.lstat(actual / path)
            except FileNotFoundError:
                return f"{path} is missing"
            if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode):
                return f"{path} changed type"
            if (a.st_mode, a.st_uid, a.st_gid) != (b.st_mode, b.st_uid, b.st_gid):
                return f"{path} changed mode or owner"
            if stat.S_ISDIR(a.st_mode):
                stack.append((path, None))
                continue
            if a.st_mtime_ns != b.st_mtime_ns or a.st_size != b.st_size:
                return f"{path} changed size or mtime"
            if stat.S_ISLNK(a.st_mode):
                if os.readlink(expected / path) != os.readlink(actual / path):
                    return f"{path} points elsewhere"
            elif stat.S_ISREG(a.st_mode):
                if not _same_content(expected / path, actual / path):
                    return f"{path} changed content"
            elif a.st_rdev != b.st_rdev:
                return f"{path} changed device number"
    return None


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


def _same_content(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            chunk_a = fa.read(1 << 20)
            if chunk_a != fb.read(1 << 20):
                return False
            if not chunk_a:
                return True
