"""Turning a prepared pod into runnable containers, and tearing it all down again.

:func:`setup` pins the pod's namespaces, creates its cgroup parent, mounts each app's
overlay rootfs, writes ``/etc/hostname``, ``/etc/hosts`` and ``/etc/resolv.conf`` into
the app's upper layer and writes one OCI bundle per container (pre-start steps, the app,
post-stop).  A pod that is a single container needs neither pinning nor a mount in
carpool's namespace: runc creates its namespaces and mounts its overlay as ``/``.
:func:`teardown` undoes every piece of it and is safe to call any number of times, from
any process.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from carpool.errors import RuntimeFailure
from carpool.log import get_logger
from carpool.oci.runc import Runc
from carpool.oci.spec import (
    MASKED_PATHS,
    READONLY_PATHS,
    ContainerSettings,
    Mount,
    Namespace,
    build_config,
    default_mounts,
)
from carpool.runtime import cgroups, linux, network, rootpath, users, volumes
from carpool.runtime.isolators import app_isolation, pod_isolation
from carpool.runtime.options import RunOptions
from carpool.runtime.pods import Pod

log = get_logger(__name__)

_Writer = Callable[[str, bytes], None]  # writes a file at a path inside an app's rootfs

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DGR_BUSYBOX = "/dgr/bin/busybox"


class Step:
    """One thing to do for an app: a container to run, or host-side templating.

    Plain classes here, not dataclasses: this module is on ``carpool run``'s path.
    """

    __slots__ = ("bundle", "container_id", "kind", "phase")

    def __init__(
        self, kind: str, phase: str, container_id: str = "", bundle: Path | None = None
    ) -> None:
        self.kind = kind  # "container" or "templates"
        self.phase = phase  # pre-start, prestart-early, templates, prestart-late, main, post-stop
        self.container_id = container_id
        self.bundle = bundle

    def __repr__(self) -> str:
        return f"Step({self.kind!r}, {self.phase!r}, {self.container_id!r}, {self.bundle!r})"


class AppPlan:
    """How to run one app: its containers before, the app itself, its containers after."""

    __slots__ = (
        "after",
        "app_dir",
        "before",
        "bundle",
        "container_id",
        "env",
        "gid",
        "name",
        "rootfs",
        "uid",
    )

    def __init__(
        self,
        name: str,
        app_dir: Path,
        rootfs: Path,
        container_id: str,
        bundle: Path,
        *,
        env: dict[str, str],
        uid: int,
        gid: int,
    ) -> None:
        self.name = name
        self.app_dir = app_dir
        self.rootfs = rootfs
        self.container_id = container_id
        self.bundle = bundle
        self.before: list[Step] = []
        self.after: list[Step] = []
        self.env = env
        self.uid = uid
        self.gid = gid

    def __repr__(self) -> str:
        return f"AppPlan({self.name!r}, container_id={self.container_id!r})"

    def helper_bundle(self, suffix: str, args: list[str]) -> Path:
        """A bundle like the app's, running ``args`` (a templates ``checkCmd``)."""
        config = json.loads((self.bundle / "config.json").read_text())
        config["process"]["args"] = args
        config["process"]["terminal"] = False
        bundle = self.app_dir / "oci" / suffix
        bundle.mkdir(parents=True, exist_ok=True)
        (bundle / "config.json").write_text(json.dumps(config))
        return bundle


def container_prefix(pod_uuid: str) -> str:
    return f"carpool-{pod_uuid}-"


def runc_for(data_dir: Path) -> Runc:
    return Runc.at(data_dir / "runc")


def default_hostname(pod_uuid: str) -> str:
    return f"carpool-{pod_uuid}"


MOUNTS = "mounts"


def _mounts_dir(pod: Pod) -> Path:
    """``<pod>/mounts``: a private bind mount of itself holding every mount of the pod.

    Pinned namespaces and app rootfs live below it, so teardown detaches them all
    with one ``umount`` (each umount costs an RCU grace period), and nothing the
    pod mounts propagates to other mount namespaces.
    """
    path = pod.path / MOUNTS
    path.mkdir(exist_ok=True)
    linux.mount(str(path), str(path), None, linux.MS_BIND, None)
    linux.mount("none", str(path), None, linux.MS_PRIVATE, None)
    return path


def _overlay_dirs(tree: Path, app_dir: Path, rootfs: Path) -> tuple[Path, Path]:
    """The app's upper and work dirs, and the (empty) mount point ``rootfs``, made."""
    upper, work = app_dir / "upper", app_dir / "work"
    for path in (upper, work, rootfs):
        path.mkdir(parents=True, exist_ok=True)
    if not tree.is_dir():
        raise RuntimeFailure(f"rendered image tree {tree} is missing")
    return upper, work


def _volatile() -> bool:
    """Whether overlayfs takes ``volatile`` (Linux 5.10+)."""
    release = os.uname().release.split(".")
    try:
        return (int(release[0]), int(release[1])) >= (5, 10)
    except (IndexError, ValueError):
        return False


def _mount_overlay(tree: Path, app_dir: Path, rootfs: Path) -> Path:
    """Mount the app's rootfs: the rendered tree under a writable upper dir.

    ``volatile`` (Linux 5.10+) spares the unmount at teardown a ``syncfs`` of the whole
    filesystem holding the upper dir (0.5 ms on an idle host, tens of ms when other
    processes write), and makes the app's own fsyncs of rootfs files no-ops.  A pod's
    rootfs never outlives a reboot (rkt's pods do not restart; after a crash the pod is
    garbage), so nothing is lost; volumes are bind mounts and stay durable.  Older
    kernels refuse the option and get the plain mount.
    """
    upper, work = _overlay_dirs(tree, app_dir, rootfs)
    options = f"lowerdir={tree},upperdir={upper},workdir={work}"
    try:
        try:
            linux.mount("overlay", str(rootfs), "overlay", 0, options + ",volatile")
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            linux.mount("overlay", str(rootfs), "overlay", 0, options)
    except OSError as exc:
        raise RuntimeFailure(f"cannot mount the rootfs of {app_dir.name}: {exc}") from None
    return rootfs


def _overlay_for_runc(tree: Path, app_dir: Path, rootfs: Path) -> Mount:
    """A lone container's rootfs, for runc to mount as the container's ``/``.

    runc mounts it inside the container's mount namespace (on the empty ``rootfs``
    before ``pivot_root``), so carpool makes no mount at all: no ctypes import, no
    mount and unmount system calls, and nothing to leak if carpool is killed (the
    overlay goes with the container's namespace).  Until then the upper dir is written
    directly (:func:`rootpath.write_layered`).  Volatile as in :func:`_mount_overlay`.
    """
    upper, work = _overlay_dirs(tree, app_dir, rootfs)
    options = [f"lowerdir={tree}", f"upperdir={upper}", f"workdir={work}"]
    return Mount("/", "overlay", "overlay", options + (["volatile"] if _volatile() else []))


def _hosts(view: Path, write: _Writer, hostname: str, pod_dir: Path) -> None:
    existing = rootpath.read_text(view, "/etc/hosts")
    write("/etc/hosts", network.hosts(existing, hostname, pod_dir).encode())


def _resolv_conf(write: _Writer, opts: RunOptions, pod_dir: Path) -> None:
    data = network.resolv_conf(opts.dns, opts.dns_search, opts.dns_opt, opts.net, pod_dir)
    if data is not None:
        write("/etc/resolv.conf", data)


def app_environment(
    name: str, app: dict[str, Any], account: users.Account | None, interactive: bool
) -> dict[str, str]:
    """rkt's defaults, then the app's environment (image < pod < app), then AC_APP_NAME."""
    env = {
        "PATH": DEFAULT_PATH,
        "SHELL": "/bin/sh",
        "USER": account.name if account else "root",
        "LOGNAME": account.name if account else "root",
        "HOME": (account.home if account else "") or "/root",
        "container": "carpool",
    }
    if interactive:
        env["TERM"] = os.environ.get("TERM", "xterm")
    for item in app.get("environment") or []:
        env[item["name"]] = item["value"]
    env["AC_APP_NAME"] = name
    return env


def _exists_in(rootfs: Path, path: str) -> bool:
    try:
        return rootpath.resolve(rootfs, path).exists()
    except RuntimeFailure:
        return False


def _script_steps(rootfs: Path, level: str, prefix: str) -> list[tuple[str, list[str]]]:
    directory = rootpath.resolve(rootfs, f"/dgr/runlevels/{level}")
    if not directory.is_dir():
        return []
    out: list[tuple[str, list[str]]] = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if not entry.is_file(follow_symlinks=False):
            continue
        inner = f"/dgr/runlevels/{level}/{entry.name}"
        if not os.access(entry.path, os.X_OK):
            os.chmod(entry.path, 0o755)  # dgr's execute_files does chmod +x (lands in upper)
        out.append((f"{prefix}{level}.{len(out)}", [inner]))
    return out


def _helper_settings(base: ContainerSettings, args: list[str], phase: str) -> ContainerSettings:
    """An event handler or runlevel script: the app's settings, other args, no terminal."""
    return base.replace(
        args=args,
        terminal=False,
        annotations={**base.annotations, "carpool.phase": phase},
    )


def _write_bundle(bundle: Path, settings: ContainerSettings) -> None:
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "config.json").write_text(json.dumps(build_config(settings)))


def _one_container(manifest: dict[str, Any], trees: dict[str, str], nets: list[str]) -> bool:
    """Whether the pod is exactly one container, with no network carpool attaches.

    Such a pod has nobody to share namespaces with: runc creates them itself, with the
    pod's hostname and sysctls from the bundle, and carpool skips pinning (a fork, an
    unshare and bind mounts on every start, umounts at teardown).  Any second container
    (another app, an event handler, a prestart runlevel or template check, which are
    only run for images with ``/dgr/templates``) or a CNI network, which must be
    attached before any app starts, needs the pinned namespaces.
    """
    apps = manifest["apps"]
    if network.needs_backend(nets) or len(apps) != 1:
        return False
    handlers = (apps[0].get("app") or {}).get("eventHandlers") or []
    if any(h.get("name") in ("pre-start", "post-stop") for h in handlers):
        return False
    tree = trees.get(apps[0]["name"])
    if tree is None:
        return False  # setup reports it
    try:
        return not rootpath.resolve(Path(tree), "/dgr/templates").is_dir()
    except RuntimeFailure:  # a symlink loop: let the app's setup report it
        return False


def setup(data_dir: Path, pod: Pod, opts: RunOptions) -> list[AppPlan]:
    """Make every container of ``pod`` ready to run; undo with :func:`teardown`."""
    manifest = pod.manifest()
    runtime = pod.runtime()
    trees: dict[str, str] = runtime.get("trees", {})
    host_net = network.uses_host_network(opts.net)
    network.check_available(opts.net)
    pod_iso = pod_isolation(manifest.get("isolators") or [], host_network=host_net)
    for warning in pod_iso.warnings:
        log.warning(warning)
    hostname = opts.hostname or default_hostname(pod.uuid)

    cgroups.apply_pod_limits(pod.uuid, pod_iso.resources)
    lone = _one_container(manifest, trees, opts.net)
    shared = [Namespace("mount"), Namespace("pid")]
    if lone:  # runc makes its namespaces (hostname and sysctl from the bundle), mounts /
        mounts_dir = pod.path / MOUNTS  # a plain directory: carpool mounts nothing
        shared += [Namespace("uts"), Namespace("ipc")]
        if not host_net:
            shared.append(Namespace("network"))
        network.setup(pod.uuid, None, opts.net, pod.path)
    else:
        from carpool.runtime import namespaces

        mounts_dir = _mounts_dir(pod)
        ns_dir = mounts_dir / "ns"
        kinds = ["uts", "ipc"] if host_net else ["uts", "ipc", "net"]
        namespaces.pin(ns_dir, kinds=kinds, hostname=hostname, sysctl=pod_iso.sysctl)
        network.setup(pod.uuid, None if host_net else ns_dir / "net", opts.net, pod.path)
        shared += [Namespace("uts", str(ns_dir / "uts")), Namespace("ipc", str(ns_dir / "ipc"))]
        if not host_net:
            shared.append(Namespace("network", str(ns_dir / "net")))
    volumes.create_empty_volumes(pod.path, manifest.get("volumes") or [])

    plans = []
    prefix = container_prefix(pod.uuid)
    for ra in manifest["apps"]:
        name = ra["name"]
        app: dict[str, Any] = ra.get("app") or {}
        app_dir = pod.app_dir(name)
        tree = trees.get(name)
        if tree is None:
            raise RuntimeFailure(f"pod {pod.uuid}: no rendered tree recorded for app {name}")
        rootfs = mounts_dir / "apps" / name
        # ``view``: where the app's files are read (and ``write`` writes) before it starts
        root_mounts: list[Mount] = []
        if lone:
            root_mounts.append(_overlay_for_runc(Path(tree), app_dir, rootfs))
            view = Path(tree)
            write: _Writer = partial(rootpath.write_layered, view, app_dir / "upper")
        else:
            view = _mount_overlay(Path(tree), app_dir, rootfs)
            write = partial(rootpath.write_file, view)
        (app_dir / "log").touch()

        uid = users.resolve_user(view, str(app.get("user", "0")), name)
        gid = users.resolve_group(view, str(app.get("group", "0")), name)
        account = users.account_of(view, uid)
        env = app_environment(name, app, account, opts.interactive)
        extra_gids = app.get("supplementaryGIDs") or app.get("supplementaryGids") or []

        write("/etc/hostname", (hostname + "\n").encode())
        _hosts(view, write, hostname, pod.path)
        _resolv_conf(write, opts, pod.path)

        mounts = volumes.app_mounts(pod.path, name, app, ra, manifest.get("volumes") or [])
        cwd = app.get("workingDirectory") or "/"
        under_volume = any(
            cwd == m.destination or cwd.startswith(m.destination + "/") for m in mounts
        )
        if not under_volume and not rootpath.resolve(view, cwd).is_dir():
            raise RuntimeFailure(f"app {name}: workingDirectory {cwd} does not exist in the image")
        exec_args = [str(a) for a in app["exec"]]
        if exec_args[0].startswith("/") and not _exists_in(view, exec_args[0]):
            raise RuntimeFailure(f"app {name}: {exec_args[0]} does not exist in the image")

        iso = app_isolation(name, app.get("isolators") or [], opts.insecure)
        for warning in iso.warnings:
            log.warning(warning)
        paths_ok = "paths" not in opts.insecure

        base = ContainerSettings(
            rootfs=str(rootfs),
            args=exec_args,
            env=[f"{k}={v}" for k, v in env.items()],
            cwd=cwd,
            uid=uid,
            gid=gid,
            additional_gids=[int(g) for g in extra_gids],
            read_only_rootfs=bool(ra.get("readOnlyRootFS")),
            terminal=opts.interactive,
            capabilities=list(iso.capabilities),
            no_new_privileges=iso.no_new_privileges,
            oom_score_adj=iso.oom_score_adj,
            namespaces=list(shared),
            cgroups_path=f"{cgroups.pod_cgroup(pod.uuid)}/{name}",
            resources=iso.resources,
            seccomp=iso.seccomp,
            masked_paths=list(MASKED_PATHS) if paths_ok else [],
            readonly_paths=list(READONLY_PATHS) if paths_ok else [],
            annotations={"carpool.pod": pod.uuid, "carpool.app": name, "carpool.phase": "main"},
            hostname=hostname if lone else None,
            sysctl=dict(pod_iso.sysctl) if lone else None,
            mounts=[*root_mounts, *default_mounts(), *mounts],
        )

        main_id = f"{prefix}{name}"
        plan = AppPlan(
            name, app_dir, view, main_id, app_dir / "oci" / "main", env=env, uid=uid, gid=gid
        )
        _write_bundle(plan.bundle, base)

        handlers = {h["name"]: h["exec"] for h in app.get("eventHandlers") or []}
        steps: list[tuple[str, str, list[str]]] = []
        if "pre-start" in handlers:
            steps.append(
                ("pre-start", f"{main_id}.pre-start", [str(a) for a in handlers["pre-start"]])
            )
        elif rootpath.resolve(view, "/dgr/templates").is_dir():
            for cid, args in _script_steps(view, "prestart-early", f"{main_id}."):
                steps.append(("prestart-early", cid, args))
            steps.append(("templates", "", []))
            for cid, args in _script_steps(view, "prestart-late", f"{main_id}."):
                steps.append(("prestart-late", cid, args))
        for phase, cid, args in steps:
            if phase == "templates":
                plan.before.append(Step("templates", phase))
                continue
            bundle = app_dir / "oci" / cid[len(main_id) + 1 :]
            _write_bundle(bundle, _helper_settings(base, args, phase))
            plan.before.append(Step("container", phase, cid, bundle))
        if "post-stop" in handlers:
            bundle = app_dir / "oci" / "post-stop"
            post_args = [str(a) for a in handlers["post-stop"]]
            _write_bundle(bundle, _helper_settings(base, post_args, "post-stop"))
            plan.after.append(Step("container", "post-stop", f"{main_id}.post-stop", bundle))
        plans.append(plan)
    return plans


def teardown(data_dir: Path, pod: Pod) -> list[str]:
    """Release everything the pod holds on the host; returns what could not be released."""
    problems: list[str] = []
    runc = runc_for(data_dir)
    prefix = container_prefix(pod.uuid)
    for cid in runc.list_ids():
        if cid.startswith(prefix):
            runc.delete(cid, force=True)
            if (runc.root / cid).exists():
                import shutil

                shutil.rmtree(runc.root / cid, ignore_errors=True)
    cgroups.kill_all(pod.uuid)
    nets = pod.runtime().get("run", {}).get("net") or []
    ns_dir = pod.path / MOUNTS / "ns"
    try:
        network.teardown(
            pod.uuid, nets, ns_dir / "net" if (ns_dir / "net").exists() else None, pod.path
        )
    except RuntimeFailure as exc:
        problems.append(str(exc))
    mounts = str(pod.path / MOUNTS)
    points = linux.mountpoints_under(str(pod.path))  # deepest first
    if mounts in points and linux.umount(mounts, detach=True):  # the whole tree at once
        points = [p for p in points if p != mounts and not p.startswith(mounts + "/")]
    for point in points:  # anything mounted elsewhere in the pod dir
        try:
            linux.umount(point, detach=True)
        except OSError as exc:
            problems.append(f"cannot unmount {point}: {exc.strerror}")
    if ns_dir.is_dir():  # pinned (not when runc made the namespaces of a lone container)
        from carpool.runtime import namespaces

        namespaces.release(ns_dir)
    problems += [f"cannot remove cgroup {c}" for c in cgroups.remove(pod.uuid)]
    return problems
