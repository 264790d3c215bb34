"""The templater's persistent cache: parse trees and YAML data, keyed by content.

Every container start renders the same templates with the same attributes; lexing and
parsing them (and importing and running a YAML parser on the attribute files) is most
of what ``carpool templater`` would otherwise spend.  The results are kept under a
cache dir (the CLI's ``<data dir>/cache/templater``) in **bundles**:

* a bundle is one file holding the entries one run used — the parse trees of one
  templates dir, or the data of one attributes dir's files (plus what the run derived
  from them: attribute values that were templates, ``.cfg`` files);
* it is named after a digest of *all* its inputs (every source's name and bytes, the
  cache version, the mode), so a second run of the same dir opens exactly one file,
  and two images' dirs (or two pods' copies of one image) never share or fight over a
  bundle;
* each entry is keyed by the digest of what its result depends on (the exact text or
  bytes, template name, delimiters, ``break``/``continue`` being functions,
  ``exact_numbers``, the cache version); parse trees also record the functions they
  call, and are used only if all of them are still defined.  A changed input misses.

File format: one ASCII header line ``carpool-templater-cache <version> <sha256 of the
rest>``, then one entry per line, ``<key> <JSON>``.  Nothing is unpickled: entries are
JSON, and their shape is checked again by whoever uses them (:mod:`.engine.treecodec`
rebuilds nodes field by field, attribute and ``.cfg`` data must be maps), so no content
can run code or crash the templater.  A file whose header, version or checksum does not
match (damage, truncation, another program's file), or that cannot be read, is a miss;
an entry of the wrong shape is a miss; a cache that cannot be written is skipped; none
of it is ever an error.  A well-formed bundle is trusted to hold what carpool wrote (a
forged one could make the templater render other data, as could editing the templates
themselves): that is why the dir is private to its owner, root for the data dir.

Files are written with :func:`carpool.fsutil.atomic_write_bytes` (readers of
a concurrent run see the old or the new bundle), the dir is created ``0700``, and at
most :data:`MAX_BUNDLES` bundles are kept (the least recently used are removed when a
new one is written; a hit refreshes a bundle's mtime at most once per
:data:`TOUCH_INTERVAL`).

The **cache version** is derived, not maintained by hand: it is a digest of the source
bytes of every module that shapes a cached result (lexer, parser, nodes, the tree
codec, Go's number and character rules, the YAML loader, this module), of PyYAML's
``__init__.py`` (its version) and of the Python version.  Any change to them changes
every key and every bundle name.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from carpool.digests import sha256

MAGIC = b"carpool-templater-cache"
MAX_BUNDLES = 256
"""Bundles kept in a cache dir (each one templates dir or attributes dir)."""
MAX_BUNDLE_BYTES = 64 << 20
"""A larger file is not read (nothing carpool writes comes near it)."""
TOUCH_INTERVAL = 3600.0
"""A bundle read this long after it was written gets its mtime refreshed (LRU order)."""

_HERE = os.path.dirname(os.path.abspath(__file__))
VERSION_SOURCES = (
    "cache.py",
    "gofmt.py",
    "goint.py",
    "yamlgo.py",
    "engine/lexer.py",
    "engine/nodes.py",
    "engine/parser.py",
    "engine/template.py",
    "engine/treecodec.py",
)
"""Modules (relative to the templater package) whose source is part of the cache version."""

VERSION_MEMO = "version"
"""The file of a cache dir remembering the cache version of the sources it was made by."""

MISS: Any = object()
"""What :meth:`Bundle.get` returns for a key it does not hold."""

_version: str | None = None


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _yaml_origin() -> str | None:
    """PyYAML's ``__init__.py`` (it holds ``__version__``), found without importing yaml."""
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            spec = find_spec("yaml", None)
        except Exception:  # a broken finder only means "not found here"
            continue
        if spec is not None and spec.origin:
            return str(spec.origin)
    return None


def _yaml_files(origin: str | None) -> list[str]:
    """PyYAML's ``__init__.py`` and its libyaml binding (which loader is used), if any."""
    if origin is None:
        return []
    directory = os.path.dirname(origin)
    try:
        names = sorted(n for n in os.listdir(directory) if n.startswith("_yaml"))
    except OSError:
        names = []
    return [origin, *(os.path.join(directory, n) for n in names)]


def _yaml_source(origin: str | None) -> bytes:
    """What identifies the YAML loader: PyYAML's ``__init__.py``, and its binding's size."""
    files = _yaml_files(origin)
    if not files:
        return b"absent"
    try:
        source = _read(files[0])
        for path in files[1:]:
            source += b"\0%s %d" % (os.path.basename(path).encode(), os.stat(path).st_size)
        return source
    except OSError:
        return b"unreadable"


def cache_version(cache_dir: Path | None = None) -> str:
    """The digest of everything cached results depend on besides their own inputs.

    Hashing the sources costs ~1 ms; with ``cache_dir`` the result is remembered
    there (file ``version``) next to a digest of the sources' inode, size, mtime and
    ctime (which any write changes), and taken from there while those are the same.
    """
    global _version
    if _version is not None:
        return _version
    origin = _yaml_origin()
    paths = [os.path.join(_HERE, rel) for rel in VERSION_SOURCES] + _yaml_files(origin)
    stamp = _stamp(paths)
    memo = None if cache_dir is None else Path(cache_dir) / VERSION_MEMO
    if memo is not None:
        content = read_regular_file(memo, 200)
        remembered = [] if content is None else content[0].split()
        if (
            len(remembered) == 2
            and remembered[0] == stamp.encode()
            and len(remembered[1]) == 64
            and all(c in b"0123456789abcdef" for c in remembered[1])
        ):
            _version = version = remembered[1].decode()
            return version
    _version = version = compute_version(_HERE, _yaml_source(origin))
    if memo is not None:
        try:
            from carpool.fsutil import atomic_write_bytes

            _make_private_dirs(memo.parent)
            atomic_write_bytes(memo, f"{stamp} {version}\n".encode(), mode=0o600, durable=False)
        except OSError:
            pass
    return version


def read_regular_file(path: Path, limit: int) -> tuple[bytes, float] | None:
    """The bytes and mtime of ``path`` if it is a regular file of at most ``limit`` bytes.

    Never follows a symlink and never blocks (a FIFO planted in the cache dir is
    simply not read); ``None`` for anything else or any error.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, max(st.st_size - size, 0) + 1)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            return None
        return b"".join(chunks), st.st_mtime
    except OSError:
        return None
    finally:
        os.close(fd)


def _stamp(paths: list[str]) -> str:
    """A digest of the identity and change times of ``paths`` (not of their bytes)."""
    parts: list[str] = [sys.implementation.cache_tag, str(sys.version_info[:3])]
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            parts.append(f"{path} -")
            continue
        parts.append(f"{path} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}")
    return digest(*parts)


def compute_version(package_dir: str, yaml_source: bytes) -> str:
    """The cache version of the templater sources under ``package_dir``."""
    h = sha256(MAGIC)
    h.update(f"{sys.implementation.cache_tag} {sys.version_info[:3]}".encode())
    for rel in VERSION_SOURCES:
        data = _read(os.path.join(package_dir, rel))
        h.update(b"\0%d:%s\0" % (len(data), rel.encode()))
        h.update(data)
    h.update(b"\0yaml %d\0" % len(yaml_source))
    h.update(yaml_source)
    return h.hexdigest()


def digest(*parts: str | bytes | bool | None) -> str:
    """A hex sha256 of ``parts``, each framed with its type and length (no ambiguity)."""
    h = sha256()
    for part in parts:
        if isinstance(part, str):
            data = part.encode("utf-8", "surrogatepass")
            h.update(b"s%d:" % len(data))
        elif isinstance(part, bytes):
            data = part
            h.update(b"b%d:" % len(data))
        else:
            data = repr(part).encode()
            h.update(b"c%d:" % len(data))
        h.update(data)
    return h.hexdigest()


def entry_key(kind: str, *parts: str | bytes | bool | None) -> str:
    """The key of one cached result: its kind, the cache version and its inputs."""
    return digest(kind, cache_version(), *parts)


class Bundle:
    """The entries of one cache file: those loaded, and those this run used or added.

    Values are handed out freshly decoded from their JSON text at every :meth:`get`,
    so callers may mutate what they receive; :meth:`save` writes back the text of the
    entries used, unchanged, plus the new ones.
    """

    __slots__ = ("_loaded", "_pending", "_touch", "_used", "changed", "directory", "path")

    def __init__(self, directory: Path | None, name: str) -> None:
        self.directory = directory
        self.path = None if directory is None else directory / f"{name}.cache"
        self._loaded: dict[str, str] = {}
        self._used: dict[str, str] = {}
        self._touch = False
        self.changed = False
        """Whether :meth:`save` has anything to write (an entry added or one unused)."""
        self._pending = self.path is not None
        """The file is read when an entry is first asked for (a run may need none)."""

    def _ensure_loaded(self) -> None:
        if self._pending:
            self._pending = False
            assert self.path is not None
            self._load(self.path)

    @classmethod
    def open(
        cls, cache_dir: Path | None, kind: str, inputs: Iterable[str | bytes | bool | None]
    ) -> Bundle | None:
        """The bundle of ``kind`` for these inputs (``None`` without a cache dir)."""
        if cache_dir is None:
            return None
        return cls(Path(cache_dir), digest(kind, cache_version(cache_dir), *inputs))

    def _load(self, path: Path) -> None:
        loaded_file = read_regular_file(path, MAX_BUNDLE_BYTES)
        if loaded_file is None:
            return
        data, mtime = loaded_file
        header, sep, body = data.partition(b"\n")
        fields = header.split(b" ")
        if not sep or len(fields) != 3 or fields[0] != MAGIC:
            return
        if fields[1] != cache_version().encode() or fields[2] != sha256(body).hexdigest().encode():
            return
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            return
        loaded: dict[str, str] = {}
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        for line in lines:
            key, _, value = line.partition(" ")
            if len(key) != 64 or not value:
                return
            loaded[key] = value
        self._loaded = loaded
        self._touch = mtime < _now() - TOUCH_INTERVAL

    def get(self, key: str) -> Any:
        """The value stored under ``key`` (a fresh copy), or :data:`MISS`."""
        self._ensure_loaded()
        text = self._used.get(key)
        if text is None:
            text = self._loaded.get(key)
            if text is None:
                return MISS
            self._used[key] = text
        try:
            return _json_loads(text)
        except (ValueError, RecursionError):
            del self._used[key]
            self._loaded.pop(key, None)
            self.changed = True
            return MISS

    def forget(self, key: str) -> None:
        """Drop an entry its user found unusable (it is not written back)."""
        self._ensure_loaded()
        if self._used.pop(key, None) is not None:
            self.changed = True

    def put(self, key: str, value: Any) -> bool:
        """Store ``value`` (JSON data) under ``key``; False (nothing stored) if it cannot be."""
        self._ensure_loaded()
        import json

        try:
            text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            return False
        if self._used.get(key) != text:
            self._used[key] = text
            self.changed = True
        return True

    def save(self) -> None:
        """Write the used entries back if anything changed; errors are ignored."""
        if self.path is None or self.directory is None or self._pending:
            return  # nothing asked for, nothing to write
        if not self.changed and len(self._used) == len(self._loaded):
            if self._touch:
                self._touch = False
                with contextlib.suppress(OSError):
                    os.utime(self.path)
            return
        body = "".join(f"{key} {text}\n" for key, text in self._used.items()).encode("ascii")
        header = b"%s %s %s\n" % (
            MAGIC,
            cache_version().encode(),
            sha256(body).hexdigest().encode(),
        )
        try:
            from carpool.fsutil import atomic_write_bytes

            _make_private_dirs(self.directory)
            atomic_write_bytes(self.path, header + body, mode=0o600, durable=False)
        except OSError:
            return
        self._loaded = dict(self._used)
        self.changed = False
        prune(self.directory, keep=self.path)


def _json_loads(text: str) -> Any:
    """``json.loads`` for what :meth:`Bundle.put` writes: never ``NaN`` or ``Infinity``."""
    import json

    return json.loads(text, parse_constant=_no_constants)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON carpool writes")


def _now() -> float:
    import time

    return time.time()


def _make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and any missing parent with mode 0700."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)


def prune(directory: Path, *, keep: Path | None = None, max_bundles: int = MAX_BUNDLES) -> None:
    """Remove the least recently used bundles beyond ``max_bundles``, and stale temp files."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    now = _now()
    bundles: list[tuple[float, str]] = []
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if entry.name.endswith(".cache"):
            if keep is None or entry.path != str(keep):
                bundles.append((st.st_mtime, entry.path))
        elif entry.name.startswith(".") and ".tmp-" in entry.name and st.st_mtime < now - 3600:
            _unlink(entry.path)  # left by a writer that crashed
    bundles.sort()
    excess = len(bundles) + (keep is not None) - max_bundles
    for _mtime, path in bundles[: max(excess, 0)]:
        _unlink(path)


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def json_exact(value: Any, max_depth: int = 100) -> bool:
    """Whether ``value`` survives a JSON round trip unchanged (types, key order, sharing).

    Only dicts with string keys, lists, strings, ints, finite floats, booleans and
    ``None`` do, each container reached once (JSON would turn shared ones into copies).
    """
    seen: set[int] = set()

    def check(v: Any, depth: int) -> bool:
        t = type(v)
        if t is str or t is int or t is bool or v is None:
            return True
        if t is float:
            return v == v and v not in (float("inf"), float("-inf"))
        if depth >= max_depth or id(v) in seen:
            return False
        if t is dict:
            seen.add(id(v))
            return all(type(k) is str and check(x, depth + 1) for k, x in v.items())
        if t is list:
            seen.add(id(v))
            return all(check(x, depth + 1) for x in v)
        return False

    return check(value, 0)
