"""Where ``carpool run``'s own start-up time goes, below the CLI: imports vs. work.

Calls :func:`carpool.runtime.lifecycle.run` exactly as ``carpool run --net none IMAGE
--exec /bin/true`` does (the CLI's parsing is the lead's part and not measured here),
in a fresh interpreter per sample, and reports how long importing the runtime took and
how long the pod took from ``lifecycle.run`` to its return (which includes runc)::

    python benchmarks/run_profile.py setup DIR      # store with a busybox image + warm-up
    python benchmarks/run_profile.py bench DIR [--runs 30]   # medians of fresh runs
    python benchmarks/run_profile.py once DIR [--cprofile FILE]  # one sample (JSON line)
    python benchmarks/run_profile.py modules DIR   # the modules the run path imports

``once`` is what ``bench`` spawns; use it directly under ``python -X importtime``,
``strace -f -tt`` or ``perf stat -r 20``.  ``--cprofile FILE`` writes the profile of the
work (not the imports) to FILE for ``python -m pstats``.  Run as root (pods need it).
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()

import sys  # noqa: E402

IMAGE = "bench.example.com/busybox"


def _once(data_dir: str, cprofile: str | None) -> None:
    """One sample in this (fresh) interpreter: a JSON line with imports and work in ms."""
    before = time.perf_counter()
    from pathlib import Path

    from carpool.runtime import lifecycle
    from carpool.runtime.options import (
        AppOptions,
        PodOptions,
        RunOptions,
        parse_dns,
        parse_insecure,
        parse_net,
    )

    imported = time.perf_counter()
    # as carpool.cli.pods: _pod_options, _parse_apps and _run_options
    options = PodOptions(pod_manifest=None, ports=[])
    options.env += []
    options.volumes = []
    app = AppOptions(image=IMAGE)
    app.exec = "/bin/true"
    options.apps = [app]
    servers, search = parse_dns([], [])
    opts = RunOptions(
        net=parse_net(["none"]),
        hostname=None,
        dns=servers,
        dns_search=search,
        dns_opt=[],
        interactive=False,
        insecure=parse_insecure([]),
        stop_timeout=10.0,
    )
    if cprofile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    status = lifecycle.run(Path(data_dir), options, opts)
    done = time.perf_counter()
    if cprofile:
        profiler.disable()
        profiler.dump_stats(cprofile)
    if status != 0:
        raise SystemExit(f"pod exited {status}")
    modules = len(sys.modules)
    import os

    if os.environ.get("RUN_PROFILE_MODULES"):
        print("\n".join(sorted(sys.modules)), file=sys.stderr)
    print(
        f'{{"imports_ms": {(imported - before) * 1000:.2f}, '
        f'"work_ms": {(done - started) * 1000:.2f}, '
        f'"to_return_ms": {(done - _STARTED) * 1000:.2f}, "modules": {modules}}}'
    )


def _setup(data_dir: str) -> None:
    import subprocess
    import tempfile
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(repo))
    from tests.runtime.images import build_aci

    with tempfile.TemporaryDirectory() as tmp:
        aci = build_aci(Path(tmp) / "busybox.aci", name=IMAGE)
        env = {"CARPOOL_DIR": data_dir, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        subprocess.run([sys.executable, "-m", "carpool", "fetch", str(aci)], env=env, check=True)
    _once(data_dir, None)  # renders the tree, writes byte-code caches


def _bench(data_dir: str, runs: int) -> None:
    import json
    import os
    import statistics
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    samples: dict[str, list[float]] = {}
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "once", data_dir],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        walls.append((time.perf_counter() - started) * 1000)
        for key, value in json.loads(proc.stdout.splitlines()[-1]).items():
            samples.setdefault(key, []).append(float(value))
    samples["process_ms"] = walls
    for key, values in samples.items():
        print(
            f"{key:14} median {statistics.median(values):7.2f}  min {min(values):7.2f}"
            f"  max {max(values):7.2f}  (n={len(values)})"
        )


def _modules(data_dir: str) -> None:
    import os
    import subprocess

    env = {**os.environ, "RUN_PROFILE_MODULES": "1"}
    subprocess.run([sys.executable, __file__, "once", data_dir], env=env, check=True)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("setup", "bench", "once", "modules"))
    parser.add_argument("data_dir", help="the CARPOOL_DIR to use (setup creates it)")
    parser.add_argument("--runs", type=int, default=30, help="bench: samples (default 30)")
    parser.add_argument("--cprofile", help="once: write a cProfile of the work here")
    args = parser.parse_args()
    if args.mode == "setup":
        _setup(args.data_dir)
    elif args.mode == "bench":
        _bench(args.data_dir, args.runs)
    elif args.mode == "modules":
        _modules(args.data_dir)
    else:
        _once(args.data_dir, args.cprofile)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "once" and len(sys.argv) == 3:
        _once(sys.argv[2], None)  # without argparse: its import would count as start-up
    else:
        main()
