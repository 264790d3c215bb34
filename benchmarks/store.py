"""Image store: import + render of a ~200 MB image against ``tar -x`` of the same tar.

The image mixes a few big files with many small ones in nested directories.  Both sides
start warm (the archive is in the page cache) and write to the same file system; each is
run several times, alternating, and the medians are compared.  Target: ratio <= 1.5.

    .venv/bin/python benchmarks/store.py [--runs 3] [--small 12000] [--big-mb 150] [--dir D]

On a disk file system the figure is dominated by writing the data out (and by other
processes' fsyncs); ``--dir /dev/shm`` measures the CPU side alone, where hashing the
tar with SHA-512 (which ``tar -x`` does not do) costs about as much as ``tar -x`` itself.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from carpool.aci import write_aci
from carpool.store import Store

TARGET = 1.5


def make_rootfs(rootfs: Path, *, big_mb: int, small: int, seed: int = 42) -> int:
    """A few big files (``big_mb`` MB in total) and ``small`` files of 0.5-8 KiB."""
    rng = random.Random(seed)
    total = 0
    (rootfs / "opt/app/lib").mkdir(parents=True)
    sizes = [big_mb * 1024 * 1024 * share // 100 for share in (45, 30, 15, 10)]
    for i, size in enumerate(sizes):
        data = os.urandom(size)
        (rootfs / f"opt/app/lib/big-{i}.so").write_bytes(data)
        total += size
    for i in range(small):
        directory = rootfs / f"usr/share/pkg{i % 60}/sub{i % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(rng.randint(512, 8192))
        (directory / f"file-{i}.txt").write_bytes(data)
        total += len(data)
        if i % 50 == 0:
            (directory / f"link-{i}").symlink_to(f"file-{i}.txt")
    return total


def make_image(work: Path, *, big_mb: int, small: int) -> Path:
    rootfs = work / "src-rootfs"
    rootfs.mkdir()
    payload = make_rootfs(rootfs, big_mb=big_mb, small=small)
    manifest = {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "bench.example/big"}
    image = work / "big.aci"
    write_aci(json.dumps(manifest).encode(), rootfs, image, compression="none", mtime=1_600_000_000)
    shutil.rmtree(rootfs)
    print(f"image: {image.stat().st_size / 1e6:.0f} MB uncompressed tar, "
          f"{payload / 1e6:.0f} MB of file data, {small + 4} files")  # fmt: skip
    return image


def time_tar(image: Path, work: Path) -> float:
    dest = work / "tar-out"
    dest.mkdir()
    os.sync()  # start with no dirty pages from the previous run
    start = time.perf_counter()
    subprocess.run(["tar", "-xf", str(image), "-C", str(dest)], check=True)
    elapsed = time.perf_counter() - start
    shutil.rmtree(dest)
    return elapsed


def time_carpool(image: Path, work: Path) -> tuple[float, float]:
    store = Store(work / "store")
    os.sync()
    start = time.perf_counter()
    record = store.import_aci(image)
    imported = time.perf_counter()
    rootfs = store.render_tree(record.id)
    rendered = time.perf_counter()
    assert (rootfs / "opt/app/lib/big-0.so").is_file()
    shutil.rmtree(work / "store")
    return imported - start, rendered - imported


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big-mb", type=int, default=150)
    parser.add_argument("--small", type=int, default=12000)
    parser.add_argument("--dir", type=Path, default=None, help="scratch dir (default: a temp dir)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="carpool-bench-", dir=args.dir))
    try:
        image = make_image(work, big_mb=args.big_mb, small=args.small)
        image.read_bytes()  # warm the page cache for both sides
        tar_times, import_times, render_times = [], [], []
        for _ in range(args.runs):
            tar_times.append(time_tar(image, work))
            imported, rendered = time_carpool(image, work)
            import_times.append(imported)
            render_times.append(rendered)
        tar = statistics.median(tar_times)
        imp = statistics.median(import_times)
        ren = statistics.median(render_times)
        ratio = (imp + ren) / tar
        runs = ", ".join(f"{t:.2f}" for t in tar_times)
        print(f"tar -x:                  {tar:6.2f} s  (runs: {runs})")
        print(
            f"carpool import + render: {imp + ren:6.2f} s  (import {imp:.2f} s, render {ren:.2f} s)"
        )
        verdict = "OK" if ratio <= TARGET else "OVER TARGET"
        print(f"ratio: {ratio:.2f}x  (target <= {TARGET}x)  {verdict}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
