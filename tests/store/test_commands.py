"""Every store command, through the real CLI, against a temp data dir."""

from __future__ import annotations

import functools
import http.server
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.store.acis import Symlink, build_aci, dep


@pytest.fixture
def app_aci(tmp_path: Path) -> Path:
    return build_aci(
        tmp_path / "app.aci",
        "example.com/app",
        {"bin/app": "#!/bin/sh\n", "etc/app.conf": "x=1\n", "lib": Symlink("usr/lib")},
        labels={"version": "1.0", "os": "linux", "arch": "amd64"},
        compression="gz",
    )


def test_fetch_prints_the_id_and_is_idempotent(carpool: Cli, app_aci: Path) -> None:
    first = carpool("fetch", app_aci).stdout.strip()
    assert first.startswith("sha512-") and len(first) == 135
    assert carpool("fetch", app_aci, app_aci).stdout.split() == [first, first]
    listing = json.loads(carpool("image", "list", "--format", "json").stdout)
    assert [entry["id"] for entry in listing] == [first]
    entry = listing[0]
    assert entry["name"] == "example.com/app" and entry["version"] == "1.0"
    assert entry["labels"] == {"version": "1.0", "os": "linux", "arch": "amd64"}
    assert entry["size"] > 0 and entry["imported_at"].endswith("Z")


def test_fetch_errors_are_one_line(carpool: Cli, tmp_path: Path) -> None:
    missing = carpool("fetch", tmp_path / "nope.aci", check=False)
    assert missing.returncode == 1
    assert missing.stderr == f"error: {tmp_path / 'nope.aci'}: no such file\n"
    (tmp_path / "junk.aci").write_bytes(b"not an archive" * 100)
    junk = carpool("fetch", tmp_path / "junk.aci", check=False)
    assert junk.returncode == 1
    errors = [line for line in junk.stderr.splitlines() if not line.startswith("[")]
    assert len(errors) == 1
    assert errors[0].startswith(f"error: {tmp_path / 'junk.aci'}: not an ACI archive")
    assert "Traceback" not in junk.stderr
    remote = carpool("fetch", "https://example.com/app.aci", check=False)
    assert remote.returncode == 2 and "--insecure-options=image" in remote.stderr
    bad = carpool("fetch", "--insecure-options=imag", "x.aci", check=False)
    assert bad.returncode == 2 and "--insecure-options" in bad.stderr
    assert json.loads(carpool("image", "list", "--format", "json").stdout) == []
    assert not any((carpool.data_dir / "cas/tmp").iterdir())


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_fetch_over_http_needs_insecure_image(
    carpool: Cli, app_aci: Path, http_dir: tuple[str, Path]
) -> None:
    url, served = http_dir
    (served / "app.aci").write_bytes(app_aci.read_bytes())
    refused = carpool("fetch", f"{url}/app.aci", check=False)
    assert refused.returncode == 2 and "signature" in refused.stderr
    image_id = carpool("fetch", "--insecure-options=image", f"{url}/app.aci").stdout.strip()
    assert image_id == carpool("fetch", app_aci).stdout.strip()
    absent = carpool("fetch", "--insecure-options=image", f"{url}/absent.aci", check=False)
    assert absent.returncode == 1 and "HTTP 404" in absent.stderr


def test_list_cat_manifest_export(carpool: Cli, app_aci: Path, tmp_path: Path) -> None:
    image_id = carpool("fetch", app_aci).stdout.strip()
    table = carpool("image", "list").stdout.splitlines()
    assert table[0].split("\t") == ["ID", "NAME", "VERSION", "LABELS", "SIZE", "IMPORT TIME"]
    row = table[1].split("\t")
    assert row[:4] == [image_id[:19], "example.com/app", "1.0", "os=linux,arch=amd64"]
    assert carpool("image", "list", "--full").stdout.splitlines()[1].startswith(image_id)
    manifest = json.loads(carpool("image", "cat-manifest", "example.com/app:1.0").stdout)
    assert manifest["name"] == "example.com/app"
    carpool("image", "export", image_id[:20], tmp_path / "out.aci")
    assert (tmp_path / "out.aci").read_bytes() == app_aci.read_bytes()
    again = carpool("image", "export", image_id[:20], tmp_path / "out.aci", check=False)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    carpool("image", "export", "--overwrite", "example.com/app", tmp_path / "out.aci")
    missing = carpool("image", "cat-manifest", "example.com/nope", check=False)
    assert missing.returncode == 1
    assert missing.stderr == "error: no image example.com/nope in the store\n"


def test_export_never_replaces_a_node_that_is_not_a_file(
    carpool: Cli, app_aci: Path, tmp_path: Path
) -> None:
    carpool("fetch", app_aci)
    fifo, link = tmp_path / "fifo", tmp_path / "link"
    os.mkfifo(fifo)
    link.symlink_to(tmp_path / "elsewhere.aci")
    for node in (fifo, link):
        out = carpool("image", "export", "--overwrite", "example.com/app", node, check=False)
        assert out.returncode == 1
        assert out.stderr == f"error: {node}: exists and is not a regular file\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink()
    assert not (tmp_path / "elsewhere.aci").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_extract_and_render(carpool: Cli, tmp_path: Path) -> None:
    base = build_aci(tmp_path / "base.aci", "t/base", {"bin/sh": "sh", "etc/base": "b"})
    top = build_aci(tmp_path / "top.aci", "t/top", {"app": "a"}, dependencies=[dep("t/base")])
    refused = carpool("fetch", top)
    broken = carpool("image", "render", "t/top", tmp_path / "r0", check=False)
    assert broken.returncode == 1
    assert (
        broken.stderr == "error: dependency t/base of t/top is not in the store; fetch it first\n"
    )
    assert not (tmp_path / "r0").exists()
    carpool("fetch", base)
    assert refused.stdout.strip()

    carpool("image", "extract", "t/top", tmp_path / "x")
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["manifest", "rootfs"]
    assert [p.name for p in (tmp_path / "x/rootfs").iterdir()] == ["app"]
    (tmp_path / "xr").mkdir()  # an empty directory is fine
    carpool("image", "extract", "--rootfs", "t/top", tmp_path / "xr")
    assert [p.name for p in (tmp_path / "xr").iterdir()] == ["app"]

    carpool("image", "render", "t/top", tmp_path / "r")
    assert json.loads((tmp_path / "r/manifest").read_text())["name"] == "t/top"
    files = sorted(
        str(p.relative_to(tmp_path / "r/rootfs")) for p in (tmp_path / "r/rootfs").rglob("*")
    )
    assert files == ["app", "bin", "bin/sh", "etc", "etc/base"]
    carpool("image", "render", "--rootfs", "t/top", tmp_path / "rr")
    (tmp_path / "rr/app").write_text("mine")  # a private copy: the store is untouched
    carpool("image", "render", "--rootfs", "t/top", tmp_path / "rr2")
    assert (tmp_path / "rr2/app").read_text() == "a"
    busy = carpool("image", "render", "t/top", tmp_path / "rr", check=False)
    assert busy.returncode == 2 and "--overwrite" in busy.stderr
    carpool("image", "render", "--rootfs-only", "--overwrite", "t/top", tmp_path / "rr")
    assert (tmp_path / "rr/app").read_text() == "a"
    carpool("image", "extract", "--overwrite", "t/top", tmp_path / "rr")
    assert sorted(p.name for p in (tmp_path / "rr").iterdir()) == ["manifest", "rootfs"]
    (tmp_path / "file").write_text("")
    not_dir = carpool("image", "extract", "t/top", tmp_path / "file", check=False)
    assert not_dir.returncode == 2 and "is a file" in not_dir.stderr


def test_rm(carpool: Cli, app_aci: Path, tmp_path: Path) -> None:
    image_id = carpool("fetch", app_aci).stdout.strip()
    carpool("image", "render", "example.com/app", tmp_path / "r")
    assert any((carpool.data_dir / "trees").iterdir())
    partly = carpool("image", "rm", "example.com/nope", image_id[:15], check=False)
    assert partly.returncode == 1
    assert partly.stdout == f"removed {image_id}\n"
    assert "example.com/nope" in partly.stderr
    assert json.loads(carpool("image", "list", "--format", "json").stdout) == []
    for sub in ("cas/blobs", "cas/images", "trees"):
        assert not any((carpool.data_dir / sub).iterdir()), sub


def test_gc_removes_old_trees_and_leftovers(carpool: Cli, app_aci: Path, tmp_path: Path) -> None:
    carpool("fetch", app_aci)
    carpool("image", "render", "example.com/app", tmp_path / "r")
    leftover = carpool.data_dir / "cas/tmp/import-crashed"
    leftover.mkdir()
    kept = carpool("image", "gc").stdout
    assert kept == "removed leftover tmp/import-crashed\n"
    assert len(list((carpool.data_dir / "trees").iterdir())) == 1
    bad = carpool("image", "gc", "--grace", "soon", check=False)
    assert bad.returncode == 2 and "--grace" in bad.stderr
    removed = carpool("image", "gc", "--grace", "0s").stdout
    assert removed.startswith("removed rendered tree deps-sha512-")
    assert not any((carpool.data_dir / "trees").iterdir())
    carpool("image", "render", "example.com/app", tmp_path / "r2")  # rendered again on demand


def test_verify_clean_store(carpool: Cli, app_aci: Path, tmp_path: Path) -> None:
    carpool("fetch", app_aci)
    carpool("image", "render", "example.com/app", tmp_path / "r")
    out = carpool("image", "verify").stdout
    assert out == "store was consistent: 1 images, 1 rendered trees checked\n"
