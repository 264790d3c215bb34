"""The library API the runtime and builder use: stream imports, gc with trees in use."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from carpool.errors import StoreError
from carpool.store import Store
from tests.conftest import Cli
from tests.store.acis import build_aci
from tests.store.conftest import ImportFn


@pytest.mark.parametrize("compression", ["", "gz", "xz"])
def test_import_from_a_pipe_keeps_the_archive_byte_for_byte(
    store: Store, tmp_path: Path, compression: str
) -> None:
    aci = build_aci(tmp_path / "a.aci", "t/a", {"f": "x" * 5000}, compression=compression)
    with (
        open(aci, "rb") as file,
        subprocess.Popen(["cat"], stdin=file, stdout=subprocess.PIPE) as cat,
    ):
        assert cat.stdout is not None
        record = store.import_aci(cat.stdout)
    assert record == store.import_aci(aci)  # same image, same record: nothing duplicated
    store.export(record.id, tmp_path / "out.aci")
    assert (tmp_path / "out.aci").read_bytes() == aci.read_bytes()
    assert record.blob_size == aci.stat().st_size
    assert os.listdir(store.layout.blobs) == [record.id]


def test_gc_keeps_trees_in_use_and_recent_ones(add: ImportFn, store: Store) -> None:
    a = add("t/a", {"a": "a"})
    b = add("t/b", {"b": "b"})
    in_use = store.render_tree(a.id)
    idle = store.render_tree(b.id)
    assert store.gc(grace=3600).trees == []
    old = time.time() - 7200
    for tree in (in_use, idle):
        os.utime(tree.parent / "stamp.json", (old, old))
    report = store.gc(grace=3600, in_use=[in_use])
    assert report.trees == [idle.parent.name]
    assert in_use.is_dir() and not idle.exists()
    assert store.render_tree(b.id).is_dir()  # rendered again on demand


def test_manifest_and_records(add: ImportFn, store: Store) -> None:
    a = add("t/a", {"a": "a"}, labels={"version": "1", "os": "linux"})
    assert store.manifest(a.id).name == "t/a"
    assert a.version == "1" and a.labels == {"version": "1", "os": "linux"}
    assert a.short_id == a.id[:19]
    assert [r.id for r in store.images()] == [a.id]
    assert store.get(a.id).imported_at == a.imported_at


def test_unreadable_index_points_at_verify(carpool: Cli, tmp_path: Path) -> None:
    aci = build_aci(tmp_path / "a.aci", "t/a", {"a": "a"})
    carpool("fetch", f"file://{aci}")
    (carpool.data_dir / "cas/index.json").write_text("{garbage")
    broken = carpool("image", "list", check=False)
    assert broken.returncode == 1
    assert broken.stderr.startswith("error: ") and "carpool image verify" in broken.stderr
    assert len(broken.stderr.splitlines()) == 1
    assert "rebuilt from the blobs" in carpool("image", "verify").stdout
    assert "t/a" in carpool("image", "list").stdout
    with pytest.raises(StoreError):
        (carpool.data_dir / "cas/index.json").write_text("[]")
        Store(carpool.data_dir).images()
