"""What pod networking adds to ``carpool run``: the default CNI network vs ``--net none``.

Both runs start the same busybox image running ``/bin/true`` from the store (the
tree rendered by a warm-up run); runs are interleaved so background load hits
both alike.  The difference of the medians is the cost of networking as a user
sees it: ADD of ptp (veth, addresses, routes, masquerade chain) with host-local
IPAM and portmap, the CNI result written to the pod dir, and DEL of the chain at
exit.  A second table times the backend alone (setup + teardown on a netns made
with ``ip netns add``), without process start-up.

The default network is overridden by a config on 10.233.0.0/24 in a temporary
config dir, so a real ``/etc/carpool`` is never touched.  Target: under 50 ms.
Run as root: ``python benchmarks/network.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.runtime.images import build_aci  # noqa: E402

SUBNET = "10.233.0.0/24"
TARGET_MS = 50.0


def default_network(config_dir: Path) -> None:
    net_d = config_dir / "net.d"
    net_d.mkdir(parents=True)
    conflist = {
        "cniVersion": "1.0.0",
        "name": "default",
        "plugins": [
            {
                "type": "ptp",
                "ipMasq": True,
                "ipam": {"type": "host-local", "subnet": SUBNET, "routes": [{"dst": "0.0.0.0/0"}]},
            },
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
        ],
    }
    (net_d / "50-default.conflist").write_text(json.dumps(conflist))


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode(errors='replace')}")
    return elapsed


def backend_only(work: Path, runs: int) -> list[float]:
    """setup + teardown of the default network by the backend, on a fresh netns each time."""
    from carpool.network.backend import CniBackend

    os.environ["CARPOOL_CONFIG"] = str(work / "config")
    times = []
    for _ in range(runs):
        name = f"carpool-bench-{uuid.uuid4().hex[:8]}"
        subprocess.run(["ip", "netns", "add", name], check=True)
        pod_uuid = str(uuid.uuid4())
        pod_dir = work / "data" / "pods" / "run" / pod_uuid
        pod_dir.mkdir(parents=True)
        try:
            netns = Path("/run/netns") / name
            started = time.perf_counter()
            CniBackend().setup(
                pod_uuid=pod_uuid, netns=netns, networks=["default"], pod_dir=pod_dir
            )
            CniBackend().teardown(pod_uuid=pod_uuid, netns=netns, pod_dir=pod_dir)
            times.append(time.perf_counter() - started)
        finally:
            subprocess.run(["ip", "netns", "del", name], check=False)
    return times


def row(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{label:<34} median {statistics.median(ms):7.1f} ms   mean {statistics.mean(ms):7.1f} ms"
        f"   min {min(ms):7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: pods need namespaces, mounts and CNI")
    with tempfile.TemporaryDirectory(prefix="carpool-bench-net-") as tmp:
        work = Path(tmp)
        default_network(work / "config")
        aci = build_aci(work / "busybox.aci", app={"exec": ["/bin/true"]})
        env = {
            **os.environ,
            "CARPOOL_DIR": str(work / "data"),
            "CARPOOL_CONFIG": str(work / "config"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        carpool = [sys.executable, "-m", "carpool"]
        subprocess.run([*carpool, "fetch", str(aci)], env=env, check=True, capture_output=True)
        image = "example.com/busybox"
        none = [*carpool, "run", "--net", "none", image, "--exec", "/bin/true"]
        default = [*carpool, "run", "--net", "default", image, "--exec", "/bin/true"]
        for argv in (none, default):  # warm-up: render the tree, fill caches
            timed(argv, env)
        results: dict[str, list[float]] = {"none": [], "default": []}
        for _ in range(args.runs):
            results["none"].append(timed(none, env))
            results["default"].append(timed(default, env))
        subprocess.run([*carpool, "gc", "--grace", "0s"], env=env, capture_output=True)
        backend = backend_only(work, args.runs)

    added = (statistics.median(results["default"]) - statistics.median(results["none"])) * 1000
    print(f"carpool run of /bin/true, {args.runs} interleaved runs each")
    print(row("--net none", results["none"]))
    print(row("--net default (ptp+host-local+portmap)", results["default"]))
    print(row("backend setup+teardown alone", backend))
    verdict = "within" if added < TARGET_MS else "OVER"
    print(
        f"network setup adds {added:.1f} ms to carpool run "
        f"({verdict} the {TARGET_MS:.0f} ms target)"
    )


if __name__ == "__main__":
    main()
