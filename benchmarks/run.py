"""Start-up cost of a pod: ``carpool run`` vs bare ``runc run`` vs ``podman run --rootfs``.

Each measurement is the wall-clock time of the whole process, running ``/bin/true``
from the same busybox rootfs:

* ``runc``: ``runc run`` of a prepared bundle (``runc spec`` defaults): the floor;
* ``carpool``: ``carpool run --net none IMAGE --exec /bin/true`` with the image
  already in the store (the tree rendered once by a warm-up run);
* ``podman``: ``podman run --rm --runtime runc --network none --rootfs DIR /bin/true``
  (needs Debian's podman; skipped when it is not installed);
* ``python``: ``python -c pass``, the interpreter's own start and exit, and ``py+runc``:
  a two-line Python script that imports json, pathlib and typing and runs the runc
  bundle, for scale: the least any Python implementation of ``carpool run`` costs.

Runs are interleaved so that background load hits all three alike; the script prints
median and mean per tool and the ratios to runc.  Run as root: ``python benchmarks/run.py
[--runs N]``.  Byte-code caching is enabled for carpool (``PYTHONDONTWRITEBYTECODE`` is
removed from its environment), as it is for an installed carpool.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.runtime.images import build_aci  # noqa: E402

RUNC = shutil.which("runc") or "/usr/sbin/runc"
TARGET_RATIO = 2.0


CPU: dict[str, list[float]] = {}


def timed(argv: list[str], env: dict[str, str] | None = None, tool: str = "") -> float:
    """Wall-clock seconds of one run; its CPU seconds (user+sys) go to ``CPU[tool]``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU.setdefault(tool, []).append(cpu)
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}"
        )
    return elapsed


def runc_bundle(work: Path, rootfs: Path) -> Path:
    bundle = work / "bundle"
    bundle.mkdir()
    shutil.copytree(rootfs, bundle / "rootfs", symlinks=True)
    subprocess.run([RUNC, "spec"], cwd=bundle, check=True)
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["args"] = ["/bin/true"]
    config["process"]["terminal"] = False
    (bundle / "config.json").write_text(json.dumps(config))
    return bundle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per tool (default 20)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")

    with tempfile.TemporaryDirectory(prefix="carpool-bench-") as tmp:
        work = Path(tmp)
        aci = build_aci(work / "busybox.aci", name="bench.example.com/busybox")
        data_dir = work / "carpool-data"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["CARPOOL_DIR"] = str(data_dir)
        # the installed script next to this interpreter: what users run (no runpy)
        script = Path(sys.executable).with_name("carpool")
        carpool = [str(script)] if script.exists() else [sys.executable, "-m", "carpool"]
        subprocess.run([*carpool, "fetch", str(aci)], env=env, check=True, capture_output=True)
        image = "bench.example.com/busybox"
        carpool_run = [*carpool, "run", "--net", "none", image, "--exec", "/bin/true"]
        timed(carpool_run, env)  # renders the tree, writes byte-code caches

        rootfs = work / "rootfs"
        rootfs.mkdir()
        subprocess.run(
            ["tar", "-xf", str(aci), "-C", str(rootfs), "--strip-components=1", "rootfs"],
            check=True,
        )
        bundle = runc_bundle(work, rootfs)
        runc_root = work / "carpool-bench-runc"
        runc_run = [RUNC, "--root", str(runc_root), "run", "--bundle", str(bundle), "bench"]

        # for scale: the interpreter starting and exiting, and the least a Python tool can
        # be: import what any real one needs (json, pathlib, typing) and run the same bundle
        python_start = [sys.executable, "-c", "pass"]
        launcher = (
            "import json, os, pathlib, sys, typing\n"
            "os.waitpid(os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ), 0)"
        )
        python_runc = [sys.executable, "-c", launcher, *runc_run[:-1], "bench-python"]
        tools: dict[str, list[str]] = {
            "runc": runc_run,
            "carpool": carpool_run,
            "python": python_start,
            "py+runc": python_runc,
        }
        podman = shutil.which("podman")
        if podman:
            podman_rootfs = work / "podman-rootfs"
            shutil.copytree(rootfs, podman_rootfs, symlinks=True)
            tools["podman"] = [
                podman,
                "run",
                "--rm",
                "--runtime",
                "runc",
                "--network",
                "none",
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
                "--rootfs",
                str(podman_rootfs),
                "/bin/true",
            ]
            timed(tools["podman"])  # first podman run initialises its storage
        else:
            print("podman not installed: skipping it (apt-get install podman)", file=sys.stderr)
        timed(runc_run)

        samples: dict[str, list[float]] = {name: [] for name in tools}
        CPU.clear()
        load_before = f"{os.getloadavg()[0]:.2f}"
        for _ in range(args.runs):
            for name, argv in tools.items():
                samples[name].append(timed(argv, env if name == "carpool" else None, name))
        subprocess.run([*carpool, "gc", "--grace", "0s"], env=env, capture_output=True, check=True)

    floor = statistics.median(samples["runc"])
    cpu_floor = statistics.median(CPU["runc"])
    print(f"load average before/after: {load_before} / {os.getloadavg()[0]:.2f}")
    print(
        f"{'tool':8} {'median':>9} {'mean':>9} {'min':>9} {'ratio':>6}"
        f" {'cpu med':>9} {'cpu ratio':>9}   (wall clock; cpu = user+sys of the process tree)"
    )
    for name, values in samples.items():
        median = statistics.median(values)
        cpu = statistics.median(CPU[name])
        print(
            f"{name:8} {median * 1000:7.1f}ms {statistics.mean(values) * 1000:7.1f}ms "
            f"{min(values) * 1000:7.1f}ms {median / floor:5.2f}x"
            f" {cpu * 1000:7.1f}ms {cpu / cpu_floor:8.2f}x"
        )
    ratio = statistics.median(samples["carpool"]) / floor
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"carpool: {ratio:.2f}x runc (target <= {TARGET_RATIO:.1f}x: {verdict})")
    launcher = statistics.median(samples["py+runc"]) / floor
    print(
        f"for scale: a 2-line Python script importing json, pathlib and typing and running "
        f"the same runc bundle takes {launcher:.2f}x runc (python: interpreter start alone)"
    )


if __name__ == "__main__":
    main()
