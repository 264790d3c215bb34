"""Running one build step in a runc container, and the overlay mounts builds use.

Build steps run with the host's network (``apt-get`` must work, as with dgr's
``--net=host``), every capability (dgr ran systemd-nspawn ``--capability=all``), no
seccomp filter, and their own mount, PID, IPC and UTS namespaces.  The bundle's
``config.json`` comes from :mod:`carpool.oci.spec`; runc is driven through
:class:`carpool.oci.runc.Runc` with a state root of its own under the data dir.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carpool.builder.interrupts import deferred_signals
from carpool.errors import BuildError
from carpool.log import get_logger
from carpool.oci.runc import Runc
from carpool.oci.spec import (
    ALL_CAPABILITIES,
    ContainerSettings,
    Namespace,
    bind_mount,
    build_config,
)
from carpool.runtime import linux
from carpool.store.fsutil import remove_tree

log = get_logger(__name__)


@dataclass(frozen=True)
class Bind:
    """A host path bind-mounted into the container."""

    source: Path
    destination: str
    read_only: bool = False


@dataclass
class StepResult:
    status: int
    output: list[str] = field(default_factory=list)


def mount_overlay(lowers: Sequence[Path], upper: Path, work: Path, target: Path) -> None:
    """Mount ``lowers`` (first = topmost) with ``upper`` at ``target``."""
    for path in (upper, work, target):
        path.mkdir(parents=True, exist_ok=True)
    if not lowers:
        raise BuildError("overlay without a lower dir")
    options = f"lowerdir={':'.join(str(p) for p in lowers)},upperdir={upper},workdir={work}"
    try:
        linux.mount("overlay", str(target), "overlay", 0, options)
    except OSError as exc:
        raise BuildError(f"cannot mount the build overlay at {target}: {exc}") from None


def unmount_all(path: Path) -> None:
    """Unmount everything at or below ``path`` (deepest first)."""
    for point in linux.mountpoints_under(str(path)):
        linux.umount(point, detach=True)


CGROUP_PARENT = "carpool"
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _config(
    rootfs: Path,
    args: list[str],
    env: dict[str, str],
    binds: Sequence[Bind],
    container_id: str,
    *,
    terminal: bool,
) -> dict[str, Any]:
    mounts = [
        bind_mount(str(b.source), b.destination, read_only=b.read_only, recursive=True)
        for b in binds
    ]
    settings = ContainerSettings(
        rootfs=str(rootfs),
        args=args,
        env=[f"{k}={v}" for k, v in env.items()],
        capabilities=host_capabilities(),
        namespaces=[Namespace("pid"), Namespace("mount"), Namespace("ipc"), Namespace("uts")],
        hostname="carpool-build",
        cgroups_path=f"/carpool/{container_id}",
        masked_paths=[],
        readonly_paths=[],
        terminal=terminal,
    )
    settings.mounts = [*settings.mounts, *mounts]
    config = build_config(settings)
    # builds may need any device node (dgr's nspawn allowed the usual ones)
    config["linux"]["resources"]["devices"] = [{"allow": True, "access": "rwm"}]
    return config


def _bundle(
    runc_root: Path,
    container_id: str,
    rootfs: Path,
    args: list[str],
    env: dict[str, str],
    binds: Sequence[Bind],
    bundle_dir: Path,
    *,
    terminal: bool,
) -> Runc:
    """Write the container's bundle; the runc (its state dir made) to run it with."""
    config = _config(rootfs, args, env, binds, container_id, terminal=terminal)
    bundle_dir.mkdir(parents=True, exist_ok=True)
    (bundle_dir / "config.json").write_text(json.dumps(config, indent=1))
    runc_root.mkdir(parents=True, exist_ok=True)
    return Runc.at(runc_root)


def run_in_container(
    runc_root: Path,
    container_id: str,
    rootfs: Path,
    args: list[str],
    env: dict[str, str],
    binds: Sequence[Bind],
    bundle_dir: Path,
    *,
    on_line: Callable[[str], None] | None = None,
) -> StepResult:
    """Run ``args`` in a container on ``rootfs``; stream its output; return its status.

    However this ends (an exception in ``on_line``, a signal), the container, its
    processes and its cgroups are gone when it returns or raises.
    """
    runc = _bundle(runc_root, container_id, rootfs, args, env, binds, bundle_dir, terminal=False)
    argv = runc.run_argv(container_id, bundle_dir)
    output: list[str] = []
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=bundle_dir,
        )
    except OSError as exc:
        raise BuildError(f"cannot start runc: {exc.strerror}") from None
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            output.append(line)
            if on_line is not None:
                on_line(line)
        status = proc.wait()
    finally:
        _stop(runc, container_id, proc)
    return StepResult(status, output)


def _stop(runc: Runc, container_id: str, proc: subprocess.Popen[bytes]) -> None:
    """End a ``runc run`` and remove its container, whatever state either is in."""
    with deferred_signals():
        try:
            if proc.poll() is None:
                # runc may still be creating the container: retry until it can be signalled
                deadline = time.monotonic() + 5
                while proc.poll() is None and time.monotonic() < deadline:
                    with contextlib.suppress(subprocess.SubprocessError, OSError):
                        runc.kill(container_id, "KILL", all_processes=True)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=0.2)
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        finally:
            remove_container(runc.root, container_id)


def run_interactive(
    runc_root: Path,
    container_id: str,
    rootfs: Path,
    args: list[str],
    env: dict[str, str],
    binds: Sequence[Bind],
    bundle_dir: Path,
) -> int:
    """``args`` in a container on ``rootfs`` attached to this terminal (``-c``)."""
    if not sys.stdin.isatty():
        raise BuildError("--catch-on-error needs a terminal")
    runc = _bundle(runc_root, container_id, rootfs, args, env, binds, bundle_dir, terminal=True)
    try:
        proc = subprocess.Popen(runc.run_argv(container_id, bundle_dir), cwd=bundle_dir)
    except OSError as exc:
        raise BuildError(f"cannot start runc: {exc.strerror}") from None
    try:
        return proc.wait()
    finally:
        _stop(runc, container_id, proc)


def remove_container(root: Path, container_id: str) -> bool:
    """``runc delete --force`` a build container, then anything left in its cgroups."""
    runc = Runc.at(root)
    runc.kill(container_id, "KILL", all_processes=True)
    runc.delete(container_id, force=True)
    ok = remove_cgroups(container_id, exact=True)
    state = root / container_id
    if state.exists() and runc.state(container_id) is None:
        remove_tree(state)  # runc died while creating it: a state dir with no container
    if state.exists():
        log.warning("runc container %s (root %s) could not be removed", container_id, root)
        return False
    return ok


def _cgroup_parents() -> list[Path]:
    if (CGROUP_ROOT / "cgroup.controllers").exists():  # unified hierarchy
        return [CGROUP_ROOT / CGROUP_PARENT]
    try:
        controllers = [p for p in CGROUP_ROOT.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []
    return [p / CGROUP_PARENT for p in controllers]


def remove_cgroups(name: str, *, exact: bool = False) -> bool:
    """Kill what is left in carpool's build cgroups called ``name`` (or ``name-*``); rmdir."""
    ok = True
    for parent in _cgroup_parents():
        try:
            entries = list(os.scandir(parent))
        except OSError:
            continue
        for entry in entries:
            if entry.name == name or (not exact and entry.name.startswith(name + "-")):
                ok &= _remove_cgroup(Path(entry.path))
    return ok


def _remove_cgroup(path: Path) -> bool:
    dirs = sorted((Path(d) for d, _, _ in os.walk(path)), key=lambda p: len(p.parts), reverse=True)
    deadline = time.monotonic() + 10
    for directory in dirs:
        while True:
            pids = _cgroup_pids(directory)
            if not pids:
                break
            if time.monotonic() > deadline:
                log.warning("%s: processes %s do not die", directory, pids)
                return False
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        try:
            directory.rmdir()
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise
            log.warning("%s: cannot remove the cgroup: %s", directory, exc)
            return False
    return True


def _cgroup_pids(directory: Path) -> list[int]:
    try:
        text = (directory / "cgroup.procs").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def host_capabilities() -> list[str]:
    """Every capability this process may hand on (dgr's ``--capability=all``)."""
    bounding = (1 << 38) - 1
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapBnd:"):
                bounding = int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    # only what carpool itself holds: runc cannot grant more
    return [cap for bit, cap in enumerate(ALL_CAPABILITIES) if bounding >> bit & 1]


def host_env_passthrough(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """``DGR_ENV_K=V`` on the host becomes ``K=V`` in the build (dgr's readEnvironment)."""
    return {
        k[len("DGR_ENV_") :]: v
        for k, v in environ.items()
        if k.startswith("DGR_ENV_") and len(k) > 8
    }
