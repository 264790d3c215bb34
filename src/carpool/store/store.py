"""The content-addressed image store: import, resolve, render, export, remove.

Crash safety rests on three rules:

* everything is built under ``cas/tmp/`` and renamed into place;
* an import places the image's files, then its blob, then its index entry; a removal
  deletes the blob first.  So after a crash the blob says whether the image exists, and
  ``verify`` completes the interrupted import or removal accordingly;
* imports and renders hold the store lock shared; ``rm``, ``gc`` and ``verify`` hold it
  exclusively, so they never sweep away another process's work in progress.

Only the index is fsync-ed: a killed process loses nothing the page cache holds, and
after a power cut ``verify`` re-hashes every blob and drops or repairs what was lost.

``carpool run`` imports this module to resolve an image and its rendered tree, so what
only imports, renders, exports or collects garbage imports its modules (shutil,
tempfile, subprocess, threading, the renderer) where it needs them, and the records are
plain classes rather than dataclasses (whose import alone costs ~14 ms) or NamedTuples
(which compile a forward reference per field).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from carpool.digests import sha512
from carpool.errors import AmbiguousImageError, ImageNotFoundError, StoreError, UsageError
from carpool.fsutil import atomic_write_bytes, ensure_replaceable
from carpool.locks import file_lock
from carpool.log import get_logger
from carpool.progress import SILENT, Progress
from carpool.store import refs
from carpool.store.fsutil import remove_path, remove_tree, tree_fingerprint
from carpool.store.index import IndexEntry, read_index, write_index
from carpool.store.layout import StoreLayout

if TYPE_CHECKING:
    from carpool.aci import ExtractResult
    from carpool.appc import ImageManifest
    from carpool.store.render import Layer

log = get_logger(__name__)

STAMP = "stamp.json"
FINGERPRINT = "fingerprint"


class MissingDependencyError(StoreError):
    """An image depends on an image that is not in the store."""


class ImageRecord:
    """One image in the store, as ``image list`` shows it."""

    def __init__(
        self,
        id: str,
        name: str,
        labels: dict[str, str],
        size: int,
        blob_size: int,
        imported_at: float,
        manifest_path: Path,
    ) -> None:
        self.id = id
        self.name = name
        self.labels = labels
        self.size = size
        self.blob_size = blob_size
        self.imported_at = imported_at
        self.manifest_path = manifest_path

    def __repr__(self) -> str:
        return f"ImageRecord(id={self.id!r}, name={self.name!r}, labels={self.labels!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageRecord):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def _key(self) -> tuple[Any, ...]:
        return (self.id, self.name, self.labels, self.size, self.blob_size, self.imported_at)

    @property
    def version(self) -> str | None:
        return self.labels.get("version")

    @cached_property
    def raw_manifest(self) -> dict[str, Any]:
        """The manifest's JSON as imported (validated then), without building models."""
        data = json.loads(self.manifest_path.read_bytes())
        if not isinstance(data, dict):
            raise StoreError(f"{self.manifest_path}: not a JSON object; run 'image verify'")
        return data

    @cached_property
    def manifest(self) -> ImageManifest:
        from carpool.appc import ImageManifest

        return ImageManifest.from_json(
            self.manifest_path.read_bytes(), source=str(self.manifest_path)
        )

    @property
    def short_id(self) -> str:
        return refs.short_id(self.id)


class DependencyRef:
    """One ``dependencies[]`` entry of a manifest validated at import time."""

    __slots__ = ("image_id", "image_name", "labels")

    def __init__(self, image_name: str, image_id: str | None, labels: dict[str, str]) -> None:
        self.image_name = image_name
        self.image_id = image_id
        self.labels = labels

    @staticmethod
    def from_json(data: dict[str, Any]) -> DependencyRef:
        return DependencyRef(
            image_name=str(data["imageName"]),
            image_id=str(data["imageID"]) if data.get("imageID") else None,
            labels={str(x["name"]): str(x["value"]) for x in data.get("labels") or []},
        )


class TreeStamp:
    """What a rendered tree was made from, and its fingerprint when it was finished."""

    __slots__ = ("entries", "fingerprint", "image", "layers")

    def __init__(self, image: str, layers: list[str], fingerprint: str, entries: int) -> None:
        self.image = image
        self.layers = layers
        self.fingerprint = fingerprint
        self.entries = entries

    @staticmethod
    def load(path: Path) -> TreeStamp | None:
        try:
            data = json.loads(path.read_bytes())
            return TreeStamp(
                image=str(data["image"]),
                layers=[str(x) for x in data["layers"]],
                fingerprint=str(data["fingerprint"]),
                entries=int(data["entries"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def dump(self) -> bytes:
        data = {
            "image": self.image,
            "layers": self.layers,
            "fingerprint": self.fingerprint,
            "entries": self.entries,
        }
        return json.dumps(data, indent=1).encode() + b"\n"


def _newest_match(entries: dict[str, IndexEntry], wanted: refs.NameReference) -> str | None:
    """The most recently imported image a name reference matches (rkt's rule), if any."""
    matches = [
        (entry.imported_at, image_id)
        for image_id, entry in entries.items()
        if wanted.matches(entry.name, entry.labels)
    ]
    return max(matches)[1] if matches else None


def _complete_image_dir(image: Path, result: ExtractResult) -> None:
    """Give a fresh extraction what ``cas/images/<id>`` holds besides the archive's files:
    the manifest (if the archive's was not written as a file) and the rootfs fingerprint
    that tells later whether the files were changed on disk."""
    if not (image / "manifest").exists():
        atomic_write_bytes(image / "manifest", result.manifest_bytes)
    fingerprint, _ = tree_fingerprint(image / "rootfs")
    (image / FINGERPRINT).write_text(fingerprint + "\n")


def tree_key(layers: Iterable[str]) -> str:
    """rkt's tree-store ID: a hash over the comma-joined layer IDs, in render order."""
    digest = sha512(",".join(layers).encode()).hexdigest()
    return f"deps-sha512-{digest[:64]}"


class Store:
    """The image store in ``data_dir`` (created on first write)."""

    def __init__(self, data_dir: Path | str) -> None:
        self.layout = StoreLayout(Path(data_dir))

    # ----------------------------------------------------------------- locking
    @contextmanager
    def _shared(self) -> Iterator[None]:
        if not os.path.isdir(self.layout.locks):  # made last: the others exist too
            self.layout.create()  # (one stat instead of six mkdirs on every carpool run)
        with file_lock(self.layout.store_lock, shared=True):
            yield

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the whole store: no import or render runs meanwhile."""
        self.layout.create()
        with file_lock(self.layout.store_lock):
            yield

    def _index(self) -> dict[str, IndexEntry]:
        return read_index(self.layout.index)

    # ------------------------------------------------------------------ import
    def import_aci(
        self, source: Path | str | BinaryIO, *, progress: Progress = SILENT
    ) -> ImageRecord:
        """Import an ACI (a file path or a binary stream); returns the stored image.

        Importing an image that is already stored changes nothing (and two processes
        importing the same image at once leave one copy).
        """
        if isinstance(source, (str, os.PathLike)):
            return self._import_path(Path(source), owned=False, progress=progress)
        from carpool.store.streams import TeeReader

        with self._shared(), self._workdir("import-") as work:
            blob = work / "blob"
            with open(blob, "wb") as copy:
                reader = TeeReader(source, copy)
                result = self._extract(reader, work / "image", progress=progress)
                reader.drain()
            return self._commit(result, blob, work / "image", reader.consumed)

    def import_downloaded(self, path: Path, *, progress: Progress = SILENT) -> ImageRecord:
        """Import a file in a :meth:`workspace`, moving it into place as the blob."""
        return self._import_path(path, owned=True, progress=progress)

    @contextmanager
    def workspace(self, prefix: str) -> Iterator[Path]:
        """A scratch dir in the store (same filesystem), safe from gc while it exists."""
        with self._shared(), self._workdir(prefix) as work:
            yield work

    def _import_path(self, path: Path, *, owned: bool, progress: Progress) -> ImageRecord:
        if not path.is_file():
            raise StoreError(f"{path}: no such file")
        with self._shared(), self._workdir("import-") as work:
            blob = work / "blob"
            copier: _BackgroundCopy | None = None
            if owned:
                os.rename(path, blob)
                source = blob
            else:  # the kernel copies the archive while this thread extracts it
                copier = _BackgroundCopy(path, blob)
                source = path
            try:
                result = self._extract(source, work / "image", progress=progress, name=str(path))
            finally:
                if copier is not None:
                    copier.join()
            return self._commit(result, blob, work / "image", blob.stat().st_size)

    def _extract(
        self,
        source: Path | BinaryIO,
        dest: Path,
        *,
        progress: Progress = SILENT,
        name: str | None = None,
    ) -> ExtractResult:
        from carpool.aci import extract_image

        return extract_image(source, dest, progress=progress, name=name)

    def _commit(
        self, result: ExtractResult, blob: Path, image: Path, blob_size: int
    ) -> ImageRecord:
        image_id = str(result.image_id)
        _complete_image_dir(image, result)
        with file_lock(self.layout.index_lock):
            entries = self._index()
            final_blob = self.layout.blob(image_id)
            final_image = self.layout.image_dir(image_id)
            if image_id in entries and final_blob.exists() and final_image.is_dir():
                return self._record(image_id, entries[image_id])
            remove_path(final_image, self.layout.trash)  # leftover of a crashed import
            os.rename(image, final_image)
            os.rename(blob, final_blob)
            manifest = result.manifest
            entries[image_id] = IndexEntry(
                name=str(manifest.name),
                labels={str(label.name): str(label.value) for label in manifest.labels},
                size=int(result.size),
                blob_size=blob_size,
                imported_at=time.time(),
            )
            write_index(self.layout.index, entries)
            return self._record(image_id, entries[image_id])

    @contextmanager
    def _workdir(self, prefix: str) -> Iterator[Path]:
        import tempfile

        self.layout.tmp.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=prefix, dir=self.layout.tmp))
        try:
            yield work
        finally:
            remove_tree(work)

    # ----------------------------------------------------------------- lookup
    def _record(self, image_id: str, entry: IndexEntry) -> ImageRecord:
        return ImageRecord(
            id=image_id,
            name=entry.name,
            labels=dict(entry.labels),
            size=entry.size,
            blob_size=entry.blob_size,
            imported_at=entry.imported_at,
            manifest_path=self.layout.image_dir(image_id) / "manifest",
        )

    def images(self) -> list[ImageRecord]:
        """Every image, oldest import first."""
        entries = self._index()
        records = [self._record(i, e) for i, e in entries.items()]
        return sorted(records, key=lambda r: (r.imported_at, r.id))

    def get(self, image_id: str) -> ImageRecord:
        entry = self._index().get(image_id)
        if entry is None:
            raise ImageNotFoundError(f"image {image_id} is not in the store")
        return self._record(image_id, entry)

    def resolve(self, ref: str) -> ImageRecord:
        """The image ``ref`` designates: an ID prefix, or a name with labels.

        ``name:1.0`` means ``name,version=1.0``; when several images match a name the
        newest import wins; an ID prefix matching several images is an error.
        """
        entries = self._index()
        if refs.is_id_reference(ref):
            prefix = refs.normalize_id_prefix(ref)
            found = sorted(i for i in entries if i.startswith(prefix))
            if not found:
                raise ImageNotFoundError(f"no image with ID {ref} in the store")
            if len(found) > 1:
                listed = ", ".join(refs.short_id(i) for i in found)
                raise AmbiguousImageError(f"image ID {ref} is ambiguous: {listed}")
            return self._record(found[0], entries[found[0]])
        wanted = refs.parse_name_reference(ref)
        image_id = _newest_match(entries, wanted)
        if image_id is None:
            raise ImageNotFoundError(f"no image {wanted} in the store")
        return self._record(image_id, entries[image_id])

    def manifest(self, image_id: str) -> ImageManifest:
        return self.get(image_id).manifest

    def manifest_bytes(self, image_id: str) -> bytes:
        self.get(image_id)
        return (self.layout.image_dir(image_id) / "manifest").read_bytes()

    # ----------------------------------------------------------------- render
    def layers(self, image_id: str) -> list[Layer]:
        """The image and its dependencies, resolved from the store, in render order."""
        entries = self._index()
        if image_id not in entries:
            raise ImageNotFoundError(f"image {image_id} is not in the store")

        def load(current: str) -> tuple[Path, list[str], list[str]]:
            record = self._record(current, entries[current])
            # The manifest was validated at import; walking dependencies only needs its
            # raw JSON, which keeps pydantic off ``carpool run``'s start-up path.
            manifest = record.raw_manifest
            dependencies = [
                self._resolve_dependency(entries, record, DependencyRef.from_json(dependency))
                for dependency in manifest.get("dependencies") or []
            ]
            whitelist = [str(p) for p in manifest.get("pathWhitelist") or []]
            return self.layout.image_dir(current) / "rootfs", whitelist, dependencies

        from carpool.store.render import flatten_dependencies

        return flatten_dependencies(image_id, load)

    def _resolve_dependency(
        self, entries: dict[str, IndexEntry], parent: ImageRecord, dependency: DependencyRef
    ) -> str:
        name = dependency.image_name
        wanted = refs.NameReference(name, dependency.labels)
        if dependency.image_id:
            image_id = str(dependency.image_id)
            found = [i for i in entries if i.startswith(image_id)]
            if len(found) > 1:
                raise AmbiguousImageError(
                    f"dependency {wanted} of {parent.name}: imageID {image_id} is ambiguous"
                )
            if found:
                if entries[found[0]].name != name:
                    raise StoreError(
                        f"dependency {wanted} of {parent.name}: image {refs.short_id(found[0])}"
                        f" is named {entries[found[0]].name}"
                    )
                return found[0]
            raise MissingDependencyError(
                f"dependency {wanted} (imageID {image_id}) of {parent.name} is not in the "
                "store; fetch it first"
            )
        found_id = _newest_match(entries, wanted)
        if found_id is None:
            raise MissingDependencyError(
                f"dependency {wanted} of {parent.name} is not in the store; fetch it first"
            )
        return found_id

    def render_tree(self, image_id: str, *, progress: Progress = SILENT) -> Path:
        """The rootfs of ``image_id`` rendered with its dependencies (read-only: share it).

        A tree is rendered once per distinct layer list and reused while its
        fingerprint still matches; a tree changed on disk is rendered again.
        """
        with self._shared():
            layers = self.layers(image_id)
            key = tree_key(layer.image_id for layer in layers)
            tree = self.layout.tree_dir(key)
            with file_lock(self.layout.tree_lock(key)):
                stamp = TreeStamp.load(tree / STAMP)
                if stamp is not None:
                    if self._tree_intact(tree, stamp):
                        os.utime(tree / STAMP)  # last use, for gc
                        return tree / "rootfs"
                    log.warning("rendered tree %s changed on disk; rendering it again", key)
                if tree.exists():
                    remove_path(tree, self.layout.trash)
                progress.step(f"rendering {self.get(image_id).name}")
                for layer in layers:
                    self._check_image_files(layer.image_id)
                self._render(image_id, layers, tree)
                return tree / "rootfs"

    @staticmethod
    def _tree_intact(tree: Path, stamp: TreeStamp) -> bool:
        try:
            fingerprint, entries = tree_fingerprint(tree / "rootfs")
        except OSError:
            return False
        return fingerprint == stamp.fingerprint and entries == stamp.entries

    def _check_image_files(self, image_id: str) -> None:
        """Re-extract an image's files from its blob when their fingerprint changed."""
        image = self.layout.image_dir(image_id)
        try:
            recorded = (image / FINGERPRINT).read_text().strip()
            current, _ = tree_fingerprint(image / "rootfs")
        except OSError:
            recorded, current = "", "missing"
        if recorded != current:
            log.warning("files of image %s changed on disk; extracting them again", image_id)
            self._reextract(image_id)

    def _reextract(self, image_id: str) -> ExtractResult:
        """Replace ``cas/images/<id>`` with a fresh extraction of the blob."""
        with self._workdir("extract-") as work:
            result = self._extract(self.layout.blob(image_id), work / "image")
            if str(result.image_id) != image_id:
                raise StoreError(
                    f"blob of image {image_id} is corrupt (it hashes to {result.image_id}); "
                    "run 'carpool image verify'"
                )
            fresh = work / "image"
            _complete_image_dir(fresh, result)
            remove_path(self.layout.image_dir(image_id), self.layout.trash)
            os.rename(fresh, self.layout.image_dir(image_id))
            return result

    def _render(self, image_id: str, layers: list[Layer], tree: Path) -> None:
        import shutil

        from carpool.store.render import materialize, plan

        with self._workdir("render-") as work:
            if len(layers) == 1 and layers[0].filter is None:
                # one layer kept whole: GNU cp links the tree several times faster
                _copy_tree(layers[0].rootfs, work / "rootfs", hardlink=True)
            else:
                (work / "rootfs").mkdir()
                materialize(plan(layers), work / "rootfs")
            shutil.copyfile(self.layout.image_dir(image_id) / "manifest", work / "manifest")
            fingerprint, entries = tree_fingerprint(work / "rootfs")
            stamp = TreeStamp(image_id, [layer.image_id for layer in layers], fingerprint, entries)
            (work / STAMP).write_bytes(stamp.dump())
            os.rename(work, tree)

    # --------------------------------------------------------- copies out
    def extract(
        self, image_id: str, dest: Path, *, rootfs_only: bool = False, overwrite: bool = False
    ) -> None:
        """Write the image's own files (``manifest`` + ``rootfs/``, or the rootfs) to ``dest``.

        ``dest`` must not exist or be an empty directory (any directory with
        ``overwrite``, replaced once the new files are complete).  The files come from the blob,
        so they are exactly what the archive holds.
        """
        self.get(image_id)
        _check_destination(dest, overwrite)
        with self._shared(), _staging(dest) as staging:  # shared: rm waits for the copy
            self._extract(self.layout.blob(image_id), staging / "image")
            _publish(staging / "image", dest, rootfs_only, staging)

    def render(
        self, image_id: str, dest: Path, *, rootfs_only: bool = False, overwrite: bool = False
    ) -> None:
        """Copy the image rendered with its dependencies to ``dest`` (a private copy)."""
        import shutil

        self.get(image_id)
        _check_destination(dest, overwrite)
        with self._shared(), _staging(dest) as staging:  # shared: gc waits for the copy
            rootfs = self.render_tree(image_id)
            out = staging / "image"
            out.mkdir()
            shutil.copyfile(rootfs.parent / "manifest", out / "manifest")
            _copy_tree(rootfs, out / "rootfs")
            _publish(out, dest, rootfs_only, staging)

    def export(self, image_id: str, dest: Path, *, overwrite: bool = False) -> None:
        """Write the archive exactly as it was fetched to ``dest``."""
        import shutil

        self.get(image_id)
        if dest.exists() and not overwrite:
            raise UsageError(f"{dest}: file exists (use --overwrite to replace it)")
        tmp = dest.with_name(f".{dest.name}.tmp-{os.urandom(16).hex()}")
        try:
            ensure_replaceable(dest)
            shutil.copyfile(self.layout.blob(image_id), tmp)
            os.replace(tmp, dest)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"{dest}: {exc.strerror}") from exc

    # --------------------------------------------------------- removal
    def remove(self, image_ids: Iterable[str]) -> list[str]:
        """Remove images (blob first, then index entry, files and trees)."""
        ids = list(dict.fromkeys(image_ids))
        with self.exclusive():
            entries = self._index()
            missing = [i for i in ids if i not in entries]
            if missing:
                raise ImageNotFoundError(f"image {missing[0]} is not in the store")
            for image_id in ids:
                self.layout.blob(image_id).unlink(missing_ok=True)
            with file_lock(self.layout.index_lock):
                entries = self._index()
                for image_id in ids:
                    entries.pop(image_id, None)
                write_index(self.layout.index, entries)
            for image_id in ids:
                remove_path(self.layout.image_dir(image_id), self.layout.trash)
            for key, stamp in self._trees():
                if stamp is None or stamp.image in ids:
                    remove_path(self.layout.tree_dir(key), self.layout.trash)
        return ids

    def _trees(self) -> list[tuple[str, TreeStamp | None]]:
        try:
            names = sorted(os.listdir(self.layout.trees))
        except FileNotFoundError:
            return []
        return [(n, TreeStamp.load(self.layout.tree_dir(n) / STAMP)) for n in names]

    def gc(self, grace: float = 24 * 3600, *, in_use: Collection[Path] = ()) -> GcReport:
        """Remove rendered trees unused for ``grace`` seconds and leftovers of crashes.

        ``in_use`` lists tree rootfs paths that pods still use; they are kept.  Trees
        of images that are no longer stored go whatever their age.
        """
        report = GcReport()
        keep = {Path(p).resolve() for p in in_use}
        now = time.time()
        with self.exclusive():
            report.leftovers = self._sweep_leftovers()
            entries = self._index()
            for key, stamp in self._trees():
                tree = self.layout.tree_dir(key)
                if (tree / "rootfs").resolve() in keep:
                    continue
                if stamp is None or not set(stamp.layers) <= entries.keys():
                    pass  # unfinished, or of a removed image
                else:
                    try:
                        last_used = (tree / STAMP).stat().st_mtime
                    except FileNotFoundError:
                        last_used = 0.0
                    if now - last_used < grace:
                        continue
                remove_path(tree, self.layout.trash)
                report.trees.append(key)
            self._remove_stale_tree_locks()
        return report

    def _sweep_leftovers(self) -> list[str]:
        """Remove work dirs of interrupted imports and renders (store held exclusively)."""
        removed = []
        for directory in (self.layout.tmp, self.layout.trash):
            for name in sorted(os.listdir(directory)):
                remove_tree(directory / name)
                removed.append(f"{directory.name}/{name}")
        for directory in (self.layout.cas, self.layout.images, self.layout.blobs):
            for name in sorted(os.listdir(directory)):
                if name.startswith("."):  # temp files of atomic writes
                    remove_tree(directory / name)
                    removed.append(f"{directory.relative_to(self.layout.root)}/{name}")
        return removed

    def _remove_stale_tree_locks(self) -> None:
        for name in os.listdir(self.layout.locks):
            if name.startswith("tree-") and name.endswith(".lock"):
                key = name[len("tree-") : -len(".lock")]
                if not self.layout.tree_dir(key).exists():
                    (self.layout.locks / name).unlink(missing_ok=True)

    def verify(self, *, progress: Progress = SILENT) -> VerifyReport:
        """Re-hash every blob, compare every image's files with it, check every tree.

        Repairs what it can and says what it did: an image whose blob is intact is
        kept (its files re-extracted and its index entry rebuilt as needed); an image
        whose blob is missing or corrupt is removed; trees that no longer match are
        removed (they are rendered again on next use); crash leftovers are swept.
        """
        from carpool.store.verify import verify_store

        with self.exclusive():
            return verify_store(self, progress)


class GcReport:
    """What :meth:`Store.gc` removed."""

    def __init__(self) -> None:
        self.leftovers: list[str] = []
        self.trees: list[str] = []


class VerifyReport:
    """What :meth:`Store.verify` checked and repaired."""

    def __init__(self) -> None:
        self.images = 0
        self.trees = 0
        self.actions: list[str] = []

    @property
    def consistent_before(self) -> bool:
        return not self.actions


class _BackgroundCopy:
    """Copy a file in a thread (``copy_file_range`` releases the GIL)."""

    def __init__(self, src: Path, dst: Path) -> None:
        import threading

        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, args=(src, dst), daemon=True)
        self._thread.start()

    def _run(self, src: Path, dst: Path) -> None:
        import shutil

        try:
            shutil.copyfile(src, dst)
        except OSError as exc:
            self._error = exc

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise StoreError(f"{self._error.filename}: {self._error.strerror}")


def _check_destination(dest: Path, overwrite: bool) -> None:
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise UsageError(f"{dest}: exists and is not a directory")
    if dest.exists() and any(dest.iterdir()) and not overwrite:
        raise UsageError(f"{dest}: exists and is not empty (use --overwrite to replace it)")


@contextmanager
def _staging(dest: Path) -> Iterator[Path]:
    """A work dir next to ``dest`` (same filesystem, so the result can be renamed)."""
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        yield staging
    finally:
        remove_tree(staging)


def _publish(image: Path, dest: Path, rootfs_only: bool, staging: Path) -> None:
    """Move the finished files to ``dest``; an old ``dest`` goes into ``staging`` to die."""
    source = image / "rootfs" if rootfs_only else image
    if dest.is_dir():
        os.rename(dest, staging / "old")
    os.rename(source, dest)


def _copy_tree(src: Path, dest: Path, *, hardlink: bool = False) -> None:
    """A copy keeping modes, owners, times, xattrs, hard links and devices.

    With ``hardlink`` directories are created and everything else is hard-linked.
    """
    import subprocess

    proc = subprocess.run(
        [
            "cp",
            "-a",
            *(["-l"] if hardlink else []),
            "--no-target-directory",
            "--",
            str(src),
            str(dest),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise StoreError(f"copying {src} to {dest} failed: {proc.stderr.strip()}")
