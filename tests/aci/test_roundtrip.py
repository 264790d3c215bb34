"""Writing a tree as an ACI and extracting it again keeps everything, in every compression."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

from carpool.aci import (
    Compression,
    extract_image,
    image_id_of,
    inspect_image,
    read_manifest,
    write_aci,
)
from carpool.appc import ImageManifest
from carpool.errors import ArchiveError, ValidationError
from tests.aci.archives import (
    COMPRESSIONS,
    DECOMPRESS_CMD,
    MANIFEST,
    E,
    d,
    describe,
    f,
    manifest,
    sha512_id,
    tar_bytes,
    write_archive,
)

IS_ROOT = os.geteuid() == 0
LONG_DIR = "a-directory-name-that-is-quite-long-" * 3  # > 100 bytes: needs PAX or GNU names


def _xattrs_supported(path: Path) -> bool:
    probe = path / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.probe", b"1")
        return True
    except OSError:
        return False
    finally:
        probe.unlink()


def make_tree(root: Path) -> None:
    """A rootfs exercising every property an ACI must keep."""
    root.mkdir()
    (root / "bin").mkdir()
    big = root / "bin" / "tool"
    big.write_bytes(os.urandom((1 << 20) + 123))  # crosses the 1 MiB read chunks
    big.chmod(0o4755)
    (root / "bin" / "sg").write_bytes(b"#!/bin/sh\n")
    (root / "bin" / "sg").chmod(0o2711)
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)
    (root / "srv").mkdir()
    (root / "srv").chmod(0o2775)
    (root / "empty").mkdir()
    (root / "empty-file").write_bytes(b"")
    (root / "block").write_bytes(b"x" * 512)
    etc = root / "etc"
    etc.mkdir()
    hello = etc / "hello"
    hello.write_bytes(b"hello\n")
    os.link(hello, etc / "hello-again")
    os.link(hello, root / "bin" / "hello-third")
    (etc / "dangling").symlink_to("/nonexistent/target")
    (etc / "relative").symlink_to("../bin/tool")
    (root / "bin-link").symlink_to("bin")
    deep = root / LONG_DIR / LONG_DIR
    deep.mkdir(parents=True)
    (deep / ("f" * 200)).write_bytes(b"deep")
    (root / "café").write_bytes(b"utf-8 name")
    (root / os.fsdecode(b"raw-\xff\xfe")).write_bytes(b"non-utf-8 name")
    os.mkfifo(root / "fifo")
    if IS_ROOT:
        os.mknod(root / "null", 0o666 | 0o020000, os.makedev(1, 3))
        os.chown(hello, 1234, 5678)
        os.chown(root / "srv", 0, 4321)
        os.chown(etc / "dangling", 99, 98, follow_symlinks=False)
    if _xattrs_supported(root):
        os.setxattr(hello, "user.comment", b"binary \xff\x00 value")
        os.setxattr(root / "empty", "user.dir", b"on a directory")
        if IS_ROOT:
            os.setxattr(big, "trusted.note", b"trusted")
            os.setxattr(etc / "relative", "trusted.on-link", b"l", follow_symlinks=False)
    for index, path in enumerate(sorted(root.rglob("*"), key=lambda p: -len(p.parts))):
        os.utime(path, ns=(0, (1_500_000_000 + index) * 10**9), follow_symlinks=False)
    os.utime(root, ns=(0, 1_400_000_000 * 10**9))


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree") / "rootfs"
    make_tree(root)
    return root


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_round_trip_keeps_everything(tree: Path, tmp_path: Path, compression: str) -> None:
    out = tmp_path / "image.aci"
    image_id = write_aci(MANIFEST, tree, out, compression=compression)

    result = extract_image(out, tmp_path / "image")

    assert result.image_id == image_id
    assert result.compression == Compression(compression)
    assert result.manifest.name == "example.com/test"
    assert result.manifest_bytes == MANIFEST
    assert (tmp_path / "image" / "manifest").read_bytes() == MANIFEST
    assert sorted(os.listdir(tmp_path / "image")) == ["manifest", "rootfs"]
    assert describe(tmp_path / "image" / "rootfs") == describe(tree)
    st = os.stat(tmp_path / "image" / "rootfs")
    assert (st.st_mtime_ns, st.st_mode & 0o7777) == (1_400_000_000 * 10**9, 0o755)
    assert result.warnings == ()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_round_trip_details_are_really_there(tree: Path, tmp_path: Path) -> None:
    """The generic comparison above would pass if both sides lost the same thing."""
    write_aci(MANIFEST, tree, tmp_path / "i.aci")
    extract_image(tmp_path / "i.aci", tmp_path / "x")
    rootfs = tmp_path / "x" / "rootfs"
    assert os.stat(rootfs / "bin" / "tool").st_mode & 0o7777 == 0o4755
    assert os.stat(rootfs / "bin" / "sg").st_mode & 0o7777 == 0o2711
    assert os.stat(rootfs / "tmp").st_mode & 0o7777 == 0o1777
    hello = os.stat(rootfs / "etc" / "hello")
    assert hello.st_ino == os.stat(rootfs / "bin" / "hello-third").st_ino
    assert hello.st_nlink == 3
    assert os.readlink(rootfs / "etc" / "dangling") == "/nonexistent/target"
    assert (rootfs / "bin" / "tool").read_bytes() == (tree / "bin" / "tool").read_bytes()
    assert (rootfs / "empty").is_dir() and not any((rootfs / "empty").iterdir())
    if IS_ROOT:
        assert (hello.st_uid, hello.st_gid) == (1234, 5678)
        dangling = os.lstat(rootfs / "etc" / "dangling")
        assert (dangling.st_uid, dangling.st_gid) == (99, 98)
        assert os.stat(rootfs / "null").st_rdev == os.makedev(1, 3)
    if _xattrs_supported(tmp_path):
        assert os.getxattr(rootfs / "etc" / "hello", "user.comment") == b"binary \xff\x00 value"
        assert os.getxattr(rootfs / "empty", "user.dir") == b"on a directory"
        if IS_ROOT:
            assert os.getxattr(rootfs / "bin" / "tool", "trusted.note") == b"trusted"
            link = rootfs / "etc" / "relative"
            assert os.getxattr(link, "trusted.on-link", follow_symlinks=False) == b"l"


@pytest.mark.parametrize("compression", ["gzip", "bzip2", "xz"])
def test_image_id_is_sha512_of_the_uncompressed_tar(
    tree: Path, tmp_path: Path, compression: str
) -> None:
    out = tmp_path / "image.aci"
    image_id = write_aci(MANIFEST, tree, out, compression=compression)
    tar = subprocess.run(
        [*DECOMPRESS_CMD[compression], str(out)], capture_output=True, check=True
    ).stdout
    assert image_id == sha512_id(tar)
    assert image_id_of(out) == image_id
    assert inspect_image(out).image_id == image_id
    assert inspect_image(out).size == len(tar)


def test_image_id_of_plain_tar_is_sha512_of_the_file(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "image.aci"
    image_id = write_aci(MANIFEST, tree, out, compression="none")
    assert image_id == sha512_id(out.read_bytes()) == image_id_of(out)


def test_image_id_covers_bytes_after_the_end_marker(tmp_path: Path) -> None:
    data = tar_bytes([manifest(), d("rootfs")]) + bytes(4096)
    path = tmp_path / "padded.aci"
    path.write_bytes(data)
    assert extract_image(path, tmp_path / "x").image_id == sha512_id(data)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_writer_is_deterministic(tree: Path, tmp_path: Path, compression: str) -> None:
    first = write_aci(MANIFEST, tree, tmp_path / "1.aci", compression=compression, mtime=0)
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", tree, copy], check=True)  # new inodes, other order on disk
    os.utime(copy / "etc" / "hello", (5, 5))
    second = write_aci(MANIFEST, copy, tmp_path / "2.aci", compression=compression, mtime=0)
    assert first == second
    assert (tmp_path / "1.aci").read_bytes() == (tmp_path / "2.aci").read_bytes()


def test_fixed_mtime_applies_to_every_entry_and_real_mtimes_matter(
    tree: Path, tmp_path: Path
) -> None:
    write_aci(MANIFEST, tree, tmp_path / "fixed.aci", compression="none", mtime=1234)
    with tarfile.open(tmp_path / "fixed.aci") as tar:
        assert {m.mtime for m in tar.getmembers()} == {1234}
        assert {(m.uname, m.gname) for m in tar.getmembers()} == {("", "")}
    one = write_aci(MANIFEST, tree, tmp_path / "a.aci")
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", tree, copy], check=True)
    os.utime(copy / "etc" / "hello", (5, 5))
    assert write_aci(MANIFEST, copy, tmp_path / "b.aci") != one


def test_gzip_header_has_no_name_and_no_time(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "image.aci"
    write_aci(MANIFEST, tree, out, compression="gzip")
    header = out.read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] & 0x08 == 0  # FNAME flag
    assert header[4:8] == b"\x00\x00\x00\x00"


def test_archive_entries_are_sorted_with_numeric_owners(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "image.aci"
    write_aci(MANIFEST, tree, out, compression="none")
    with tarfile.open(out) as tar:
        names = tar.getnames()
    assert names[:2] == ["manifest", "rootfs"]
    rest = [tuple(os.fsencode(p) for p in n.split("/")[1:]) for n in names[2:]]
    assert rest == sorted(rest)
    assert "rootfs/bin/hello-third" in names


def test_gnu_tar_reads_what_we_write_without_warnings(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "image.aci"
    write_aci(MANIFEST, tree, out, compression="xz")
    dest = tmp_path / "gnu"
    dest.mkdir()
    proc = subprocess.run(
        ["tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpJf", out, "-C", dest],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert describe(dest / "rootfs") == describe(tree)


@pytest.mark.parametrize("fmt", ["posix", "gnu"])
def test_we_read_what_gnu_tar_writes(tree: Path, tmp_path: Path, fmt: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "manifest").write_bytes(MANIFEST)
    subprocess.run(["cp", "-a", tree, src / "rootfs"], check=True)
    out = tmp_path / "gnu.aci"
    xattrs = ["--xattrs", "--xattrs-include=*"] if fmt == "posix" else []
    subprocess.run(
        ["tar", f"--format={fmt}", *xattrs, "-czf", out, "-C", src, "manifest", "rootfs"],
        check=True,
        capture_output=True,
    )
    result = extract_image(out, tmp_path / "x")
    assert result.image_id == sha512_id(
        subprocess.run(["gzip", "-dc", out], capture_output=True, check=True).stdout
    )
    got, want = describe(tmp_path / "x" / "rootfs"), describe(src / "rootfs")
    if fmt == "gnu":  # no xattrs in that format
        got = {k: v[:-1] for k, v in got.items()}
        want = {k: v[:-1] for k, v in want.items()}
    assert got == want


def test_tar_dot_prefix_and_root_entry_are_accepted(tmp_path: Path) -> None:
    """``tar -C dir -cf x.aci .`` writes ``./`` and ``./rootfs/...``."""
    path = write_archive(
        tmp_path / "dot.aci",
        [d("./"), E("./manifest", data=MANIFEST), d("./rootfs"), f("./rootfs/x", b"x")],
    )
    extract_image(path, tmp_path / "x")
    assert (tmp_path / "x" / "rootfs" / "x").read_bytes() == b"x"


def test_large_numeric_owner_in_gnu_base256(tmp_path: Path) -> None:
    entry = f("rootfs/big-owner")
    entry.uid = entry.gid = 3_000_000  # does not fit 7 octal digits
    path = write_archive(
        tmp_path / "big.aci", [manifest(), d("rootfs"), entry], fmt=tarfile.GNU_FORMAT
    )
    with open(path, "rb") as raw:
        raw.seek(1024 + 512 + 108)
        assert raw.read(1)[0] & 0x80  # base-256 really used
    extract_image(path, tmp_path / "x", same_owner=IS_ROOT)
    if IS_ROOT:
        st = os.stat(tmp_path / "x" / "rootfs" / "big-owner")
        assert (st.st_uid, st.st_gid) == (3_000_000, 3_000_000)


def test_parents_missing_from_the_archive_are_created(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "p.aci", [f("rootfs/a/b/c", b"c"), manifest()])
    result = extract_image(path, tmp_path / "x")
    assert (tmp_path / "x" / "rootfs" / "a" / "b" / "c").read_bytes() == b"c"
    assert result.entries == 2


def test_empty_rootfs_is_created(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "e.aci", [manifest()])
    extract_image(path, tmp_path / "x")
    assert (tmp_path / "x" / "rootfs").is_dir()


def test_read_only_directories_are_extracted_completely(tmp_path: Path) -> None:
    path = write_archive(
        tmp_path / "ro.aci",
        [
            manifest(),
            d("rootfs"),
            d("rootfs/ro", 0o555),
            d("rootfs/ro/sub", 0o500),
            f("rootfs/ro/sub/f", b"f", 0o400),
        ],
    )
    extract_image(path, tmp_path / "x")
    assert (tmp_path / "x" / "rootfs" / "ro" / "sub" / "f").read_bytes() == b"f"
    assert os.stat(tmp_path / "x" / "rootfs" / "ro").st_mode & 0o777 == 0o555


def test_only_writes_the_listed_paths_and_their_parents(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "only.aci"
    write_aci(MANIFEST, tree, out, compression="none", only=["etc/hello", "/bin/tool", "empty"])
    with tarfile.open(out) as tar:
        assert tar.getnames() == [
            "manifest",
            "rootfs",
            "rootfs/bin",
            "rootfs/bin/tool",
            "rootfs/empty",
            "rootfs/etc",
            "rootfs/etc/hello",
        ]
    with pytest.raises(ArchiveError, match="no such file"):
        write_aci(MANIFEST, tree, tmp_path / "bad.aci", only=["nope"])
    with pytest.raises(ArchiveError, match="not a directory"):
        write_aci(MANIFEST, tree, tmp_path / "bad.aci", only=["bin-link/tool"])
    assert not (tmp_path / "bad.aci").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_writer_takes_a_manifest_object_and_refuses_invalid_ones(
    tree: Path, tmp_path: Path
) -> None:
    model = ImageManifest.from_json(MANIFEST)
    write_aci(model, tree, tmp_path / "m.aci")
    assert read_manifest(tmp_path / "m.aci").name == "example.com/test"
    with pytest.raises(ValidationError):
        write_aci(b'{"acKind":"ImageManifest"}', tree, tmp_path / "bad.aci")
    with pytest.raises(ArchiveError, match="not a directory"):
        write_aci(MANIFEST, tree / "etc" / "hello", tmp_path / "bad.aci")
    assert not (tmp_path / "bad.aci").exists()


def test_read_manifest_stops_at_the_manifest(tmp_path: Path) -> None:
    # the manifest comes first, then garbage: reading the manifest never gets there
    data = tar_bytes([manifest(), d("rootfs")], end_marker=False) + b"\x01" * 512
    path = tmp_path / "early.aci"
    path.write_bytes(data)
    assert read_manifest(path).name == "example.com/test"
    with pytest.raises(ArchiveError, match="bad header checksum"):
        inspect_image(path)


def test_read_manifest_after_the_rootfs_and_without_one(tmp_path: Path) -> None:
    late = write_archive(tmp_path / "late.aci", [d("rootfs"), f("rootfs/x"), manifest()], "xz")
    assert read_manifest(late).name == "example.com/test"
    none = write_archive(tmp_path / "none.aci", [d("rootfs")], "gzip")
    with pytest.raises(ArchiveError, match="no manifest"):
        read_manifest(none)


def test_inspect_copies_the_uncompressed_tar(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "image.aci"
    image_id = write_aci(MANIFEST, tree, out, compression="bzip2")
    copy = io.BytesIO()
    info = inspect_image(out, copy_to=copy)
    assert info.image_id == image_id == sha512_id(copy.getvalue())
    assert info.size == len(copy.getvalue())
    assert info.manifest_bytes == MANIFEST
    assert info.entries == extract_image(out, tmp_path / "x").entries


def test_extract_from_unseekable_stream(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "image.aci"
    image_id = write_aci(MANIFEST, tree, out, compression="gzip")
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with open(write_fd, "wb") as pipe:
            for start in range(0, out.stat().st_size, 1000):  # small writes: short reads
                pipe.write(out.read_bytes()[start : start + 1000])

    feeder = threading.Thread(target=feed)
    feeder.start()
    with open(read_fd, "rb", buffering=0) as pipe:
        result = extract_image(pipe, tmp_path / "x", name="pipe")
    feeder.join()
    assert result.image_id == image_id
    assert describe(tmp_path / "x" / "rootfs") == describe(tree)


def test_expected_id(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "image.aci"
    image_id = write_aci(MANIFEST, tree, out)
    extract_image(out, tmp_path / "full", expected_id=image_id)
    extract_image(out, tmp_path / "key", expected_id=image_id[: 7 + 64])  # rkt's store key
    wrong = "sha512-" + "0" * 128
    with pytest.raises(ArchiveError, match="does not match"):
        extract_image(out, tmp_path / "wrong", expected_id=wrong)
    assert not (tmp_path / "wrong").exists()
    with pytest.raises(ArchiveError, match="does not match"):
        inspect_image(out, expected_id=wrong)


def test_destination_rules(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "i.aci", [manifest(), f("rootfs/x")])
    (tmp_path / "empty").mkdir()
    extract_image(path, tmp_path / "empty")  # an empty directory is replaced
    assert (tmp_path / "empty" / "rootfs" / "x").exists()
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep").write_bytes(b"keep")
    with pytest.raises(ArchiveError, match="already exists"):
        extract_image(path, full)
    assert os.listdir(full) == ["keep"]


def test_size_limit(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "image.aci"
    write_aci(MANIFEST, tree, out, compression="gzip")
    size = inspect_image(out).size
    assert extract_image(out, tmp_path / "ok", max_size=size).size == size
    with pytest.raises(ArchiveError, match="limit"):
        extract_image(out, tmp_path / "x", max_size=size - 1)
    with pytest.raises(ArchiveError, match="limit"):
        inspect_image(out, max_size=size - 1)
    with pytest.raises(ArchiveError, match="limit"):
        image_id_of(out, max_size=size - 1)
    assert not (tmp_path / "x").exists()


def test_progress_is_reported(tree: Path, tmp_path: Path) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.steps: list[str] = []
            self.advanced = 0

        def step(self, message: str) -> None:
            self.steps.append(message)

        def total(self, amount: int | None) -> None:
            pass

        def advance(self, amount: int = 1) -> None:
            self.advanced += amount

    out = tmp_path / "image.aci"
    write_aci(MANIFEST, tree, out)
    recorder = Recorder()
    result = extract_image(out, tmp_path / "x", progress=recorder)
    assert recorder.steps and recorder.advanced == result.size


def test_tar_hash_matches_hashlib_over_the_same_bytes(tmp_path: Path) -> None:
    payload = os.urandom(2 << 20)
    data = tar_bytes([manifest(), d("rootfs"), f("rootfs/blob", payload)])
    path = tmp_path / "blob.aci"
    path.write_bytes(data)
    result = extract_image(path, tmp_path / "x")
    assert result.image_id == "sha512-" + hashlib.sha512(data).hexdigest()
    assert (tmp_path / "x" / "rootfs" / "blob").read_bytes() == payload


def test_modes_do_not_depend_on_the_umask(tmp_path: Path) -> None:
    path = write_archive(
        tmp_path / "m.aci",
        [manifest(), d("rootfs", 0o755), f("rootfs/r", mode=0o644), f("rootfs/x", mode=0o755)],
    )
    old = os.umask(0o077)
    try:
        extract_image(path, tmp_path / "x")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "x" / "rootfs" / "r").st_mode & 0o7777 == 0o644
    assert os.stat(tmp_path / "x" / "rootfs" / "x").st_mode & 0o7777 == 0o755
    assert os.stat(tmp_path / "x" / "rootfs").st_mode & 0o7777 == 0o755


@pytest.mark.skipif(not IS_ROOT, reason="needs root to chown")
def test_owners_do_not_depend_on_a_setgid_parent(tmp_path: Path) -> None:
    parent = tmp_path / "shared"
    parent.mkdir()
    os.chown(parent, 0, 4321)
    parent.chmod(0o2775)
    path = write_archive(
        tmp_path / "o.aci", [manifest(), d("rootfs"), f("rootfs/f"), f("rootfs/a/implied")]
    )
    extract_image(path, parent / "x")
    for rel in ("rootfs", "rootfs/f", "rootfs/a", "rootfs/a/implied", "manifest"):
        st = os.stat(parent / "x" / rel)
        assert (st.st_uid, st.st_gid) == (0, 0), rel


def test_owner_and_xattr_options(tmp_path: Path) -> None:
    owned = E("rootfs/owned", data=b"x", uid=1234, gid=4321, pax={"SCHILY.xattr.user.k": "v"})
    path = write_archive(tmp_path / "o.aci", [manifest(), d("rootfs"), owned])
    extract_image(path, tmp_path / "x", same_owner=False, xattrs=False)
    st = os.stat(tmp_path / "x" / "rootfs" / "owned")
    assert (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid())
    assert os.listxattr(tmp_path / "x" / "rootfs" / "owned") == []


def test_xattrs_the_file_system_refuses_become_warnings(tmp_path: Path) -> None:
    if not _xattrs_supported(tmp_path):
        pytest.skip("no user xattrs on this file system")
    # Linux allows user.* xattrs on regular files and directories only, not on symlinks
    link = E("rootfs/link", tarfile.SYMTYPE, linkname="target", pax={"SCHILY.xattr.user.k": "v"})
    path = write_archive(tmp_path / "w.aci", [manifest(), d("rootfs"), link])
    result = extract_image(path, tmp_path / "x")
    assert len(result.warnings) == 1
    assert "rootfs/link: xattr user.k not restored" in result.warnings[0]
    assert os.readlink(tmp_path / "x" / "rootfs" / "link") == "target"
