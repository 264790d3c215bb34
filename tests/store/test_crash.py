"""Crash safety and concurrency: kill -9 mid-import, parallel fetches, verify repairs."""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from pathlib import Path

import pytest

from carpool.store import Store
from tests.conftest import CARPOOL, Cli
from tests.store.acis import build_aci, dep
from tests.store.conftest import ImportFn


@pytest.fixture(scope="module")
def big_aci(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~40 MB, a few big files and many small ones: an import takes a while."""
    rng = random.Random(7)
    files: dict[str, bytes | str] = {f"big/{i}": rng.randbytes(8 << 20) for i in range(4)}
    for i in range(1500):
        files[f"small/{i % 30}/{i}"] = rng.randbytes(rng.randint(100, 8000))
    return build_aci(tmp_path_factory.mktemp("big") / "big.aci", "t/big", files)


def _store_state(data_dir: Path) -> dict[str, list[str]]:
    index_file = data_dir / "cas/index.json"
    index = json.loads(index_file.read_text())["images"] if index_file.exists() else {}
    return {
        "index": sorted(index),
        "blobs": sorted(os.listdir(data_dir / "cas/blobs")),
        "images": sorted(os.listdir(data_dir / "cas/images")),
        "tmp": os.listdir(data_dir / "cas/tmp") + os.listdir(data_dir / "cas/trash"),
    }


def _assert_consistent(data_dir: Path) -> list[str]:
    state = _store_state(data_dir)
    assert state["tmp"] == []
    assert state["index"] == state["blobs"] == state["images"]
    return state["index"]


def test_parallel_fetches_of_one_image_leave_one_copy(carpool: Cli, big_aci: Path) -> None:
    procs = [
        subprocess.Popen(
            [*CARPOOL, "fetch", str(big_aci)],
            env=carpool.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ids = {out.strip() for out, _ in outputs}
    assert len(ids) == 1
    assert _assert_consistent(carpool.data_dir) == sorted(ids)
    assert carpool("image", "verify").stdout.startswith("store was consistent: 1 images")


def test_kill_9_at_any_point_of_an_import(carpool: Cli, big_aci: Path, tmp_path: Path) -> None:
    tmp = carpool.data_dir / "cas/tmp"
    interrupted = completed = 0
    for delay in (0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2):
        proc = subprocess.Popen(
            [*CARPOOL, "fetch", str(big_aci)],
            env=carpool.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while proc.poll() is None and not (tmp.is_dir() and any(tmp.iterdir())):
            assert time.monotonic() < deadline
            time.sleep(0.002)
        time.sleep(delay)
        proc.kill()
        proc.wait()
        carpool("image", "verify")
        assert carpool("image", "verify").stdout.startswith("store was consistent")
        ids = _assert_consistent(carpool.data_dir)
        if ids:
            completed += 1
            out = tmp_path / f"render-{delay}"
            carpool("image", "render", "--rootfs", "t/big", out)
            assert (out / "big/3").stat().st_size == 8 << 20
            assert len(list((out / "small").rglob("*"))) == 1530
            carpool("image", "rm", "t/big")
        else:
            interrupted += 1
    assert interrupted >= 3, "no kill landed in the middle of an import"
    carpool("fetch", big_aci)  # and the store still imports normally


def test_verify_rebuilds_a_missing_or_broken_index(add: ImportFn, store: Store) -> None:
    a = add("t/a", {"a": "a"}, labels={"version": "1"})
    b = add("t/b", {"b": "b"})
    before = {r.id: (r.name, r.labels, r.size) for r in store.images()}
    store.layout.index.unlink()
    report = store.verify()
    assert sorted(report.actions) == sorted(
        f"image {r.short_id} ({r.name}) was missing from the index: added" for r in (a, b)
    )
    assert {r.id: (r.name, r.labels, r.size) for r in store.images()} == before
    store.layout.index.write_text('{"version": 1, "images": {"sha512-00": ')
    report = store.verify()
    assert report.actions[0].startswith("index was unreadable")
    assert {r.id for r in store.images()} == {a.id, b.id}
    assert store.verify().consistent_before


def test_verify_drops_images_whose_archive_is_missing_or_corrupt(
    add: ImportFn, store: Store
) -> None:
    a = add("t/a", {"a": "a"})
    b = add("t/b", {"b": "b"})
    c = add("t/c", {"c": "c"})
    d = add("t/d", {"d": "d" * 100_000}, compression="gz")
    truncated = store.layout.blob(d.id)
    truncated.write_bytes(truncated.read_bytes()[:200])
    store.render_tree(a.id)
    store.layout.blob(a.id).unlink()
    blob = store.layout.blob(b.id)
    data = bytearray(blob.read_bytes())
    data[600] ^= 0xFF  # inside a file's content: the tar still reads, the hash differs
    blob.write_bytes(bytes(data))
    report = store.verify()
    assert f"image {a.short_id} (t/a) had no archive: removed" in report.actions
    assert any(line.startswith(f"image {b.short_id}: archive is") for line in report.actions)
    assert any(
        line.startswith(f"image {d.short_id}: archive is unreadable") for line in report.actions
    )
    assert any("built from images no longer stored" in line for line in report.actions)
    assert [r.id for r in store.images()] == [c.id]
    assert _assert_consistent(store.layout.root) == [c.id]
    assert os.listdir(store.layout.trees) == []


def test_verify_restores_tampered_image_files_and_drops_their_trees(
    add: ImportFn, store: Store
) -> None:
    base = add("t/base", {"bin/sh": "good shell"})
    top = add("t/top", {"app": "app"}, dependencies=[dep("t/base")])
    tree = store.render_tree(top.id)
    layer_file = store.layout.image_dir(base.id) / "rootfs/bin/sh"
    st = layer_file.stat()
    layer_file.write_text("evil shell")  # same size, mtime put back: only a deep check sees it
    os.utime(layer_file, ns=(st.st_atime_ns, st.st_mtime_ns))
    report = store.verify()
    restored = f"image {base.short_id}: rootfs/bin/sh changed content: extracted again"
    assert any(line.startswith(restored) for line in report.actions)
    assert any("built from damaged image files" in line for line in report.actions)
    assert not tree.exists()
    assert (store.render_tree(top.id) / "bin/sh").read_text() == "good shell"
    assert store.verify().consistent_before


def test_verify_completes_interrupted_import_and_removal(add: ImportFn, store: Store) -> None:
    a = add("t/a", {"a": "a"})
    b = add("t/b", {"b": "b"})
    # import killed after its files and blob were placed, before the index entry
    # removal killed after the blob went, before the index entry
    entries = json.loads(store.layout.index.read_text())
    del entries["images"][a.id]
    store.layout.index.write_text(json.dumps(entries))
    store.layout.blob(b.id).unlink()
    (store.layout.images / "sha512-half-extracted").mkdir()
    report = store.verify()
    assert f"image {a.short_id} (t/a) was missing from the index: added" in report.actions
    assert f"image {b.short_id} (t/b) had no archive: removed" in report.actions
    assert _assert_consistent(store.layout.root) == [a.id]
