"""Isolators as the app sees them from inside, and the protections --insecure-options lifts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tests.runtime.conftest import run_shell
from tests.runtime.images import build_aci

pytestmark = pytest.mark.host

NONE = ("--net", "none")
DEFAULT_CAPS = 0xA80425FB  # appc's 14 default capabilities


def isolated(images_dir: Path, name: str, isolators: list[dict[str, Any]], script: str) -> Path:
    return build_aci(
        images_dir / f"{name}.aci",
        name=f"example.com/{name}",
        app={"exec": ["/bin/sh", "-c", script], "isolators": isolators},
    )


def status_field(text: str, field: str) -> str:
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{field} not in {text}")


def test_default_capabilities_seccomp_and_masked_paths(carpool: Cli, busybox_aci: Path) -> None:
    script = "cat /proc/self/status; ls /sys/fs | wc -l; cat /proc/kcore | wc -c"
    out = run_shell(carpool, busybox_aci, script).stdout
    assert int(status_field(out, "CapBnd"), 16) == DEFAULT_CAPS
    assert int(status_field(out, "CapEff"), 16) == DEFAULT_CAPS  # root gets them effective
    assert status_field(out, "Seccomp") == "2"
    assert status_field(out, "NoNewPrivs") == "0"
    assert out.splitlines()[-2:] == ["0", "0"]  # /sys/fs hidden, /proc/kcore masked
    refused = run_shell(
        carpool, busybox_aci, "echo 1 > /proc/sys/vm/overcommit_memory && echo wrote", check=False
    )
    assert "wrote" not in refused.stdout


def test_insecure_options_lift_protections(carpool: Cli, busybox_aci: Path) -> None:
    script = "cat /proc/self/status; ls /sys/fs | wc -l"
    out = carpool(
        "run",
        *NONE,
        "--insecure-options",
        "capabilities,paths,seccomp",
        busybox_aci,
        "--exec",
        "/bin/sh",
        "--",
        "-c",
        script,
    ).stdout
    assert int(status_field(out, "CapBnd"), 16) > DEFAULT_CAPS
    assert status_field(out, "Seccomp") == "0"
    assert int(out.splitlines()[-1]) > 0
    bad = carpool("run", *NONE, "--insecure-options", "everything", busybox_aci, check=False)
    assert bad.returncode == 254 and "--insecure-options" in bad.stderr


def test_capability_sets(carpool: Cli, images_dir: Path) -> None:
    script = "grep CapBnd /proc/self/status"
    remove = isolated(
        images_dir,
        "caps-remove",
        [
            {
                "name": "os/linux/capabilities-remove-set",
                "value": {"set": ["CAP_NET_RAW", "CAP_CHOWN"]},
            }
        ],
        script,
    )
    out = carpool("run", *NONE, remove).stdout
    assert int(status_field(out, "CapBnd"), 16) == DEFAULT_CAPS & ~(1 << 13) & ~(1 << 0)
    retain = isolated(
        images_dir,
        "caps-retain",
        [{"name": "os/linux/capabilities-retain-set", "value": {"set": ["CAP_NET_ADMIN"]}}],
        script,
    )
    out = carpool("run", *NONE, retain).stdout
    assert int(status_field(out, "CapBnd"), 16) == 1 << 12


def test_resources_oom_and_no_new_privileges(carpool: Cli, images_dir: Path) -> None:
    aci = isolated(
        images_dir,
        "resources",
        [
            {"name": "resource/memory", "value": {"limit": "64Mi"}},
            {"name": "resource/cpu", "value": {"limit": "500m"}},
            {"name": "os/linux/cpu-shares", "value": 512},
            {"name": "os/linux/oom-score-adj", "value": 300},
            {"name": "os/linux/no-new-privileges", "value": True},
            {"name": "resource/block-bandwidth", "value": {"default": True, "limit": "1M"}},
        ],
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
        "/sys/fs/cgroup/cpu/cpu.shares /proc/self/oom_score_adj; grep NoNewPrivs /proc/self/status",
    )
    proc = carpool("run", *NONE, "--insecure-options", "paths", aci)
    lines = proc.stdout.splitlines()
    assert lines[:4] == [str(64 * 1024 * 1024), "50000", "512", "300"]
    assert status_field(proc.stdout, "NoNewPrivs") == "1"
    # what carpool cannot enforce is reported, not dropped silently
    assert "warning:" in proc.stderr and "block-bandwidth" in proc.stderr


def test_seccomp_sets(carpool: Cli, images_dir: Path) -> None:
    remove = isolated(
        images_dir,
        "seccomp-remove",
        [
            {
                "name": "os/linux/seccomp-remove-set",
                "value": {"set": ["mkdir", "mkdirat"], "errno": "EACCES"},
            }
        ],
        "mkdir /tmp/x || echo refused; grep Seccomp: /proc/self/status",
    )
    out = carpool("run", *NONE, remove)
    assert "refused" in out.stdout and "Permission denied" in out.stderr
    everything = isolated(
        images_dir,
        "seccomp-all",
        [{"name": "os/linux/seccomp-retain-set", "value": {"set": ["@appc.io/all"]}}],
        "grep Seccomp: /proc/self/status",
    )
    assert status_field(carpool("run", *NONE, everything).stdout, "Seccomp") == "0"
    unknown = isolated(
        images_dir,
        "seccomp-unknown",
        [{"name": "os/linux/seccomp-remove-set", "value": {"set": ["@nope/group"]}}],
        "true",
    )
    bad = carpool("run", *NONE, unknown, check=False)
    assert bad.returncode == 254 and "@nope/group" in bad.stderr


def test_pod_manifest_with_sysctl_and_pod_memory_limit(
    carpool: Cli, busybox_aci: Path, tmp_path: Path
) -> None:
    image_id = carpool("fetch", busybox_aci).stdout.strip().splitlines()[-1]
    manifest = {
        "acVersion": "0.8.11",
        "acKind": "PodManifest",
        "apps": [
            {
                "name": "probe",
                "image": {"id": image_id},
                "app": {
                    "exec": [
                        "/bin/sh",
                        "-c",
                        "cat /proc/sys/net/ipv4/tcp_keepalive_time; "
                        "grep hierarchical_memory_limit /sys/fs/cgroup/memory/memory.stat; echo $X",
                    ],
                    "user": "0",
                    "group": "0",
                    "environment": [{"name": "X", "value": "from-manifest"}],
                },
            }
        ],
        "isolators": [
            {"name": "os/unix/sysctl", "value": {"net.ipv4.tcp_keepalive_time": "1234"}},
            {"name": "resource/memory", "value": {"limit": "96Mi"}},
        ],
    }
    path = tmp_path / "pod.json"
    path.write_text(json.dumps(manifest))
    out = carpool(
        "run", *NONE, "--insecure-options", "paths", "--pod-manifest", path
    ).stdout.splitlines()
    assert out[0] == "1234"
    assert out[1] == f"hierarchical_memory_limit {96 * 1024 * 1024}"  # the pod's limit
    assert out[-1] == "from-manifest"
    host_sysctl = Path("/proc/sys/net/ipv4/tcp_keepalive_time").read_text().strip()
    assert host_sysctl != "1234"
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {**manifest, "isolators": [{"name": "os/unix/sysctl", "value": {"kernel.panic": "1"}}]}
        )
    )
    refused = carpool("run", *NONE, "--pod-manifest", bad, check=False)
    assert refused.returncode == 254 and "kernel.panic" in refused.stderr
