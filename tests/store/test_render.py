"""Rendering with dependencies (appc layering rules) and the rendered-tree cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from carpool.store import MissingDependencyError, Store
from tests.store.acis import Dir, Symlink, dep
from tests.store.conftest import ImportFn


def test_depth_first_order_later_layers_win(add: ImportFn, store: Store) -> None:
    # A -> [B, C], C -> [D]: layers B, D, C, A
    add("t/b", {"x": "b", "z": "b", "b-only": "b", "all": "b"})
    add("t/d", {"x": "d", "y": "d", "all": "d"})
    add("t/c", {"y": "c", "z": "c", "all": "c"}, dependencies=[dep("t/d")])
    a = add("t/a", {"all": "a"}, dependencies=[dep("t/b"), dep("t/c")])
    assert [layer.image_id for layer in store.layers(a.id)] == [
        store.resolve(n).id for n in ("t/b", "t/d", "t/c", "t/a")
    ]
    rootfs = store.render_tree(a.id)
    found = {n: (rootfs / n).read_text() for n in ("x", "y", "z", "b-only", "all")}
    assert found == {"x": "d", "y": "c", "z": "c", "b-only": "b", "all": "a"}


def test_path_whitelist_applies_per_branch(add: ImportFn, store: Store) -> None:
    add("t/d", {"etc/kept": "d", "etc/dropped": "d", "usr/lib/x": "d"})
    add("t/b", {"etc/dropped": "b", "b": "b"})
    add("t/c", {"c": "c", "c-extra": "c"}, dependencies=[dep("t/d")], whitelist=["/c", "/etc/kept"])
    a = add("t/a", {"a": "a"}, dependencies=[dep("t/b"), dep("t/c")])
    rootfs = store.render_tree(a.id)
    files = sorted(str(p.relative_to(rootfs)) for p in rootfs.rglob("*"))
    # B is not under C's whitelist, so its etc/dropped survives; D's does not
    assert files == ["a", "b", "c", "etc", "etc/dropped", "etc/kept"]
    assert (rootfs / "etc/dropped").read_text() == "b"


def test_top_whitelist_filters_every_layer(add: ImportFn, store: Store) -> None:
    add("t/base", {"bin/sh": "sh", "bin/ls": "ls", "etc/passwd": "root"})
    a = add(
        "t/a",
        {"app": "app", "junk": "j"},
        dependencies=[dep("t/base")],
        whitelist=["/app", "/bin/sh", "/etc"],
    )
    rootfs = store.render_tree(a.id)
    files = sorted(str(p.relative_to(rootfs)) for p in rootfs.rglob("*"))
    assert files == ["app", "bin", "bin/sh", "etc"]


def test_symlink_to_dir_in_lower_layer_is_replaced_not_followed(
    add: ImportFn, store: Store
) -> None:
    add("t/base", {"usr/lib/libbase": "base", "lib": Symlink("usr/lib"), "sbin": Symlink("/bin")})
    a = add("t/a", {"lib/libapp": "app", "sbin": "now a file"}, dependencies=[dep("t/base")])
    rootfs = store.render_tree(a.id)
    assert (rootfs / "lib").is_dir() and not (rootfs / "lib").is_symlink()
    assert os.listdir(rootfs / "lib") == ["libapp"]
    assert os.listdir(rootfs / "usr/lib") == ["libbase"]
    assert (rootfs / "sbin").read_text() == "now a file"


def test_file_and_dir_replace_each_other(add: ImportFn, store: Store) -> None:
    add("t/base", {"was-dir/inner": "x", "was-file": "f", "link": Symlink("was-file")})
    a = add(
        "t/a", {"was-dir": "file now", "was-file/inner": "dir now"}, dependencies=[dep("t/base")]
    )
    rootfs = store.render_tree(a.id)
    assert (rootfs / "was-dir").read_text() == "file now"
    assert (rootfs / "was-file/inner").read_text() == "dir now"
    assert (rootfs / "link").is_symlink()  # kept as is, pointing at a directory now


def test_shared_dependency_and_id_pinning(add: ImportFn, store: Store) -> None:
    d1 = add("t/d", {"v": "1"}, labels={"version": "1"})
    add("t/d", {"v": "2"}, labels={"version": "2"})
    a = add("t/a", {}, dependencies=[dep("t/d", d1.id[:71]), dep("t/d")])
    layers = [layer.image_id for layer in store.layers(a.id)]
    assert layers == [d1.id, store.resolve("t/d:2").id, a.id]
    assert (store.render_tree(a.id) / "v").read_text() == "2"


def test_missing_dependency_names_it(add: ImportFn, store: Store) -> None:
    a = add("t/a", {}, dependencies=[dep("t/present"), dep("t/absent", version="3")])
    with pytest.raises(
        MissingDependencyError, match=r"dependency t/present of t/a is not in the store"
    ):
        store.render_tree(a.id)
    add("t/present", {})
    with pytest.raises(MissingDependencyError, match=r"t/absent,version=3 of t/a"):
        store.render_tree(a.id)


def test_dependency_cycle_is_refused(add: ImportFn, store: Store) -> None:
    add("t/x", {}, dependencies=[dep("t/y")])
    y = add("t/y", {}, dependencies=[dep("t/x")])
    with pytest.raises(Exception, match="cycle"):
        store.render_tree(y.id)


def test_dir_metadata_comes_from_the_topmost_layer(add: ImportFn, store: Store) -> None:
    add("t/base", {"etc": Dir(0o700), "etc/x": "x", "opt": Dir(0o711)})
    a = add("t/a", {"etc": Dir(0o750), "etc/y": "y"}, dependencies=[dep("t/base")])
    rootfs = store.render_tree(a.id)
    assert (rootfs / "etc").stat().st_mode & 0o7777 == 0o750
    assert (rootfs / "opt").stat().st_mode & 0o7777 == 0o711
    assert (rootfs / "etc").stat().st_mtime == 1_600_000_000
    assert sorted(os.listdir(rootfs / "etc")) == ["x", "y"]


def test_tree_is_reused_and_hardlinked(add: ImportFn, store: Store) -> None:
    a = add("t/a", {"bin/tool": "tool"})
    first = store.render_tree(a.id)
    inode = first.stat().st_ino
    second = store.render_tree(a.id)
    assert second == first and second.stat().st_ino == inode
    layer_file = store.layout.image_dir(a.id) / "rootfs/bin/tool"
    assert (first / "bin/tool").stat().st_ino == layer_file.stat().st_ino


def test_tampered_tree_is_rendered_again(add: ImportFn, store: Store) -> None:
    a = add("t/a", {"bin/tool": "tool", "etc/conf": "conf"})
    rootfs = store.render_tree(a.id)
    (rootfs / "etc/conf").unlink()
    (rootfs / "intruder").write_text("x")
    again = store.render_tree(a.id)
    assert (again / "etc/conf").read_text() == "conf"
    assert not (again / "intruder").exists()


def test_file_rewritten_through_a_tree_is_restored_from_the_archive(
    add: ImportFn, store: Store
) -> None:
    a = add("t/a", {"bin/tool": "original"})
    rootfs = store.render_tree(a.id)
    (rootfs / "bin/tool").write_text("evil")  # shared inode: the image's files changed too
    again = store.render_tree(a.id)
    assert (again / "bin/tool").read_text() == "original"
    assert (store.layout.image_dir(a.id) / "rootfs/bin/tool").read_text() == "original"


def test_new_dependency_import_gets_a_new_tree(add: ImportFn, store: Store, tmp_path: Path) -> None:
    add("t/base", {"v": "1"})
    a = add("t/a", {}, dependencies=[dep("t/base")])
    first = store.render_tree(a.id)
    add("t/base", {"v": "2"})
    second = store.render_tree(a.id)
    assert second != first and (second / "v").read_text() == "2"
    assert (first / "v").read_text() == "1"  # a pod may still use the old tree
