"""config.json as runc reads it, and seccomp filters from appc sets."""

from __future__ import annotations

import errno
import json
import subprocess
from pathlib import Path

import pytest

from carpool.errors import ValidationError
from carpool.oci import seccomp
from carpool.oci.runc import Runc
from carpool.oci.spec import (
    APPC_DEFAULT_CAPABILITIES,
    ContainerSettings,
    Namespace,
    Resources,
    bind_mount,
    build_config,
)


def test_root_app_gets_caps_effective_non_root_only_bounding() -> None:
    root = build_config(ContainerSettings(rootfs="/r", args=["/bin/true"], env=[]))
    assert root["process"]["capabilities"]["bounding"] == list(APPC_DEFAULT_CAPABILITIES)
    assert root["process"]["capabilities"]["effective"] == list(APPC_DEFAULT_CAPABILITIES)
    user = build_config(ContainerSettings(rootfs="/r", args=["/bin/true"], env=[], uid=1000))
    assert user["process"]["capabilities"]["effective"] == []
    assert user["process"]["capabilities"]["bounding"] == list(APPC_DEFAULT_CAPABILITIES)


def test_namespaces_resources_and_mounts() -> None:
    settings = ContainerSettings(
        rootfs="/r",
        args=["/app"],
        env=["A=1"],
        uid=5,
        gid=6,
        additional_gids=[7],
        namespaces=[Namespace("mount"), Namespace("network", "/pods/x/ns/net")],
        resources=Resources(memory_limit=1024, cpu_quota=50000, cpu_period=100000, cpu_shares=10),
        oom_score_adj=100,
        cgroups_path="/carpool/x/app",
    )
    settings.mounts.append(bind_mount("/host", "/data", read_only=True, recursive=True))
    config = build_config(settings)
    assert "hostname" not in config  # apps join the pod's UTS namespace
    assert config["process"]["user"] == {"uid": 5, "gid": 6, "additionalGids": [7]}
    assert config["process"]["oomScoreAdj"] == 100
    assert config["linux"]["namespaces"] == [
        {"type": "mount"},
        {"type": "network", "path": "/pods/x/ns/net"},
    ]
    assert config["linux"]["resources"]["memory"] == {"limit": 1024}
    assert config["linux"]["resources"]["cpu"] == {"quota": 50000, "period": 100000, "shares": 10}
    assert config["linux"]["cgroupsPath"] == "/carpool/x/app"
    assert config["mounts"][-1] == {
        "destination": "/data",
        "type": "bind",
        "source": "/host",
        "options": ["rbind", "rprivate", "ro"],
    }
    assert "/sys/firmware" in config["linux"]["maskedPaths"]
    assert "/proc/sysrq-trigger" in config["linux"]["readonlyPaths"]


def test_seccomp_remove_retain_and_groups() -> None:
    default = seccomp.default_filter().to_json()
    assert default["defaultAction"] == "SCMP_ACT_ALLOW"
    assert "ptrace" in default["syscalls"][0]["names"]
    assert default["syscalls"][0]["errnoRet"] == errno.EPERM
    removed = seccomp.remove_set(["@rkt/default-blacklist", "chmod"], "EACCES", "f")
    assert removed is not None
    rule = removed.to_json()["syscalls"][0]
    assert "chmod" in rule["names"] and "mount" in rule["names"]
    assert rule["action"] == "SCMP_ACT_ERRNO" and rule["errnoRet"] == errno.EACCES
    killing = seccomp.remove_set(["chmod"], None, "f")
    assert killing is not None and killing.to_json()["syscalls"][0]["action"] == "SCMP_ACT_KILL"
    retained = seccomp.retain_set(["read", "write"], "ENOSYS", "f")
    assert retained is not None
    doc = retained.to_json()
    assert doc["defaultAction"] == "SCMP_ACT_ERRNO" and doc["defaultErrnoRet"] == errno.ENOSYS
    assert doc["syscalls"][0] == {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}
    assert seccomp.retain_set(["@appc.io/all"], None, "f") is None
    with pytest.raises(ValidationError, match="ENOPE"):
        seccomp.remove_set(["chmod"], "ENOPE", "app x")
    with pytest.raises(ValidationError, match="@no/such"):
        seccomp.remove_set(["@no/such"], None, "app x")


@pytest.mark.host
def test_runc_runs_a_generated_bundle(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    (rootfs / "bin" / "busybox").write_bytes(Path("/bin/busybox").read_bytes())
    (rootfs / "bin" / "busybox").chmod(0o755)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    settings = ContainerSettings(
        rootfs=str(rootfs),
        args=["/bin/busybox", "sh", "-c", "grep -E '^(CapBnd|Seccomp)' /proc/self/status"],
        env=["PATH=/bin"],
        namespaces=[Namespace(t) for t in ("mount", "pid", "ipc", "uts", "network")],
        hostname="oci-test",
        seccomp=seccomp.default_filter(),
        cgroups_path="/carpool/oci-test",
    )
    (bundle / "config.json").write_text(json.dumps(build_config(settings)))
    runc = Runc.at(tmp_path / "carpool-runc")
    proc = subprocess.run(
        runc.run_argv("carpool-oci-test", bundle), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "CapBnd:\t00000000a80425fb" in proc.stdout
    assert "Seccomp:\t2" in proc.stdout
    assert runc.list_ids() == []
    for controller in Path("/sys/fs/cgroup").iterdir():
        leftover = controller / "carpool" / "oci-test"
        if leftover.is_dir():
            leftover.rmdir()
