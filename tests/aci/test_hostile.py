"""Hostile and broken archives are refused, and nothing is written anywhere.

Every case runs in an arena: ``parent/`` (where the destination would go) next to
``parent/sentinel/`` and ``outside/``, which hostile names aim at.  After a refusal the
whole arena must be exactly as before: no destination, no temporary directory, no file
written through a symlink.
"""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pytest

from carpool.aci import extract_image, inspect_image
from carpool.aci.extract import _Tree
from carpool.errors import ArchiveError
from tests.aci.archives import (
    MANIFEST,
    E,
    compress,
    d,
    describe,
    f,
    hard,
    listing,
    manifest,
    sym,
    tar_bytes,
    write_archive,
)

#: Stands for the absolute path of the arena in case definitions.
ARENA = "@ARENA@"


def _arena(tmp_path: Path) -> Path:
    (tmp_path / "parent" / "sentinel" / "sub").mkdir(parents=True)
    (tmp_path / "parent" / "sentinel" / "secret").write_bytes(b"secret")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "file").write_bytes(b"outside")
    return tmp_path


def _state(tmp_path: Path) -> dict[str, tuple[object, ...]]:
    state = describe(tmp_path)
    # making and removing the temporary directory touches the parent's mtime, nothing else
    kind, mode, uid, gid, _mtime, *rest = state["parent"]
    state["parent"] = (kind, mode, uid, gid, *rest)
    return state


def _resolve(entries: list[E], tmp_path: Path) -> list[E]:
    for entry in entries:
        entry.name = entry.name.replace(ARENA, str(tmp_path))
        entry.linkname = entry.linkname.replace(ARENA, str(tmp_path))
        entry.pax = {k: v.replace(ARENA, str(tmp_path)) for k, v in entry.pax.items()}
    return entries


def assert_refused(
    tmp_path: Path,
    archive: Path,
    match: str,
    *,
    inspect_too: bool = True,
    **options: object,
) -> ArchiveError:
    before = _state(tmp_path)
    threads = threading.active_count()
    fds = len(os.listdir("/proc/self/fd"))
    with pytest.raises(ArchiveError, match=match) as info:
        extract_image(archive, tmp_path / "parent" / "dest", **options)  # type: ignore[arg-type]
    assert str(archive) in str(info.value), "the message names the archive"
    assert threading.active_count() == threads, "the read-ahead thread was stopped"
    assert len(os.listdir("/proc/self/fd")) == fds, "every descriptor was closed"
    assert _state(tmp_path) == before
    assert listing(tmp_path / "parent") == {"sentinel", "sentinel/sub", "sentinel/secret"}
    if inspect_too:
        with pytest.raises(ArchiveError):
            inspect_image(archive)
    return info.value


CASES: dict[str, tuple[list[E], str]] = {
    # names outside the layout
    "top-level-other": ([manifest(), f("etc/passwd")], "outside of manifest and rootfs"),
    "rootfs-prefix-lookalike": ([manifest(), f("rootfsx/a")], "outside of manifest"),
    "second-manifest-name": ([manifest(), f("manifest2")], "outside of manifest"),
    "manifest-subpath": ([manifest(), f("manifest/x")], "manifest must be a regular file"),
    # .. and absolute names
    "dotdot": ([manifest(), f("rootfs/../../outside/pwned")], r"'\.\.' in name"),
    "dotdot-first": ([manifest(), f("../outside/pwned")], r"'\.\.' in name"),
    "dotdot-middle": ([manifest(), d("rootfs"), f("rootfs/a/../../../x")], r"'\.\.'"),
    "absolute": ([manifest(), f(f"{ARENA}/outside/pwned")], "absolute name"),
    "absolute-rootfs": ([manifest(), f("/rootfs/x")], "absolute name"),
    "pax-path-dotdot": (
        [manifest(), E("rootfs/innocent", data=b"x", pax={"path": "../outside/pwned"})],
        r"'\.\.' in name",
    ),
    "pax-path-absolute": (
        [manifest(), E("rootfs/innocent", data=b"x", pax={"path": f"{ARENA}/outside/p"})],
        "absolute name",
    ),
    # writing through symlinks
    "through-absolute-symlink": (
        [manifest(), sym("rootfs/link", f"{ARENA}/outside"), f("rootfs/link/pwned")],
        "path goes through symlink rootfs/link",
    ),
    "through-relative-symlink": (
        [manifest(), d("rootfs"), sym("rootfs/link", "../../outside"), f("rootfs/link/pwned")],
        "goes through symlink",
    ),
    "through-root-symlink-dir": (
        [manifest(), sym("rootfs/root", "/"), d(f"rootfs/root{ARENA}/outside/newdir")],
        "goes through symlink",
    ),
    "through-inside-symlink": (
        [manifest(), d("rootfs/d"), sym("rootfs/l", "d"), f("rootfs/l/f")],
        "goes through symlink",
    ),
    "through-symlink-deep": (
        [manifest(), d("rootfs/a"), sym("rootfs/a/b", "/"), f("rootfs/a/b/c/d/e")],
        "goes through symlink rootfs/a/b",
    ),
    "hardlink-through-symlink": (
        [
            manifest(),
            f("rootfs/real"),
            sym("rootfs/l", f"{ARENA}/outside"),
            hard("rootfs/l/h", "rootfs/real"),
        ],
        "goes through symlink",
    ),
    "rootfs-is-symlink": (
        [manifest(), sym("rootfs", f"{ARENA}/outside"), f("rootfs/pwned")],
        "rootfs is not a directory",
    ),
    "through-file": ([manifest(), f("rootfs/file"), f("rootfs/file/child")], "through file"),
    # hardlinks
    "hardlink-absolute": (
        [manifest(), hard("rootfs/h", f"{ARENA}/parent/sentinel/secret")],
        "absolute name",
    ),
    "hardlink-dotdot": (
        [manifest(), hard("rootfs/h", "rootfs/../../parent/sentinel/secret")],
        r"'\.\.' in name",
    ),
    "hardlink-to-later-entry": (
        [manifest(), hard("rootfs/h", "rootfs/later"), f("rootfs/later")],
        "not an earlier file",
    ),
    "hardlink-to-missing": ([manifest(), hard("rootfs/h", "rootfs/nothing")], "not an earlier"),
    "hardlink-to-manifest": ([manifest(), hard("rootfs/h", "manifest")], "outside rootfs"),
    "hardlink-to-rootfs": ([manifest(), d("rootfs"), hard("rootfs/h", "rootfs")], "outside"),
    "hardlink-to-dir": (
        [manifest(), d("rootfs/dir"), hard("rootfs/h", "rootfs/dir")],
        "not an earlier file",
    ),
    "hardlink-through-earlier-symlink": (
        [
            manifest(),
            sym("rootfs/l", f"{ARENA}/parent/sentinel"),
            hard("rootfs/h", "rootfs/l/secret"),
        ],
        "not an earlier file",
    ),
    "pax-linkpath-absolute": (
        [
            manifest(),
            f("rootfs/x"),
            E("rootfs/h", tarfile.LNKTYPE, linkname="rootfs/x", pax={"linkpath": "/etc/shadow"}),
        ],
        "absolute name",
    ),
    # duplicates
    "duplicate-file": ([manifest(), f("rootfs/x"), f("rootfs/x", b"again")], "duplicate"),
    "duplicate-dir": ([manifest(), d("rootfs/x"), d("rootfs/x")], "duplicate"),
    "duplicate-manifest": ([manifest(), d("rootfs"), manifest()], "duplicate"),
    "duplicate-rootfs": ([manifest(), d("rootfs"), d("rootfs")], "duplicate"),
    "file-then-symlink": ([manifest(), f("rootfs/x"), sym("rootfs/x", "/etc")], "duplicate"),
    "symlink-then-dir": ([manifest(), sym("rootfs/x", "/etc"), d("rootfs/x")], "duplicate"),
    "dot-slash-duplicate": ([manifest(), f("rootfs/x"), f("./rootfs//x")], "duplicate"),
    "file-replaces-implied-dir": (
        [manifest(), f("rootfs/a/b"), sym("rootfs/a", f"{ARENA}/outside")],
        "replaces a directory",
    ),
    # manifest and rootfs
    "no-manifest": ([d("rootfs"), f("rootfs/x")], "no manifest"),
    "manifest-not-json": ([manifest(b"{not json"), d("rootfs")], "invalid image manifest"),
    "manifest-wrong-kind": (
        [manifest(MANIFEST.replace(b"ImageManifest", b"PodManifest")), d("rootfs")],
        "invalid image manifest.*acKind",
    ),
    "manifest-bad-name": (
        [manifest(MANIFEST.replace(b"example.com/test", b"Not A Name")), d("rootfs")],
        "invalid image manifest.*name",
    ),
    "manifest-is-dir": ([d("manifest"), d("rootfs")], "manifest must be a regular file"),
    "manifest-is-symlink": ([sym("manifest", "/etc/passwd")], "manifest must be a regular file"),
    "manifest-is-hardlink": (
        [f("rootfs/m", MANIFEST), hard("manifest", "rootfs/m")],
        "manifest must be a regular file",
    ),
    "rootfs-is-file": ([manifest(), f("rootfs", b"x")], "rootfs is not a directory"),
    # entries the reader does not support
    "gnu-sparse": ([manifest(), E("rootfs/s", b"S")], "unsupported GNU sparse"),
    "gnu-volume": ([manifest(), E("rootfs/v", b"V")], "unsupported GNU volume"),
    "pax-sparse": (
        [manifest(), E("rootfs/s", data=b"x", pax={"GNU.sparse.major": "1"})],
        "unsupported GNU sparse",
    ),
    "symlink-empty-target": ([manifest(), sym("rootfs/s", "")], "symlink target is empty"),
    # values no file system can hold, refused before anything is written
    "component-too-long": ([manifest(), f("rootfs/" + "a" * 256)], "component longer than 255"),
    "symlink-target-too-long": ([manifest(), sym("rootfs/s", "a/" * 2100)], "longer than 4095"),
    "negative-owner": ([manifest(), E("rootfs/x", pax={"uid": "-5"})], "out of range"),
    "huge-owner": ([manifest(), E("rootfs/x", pax={"gid": str(2**40)})], "out of range"),
    "huge-mtime": ([manifest(), E("rootfs/x", pax={"mtime": "1" + "0" * 30})], "out of range"),
    "empty-xattr-name": ([manifest(), E("rootfs/x", pax={"SCHILY.xattr.": "v"})], "xattr name"),
    "name-with-nul-via-pax": (
        [manifest(), E("rootfs/x", data=b"x", pax={"path": "rootfs/a\x00b"})],
        "NUL",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_archive_is_refused(tmp_path: Path, case: str) -> None:
    entries, match = CASES[case]
    _arena(tmp_path)
    archive = write_archive(tmp_path / "hostile.aci", _resolve(list(entries), tmp_path))
    assert_refused(tmp_path, archive, match)


@pytest.mark.parametrize("kind", ["gzip", "xz"])
def test_refusal_after_many_files_leaves_nothing(tmp_path: Path, kind: str) -> None:
    """The problem comes last, after real files were written into the temporary tree."""
    _arena(tmp_path)
    entries = [manifest(), d("rootfs")]
    entries += [f(f"rootfs/dir{i}/file{j}", os.urandom(700)) for i in range(20) for j in range(20)]
    entries += [d("rootfs/ro", 0o500), f("rootfs/dir3/file3")]  # duplicate at the end
    archive = write_archive(tmp_path / "late.aci", entries, kind)
    assert_refused(tmp_path, archive, "duplicate")


def test_long_gnu_name_with_dotdot(tmp_path: Path) -> None:
    _arena(tmp_path)
    name = "rootfs/" + "a/" * 30 + "../" * 40 + "outside/pwned"  # > 100 bytes: GNU 'L' entry
    archive = write_archive(tmp_path / "gnu.aci", [manifest(), f(name)], fmt=tarfile.GNU_FORMAT)
    assert b"././@LongLink" in archive.read_bytes()
    assert_refused(tmp_path, archive, r"'\.\.' in name")


@pytest.mark.parametrize(
    ("entry", "what"),
    [
        (E("rootfs/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3), "character"),
        (E("rootfs/sda", tarfile.BLKTYPE, mode=0o660, devmajor=8, devminor=0), "block"),
        (E("rootfs/fifo", tarfile.FIFOTYPE, mode=0o644), "fifo"),
    ],
)
def test_devices_and_fifos_refused_when_not_allowed(tmp_path: Path, entry: E, what: str) -> None:
    _arena(tmp_path)
    archive = write_archive(tmp_path / "dev.aci", [manifest(), d("rootfs"), entry])
    assert_refused(tmp_path, archive, f"{what}.*refused", inspect_too=False, allow_devices=False)
    inspect_image(archive)  # the archive itself is fine


# -- broken archives -----------------------------------------------------------------


def _good_tar() -> bytes:
    return tar_bytes(
        [manifest(), d("rootfs"), f("rootfs/a", os.urandom(5000)), f("rootfs/b", b"b" * 700)]
    )


@pytest.mark.parametrize(
    ("cut", "match"),
    [
        (0, "empty file"),
        (200, "not an ACI archive"),  # too short to hold the ustar magic
        (300, r"truncated archive \(partial header\)"),
        (512 + 100, "truncated"),  # inside the manifest data
        (3 * 512 + 100, "truncated"),  # inside a header
        (4 * 512 + 2000, "truncated"),  # inside a file
        (-1024, "no end-of-archive marker"),  # everything but the end marker
    ],
)
def test_truncated_plain_tar(tmp_path: Path, cut: int, match: str) -> None:
    _arena(tmp_path)
    archive = tmp_path / "cut.aci"
    archive.write_bytes(_good_tar()[:cut])
    assert_refused(tmp_path, archive, match)


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz"])
def test_truncated_compressed(tmp_path: Path, kind: str) -> None:
    _arena(tmp_path)
    archive = tmp_path / "cut.aci"
    data = compress(_good_tar(), kind)
    archive.write_bytes(data[: len(data) - 20])
    assert_refused(tmp_path, archive, "corrupt or truncated|truncated")


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz"])
def test_corrupt_compressed(tmp_path: Path, kind: str) -> None:
    _arena(tmp_path)
    archive = tmp_path / "bad.aci"
    data = bytearray(compress(_good_tar(), kind))
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    assert_refused(tmp_path, archive, "corrupt|truncated|checksum")


def test_bad_header_checksum_in_the_middle(tmp_path: Path) -> None:
    _arena(tmp_path)
    data = bytearray(_good_tar())
    data[3 * 512 + 5] ^= 0x01  # the name of rootfs/a
    archive = tmp_path / "bad.aci"
    archive.write_bytes(bytes(data))
    assert_refused(tmp_path, archive, "bad header checksum")


def test_bad_number_in_header(tmp_path: Path) -> None:
    _arena(tmp_path)
    block = bytearray(tar_bytes([f("rootfs/x")], end_marker=False)[:512])
    block[124:136] = b"0000000009x\x00"  # size field
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    archive = tmp_path / "bad.aci"
    archive.write_bytes(tar_bytes([manifest()], end_marker=False) + bytes(block) + bytes(1024))
    assert_refused(tmp_path, archive, "bad number")


def test_not_an_archive(tmp_path: Path) -> None:
    _arena(tmp_path)
    archive = tmp_path / "text.aci"
    archive.write_bytes(b"hello world\n" * 100)
    assert_refused(tmp_path, archive, "not an ACI archive")


def test_compression_is_sniffed_not_named(tmp_path: Path) -> None:
    for kind in ("gzip", "bzip2", "xz", "none"):
        archive = tmp_path / f"{kind}.tar.misleading.gz"
        archive.write_bytes(compress(_good_tar(), kind))
        assert extract_image(archive, tmp_path / kind).compression == kind


class _Endless(io.RawIOBase):
    """A header promising a huge file, then zeros forever; counts what was read."""

    def __init__(self, header: bytes) -> None:
        self.header = header
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = len(buffer)
        if self.read_bytes < len(self.header):
            chunk = self.header[self.read_bytes : self.read_bytes + n]
            buffer[: len(chunk)] = chunk
            n = len(chunk)
        else:
            buffer[:n] = bytes(n)
        self.read_bytes += n
        return n


def test_endless_data_is_cut_off_by_the_size_limit(tmp_path: Path) -> None:
    _arena(tmp_path)
    huge = E("rootfs/huge")
    info = tarfile.TarInfo("rootfs/huge")
    info.size = 1 << 40
    header = tar_bytes([manifest(), d("rootfs")], end_marker=False) + info.tobuf()
    stream = _Endless(header)
    before = _state(tmp_path)
    start = time.monotonic()
    with pytest.raises(ArchiveError, match="exceed the archive size limit"):
        extract_image(stream, tmp_path / "parent" / "dest", max_size=8 << 20)  # type: ignore[arg-type]
    assert time.monotonic() - start < 5
    assert stream.read_bytes < 64 << 20
    assert _state(tmp_path) == before
    del huge

    # endless zero-size entries never end either: the limit applies to headers too
    entries = b"".join(tarfile.TarInfo(f"rootfs/{i}").tobuf() for i in range(10))
    with pytest.raises(ArchiveError, match="limit"):
        inspect_image(
            _Endless(tar_bytes([manifest()], end_marker=False) + entries * 5000), max_size=1 << 20
        )  # type: ignore[arg-type]


def test_extraction_as_an_unprivileged_user(tmp_path: Path) -> None:
    """As non-root, owners are not restored and device nodes and FIFOs are refused."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another user")
    work = Path(tempfile.mkdtemp(prefix="carpool-aci-nobody-"))
    try:
        work.chmod(0o777)
        fine = write_archive(
            work / "fine.aci",
            [
                manifest(),
                d("rootfs"),
                E("rootfs/owned", data=b"x", uid=1234, gid=1234, mode=0o4755),
            ],
        )
        fifo = write_archive(
            work / "fifo.aci", [manifest(), d("rootfs"), E("rootfs/p", tarfile.FIFOTYPE)]
        )
        script = (
            "import sys\n"
            "from carpool.aci import extract_image\n"
            "from carpool.errors import ArchiveError\n"
            f"extract_image({str(fine)!r}, {str(work / 'fine')!r})\n"
            "try:\n"
            f"    extract_image({str(fifo)!r}, {str(work / 'fifo')!r})\n"
            "except ArchiveError as e:\n"
            "    print(e)\n"
        )
        proc = subprocess.run(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                sys.executable,
                "-c",
                script,
            ],
            capture_output=True,
            text=True,
            cwd=work,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert "fifo refused" in proc.stdout
        owned = os.stat(work / "fine" / "rootfs" / "owned")
        assert (owned.st_uid, owned.st_gid) == (65534, 65534)
        assert owned.st_mode & 0o7777 == 0o4755
        assert not (work / "fifo").exists()
        assert sorted(p.name for p in work.iterdir()) == ["fifo.aci", "fine", "fine.aci"]
    finally:
        subprocess.run(["rm", "-rf", work], check=True)


def test_directory_walk_never_follows_symlinks(tmp_path: Path) -> None:
    """The second line of defence, below the layout rules: even a symlink the rules did not
    know about (say, swapped in by another process) is never followed."""
    _arena(tmp_path)
    root = tmp_path / "parent" / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path / "outside")
    (root / "file").write_bytes(b"")
    before = _state(tmp_path)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    tree = _Tree(fd)
    try:
        for parts in [("link",), ("link", "new"), ("file", "new")]:
            with pytest.raises(OSError) as info:
                tree.dir_fd(parts, create=True)
            assert info.value.errno in (errno.ELOOP, errno.ENOTDIR)
        made = tree.dir_fd(("a", "b"), create=True)
        os.close(os.open("f", os.O_WRONLY | os.O_CREAT | os.O_EXCL, dir_fd=made))
    finally:
        tree.close()
        os.close(fd)
    after = _state(tmp_path)
    assert {k for k in after if k not in before} == {
        "parent/root/a",
        "parent/root/a/b",
        "parent/root/a/b/f",
    }
    assert listing(tmp_path / "outside") == {"file"}
