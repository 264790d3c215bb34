"""Pod lifecycle: prepare, run, stop, rm, gc, status and enter, as rkt defined them.

``prepare`` resolves images and writes the pod manifest (``prepare/`` ->
``prepared/``); ``run_prepared`` moves the pod to ``run/`` and runs it in the
foreground; ``stop``, ``rm`` and ``gc`` work from any process because all state is
on disk and "running" means "someone holds the pod lock".
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carpool.errors import CarpoolError, RuntimeFailure, UsageError
from carpool.log import get_logger
from carpool.runtime.options import PodOptions, RunOptions
from carpool.runtime.pods import Pod, PodLock, PodStore, write_atomic

log = get_logger(__name__)

STOP_MARKER = "stop-requested"


def _resolve_images(data_dir: Path, options: PodOptions) -> tuple[dict[str, Any], dict[str, str]]:
    from carpool.runtime.images import ImageResolver
    from carpool.runtime.manifest import build_pod_manifest

    resolver = ImageResolver(data_dir)
    if options.pod_manifest is not None:
        manifest = load_pod_manifest(options.pod_manifest)
        trees = {}
        for ra in manifest["apps"]:
            image = resolver.by_id(ra["image"]["id"])
            if not ra.get("app"):
                ra["app"] = image.manifest.get("app") or {}
            trees[ra["name"]] = str(image.tree)
        return manifest, trees
    images = [resolver.resolve(a.image) for a in options.apps]
    manifest = build_pod_manifest(options, images)
    trees = {ra["name"]: str(img.tree) for ra, img in zip(manifest["apps"], images, strict=True)}
    return manifest, trees


def load_pod_manifest(path: Path) -> dict[str, Any]:
    """A user's pod manifest, validated with the appc models."""
    from carpool.appc import PodManifest

    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"--pod-manifest {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--pod-manifest {path}: not JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    PodManifest.from_json(data, source=str(path))
    from carpool.runtime.manifest import match_mounts

    if not isinstance(data, dict) or not data.get("apps"):
        raise UsageError(f"--pod-manifest {path}: no apps")
    match_mounts(data)
    return data


def create(data_dir: Path, options: PodOptions) -> tuple[Pod, PodLock]:
    """A pod in ``prepare/``, locked, with manifest and trees recorded."""
    store = PodStore(data_dir)
    pod, lock = store.create_embryo()
    try:
        manifest, trees = _resolve_images(data_dir, options)
        write_atomic(pod.path / "pod", json.dumps(manifest, indent=2) + "\n")
        write_atomic(pod.path / "runtime.json", json.dumps({"trees": trees}))
        for ra in manifest["apps"]:
            pod.app_dir(ra["name"]).mkdir(parents=True)
    except BaseException:
        import shutil

        shutil.rmtree(pod.path, ignore_errors=True)
        lock.release()
        raise
    return pod, lock


def prepare(data_dir: Path, options: PodOptions) -> Pod:
    pod, lock = create(data_dir, options)
    try:
        PodStore(data_dir).move(pod, "prepared")
    finally:
        lock.release()
    return pod


def run_locked(
    data_dir: Path,
    pod: Pod,
    lock: PodLock,
    opts: RunOptions,
    on_started: Callable[[Pod], None] | None = None,
) -> int:
    """Run a pod in ``prepare/`` or ``prepared/`` whose lock we hold; its exit status."""
    from carpool.runtime import setup as pod_setup
    from carpool.runtime.supervisor import Supervisor, run_plans

    store = PodStore(data_dir)
    if opts.interactive and len(pod.app_names()) != 1:
        lock.release()
        raise UsageError("--interactive needs a pod with exactly one app")
    runtime = pod.runtime()
    runtime["run"] = opts.to_json()
    write_atomic(pod.path / "runtime.json", json.dumps(runtime))
    store.move(pod, "run")
    if on_started is not None:
        on_started(pod)
    try:
        plans = pod_setup.setup(data_dir, pod, opts)
        (pod.path / "started").touch()
        runc = pod_setup.runc_for(data_dir)
        marker = pod.path / STOP_MARKER

        def stop_requested() -> bool:  # written by `carpool stop` in another process
            return os.path.lexists(marker)

        from carpool.runtime.prestart import render_templates

        with Supervisor(
            runc,
            lock_fd=lock.fd,
            interactive=opts.interactive,
            stop_timeout=opts.stop_timeout,
            stop_marker=stop_requested,
        ) as sup:
            try:
                return run_plans(sup, plans, lambda plan: render_templates(plan, data_dir))
            except BaseException:
                sup.stop()
                sup.kill()
                while sup.running():
                    sup.wait_any()
                raise
    finally:
        problems = pod_setup.teardown(data_dir, pod)
        for problem in problems:
            log.warning(problem)
        lock.release()


def _need_root() -> None:
    if os.geteuid() != 0:
        raise RuntimeFailure("running pods needs root (mounts, namespaces, cgroups)")


def run(
    data_dir: Path,
    options: PodOptions,
    opts: RunOptions,
    on_started: Callable[[Pod], None] | None = None,
) -> int:
    from carpool.runtime import network

    _need_root()
    network.check_available(opts.net)
    if opts.interactive and options.pod_manifest is None and len(options.apps) != 1:
        raise UsageError("--interactive needs a pod with exactly one app")
    pod, lock = create(data_dir, options)
    return run_locked(data_dir, pod, lock, opts, on_started)


def run_prepared(
    data_dir: Path, uuid: str, opts: RunOptions, on_started: Callable[[Pod], None] | None = None
) -> int:
    _need_root()
    pod = PodStore(data_dir).find(uuid)
    if pod.state_dir != "prepared":
        raise UsageError(f"pod {pod.uuid} is {pod.state}, not prepared")
    lock = PodLock.acquire(pod.path)
    if lock is None:
        raise UsageError(f"pod {pod.uuid} is being used by another carpool process")
    return run_locked(data_dir, pod, lock, opts, on_started)


# -- stop / rm / gc ------------------------------------------------------------


def _wait_unlocked(pod: Pod, timeout: float) -> PodLock | None:
    deadline = time.monotonic() + timeout
    while True:
        lock = PodLock.acquire(pod.path)
        if lock is not None or time.monotonic() >= deadline:
            return lock
        time.sleep(0.05)


def stop(data_dir: Path, uuid: str, *, force: bool = False, timeout: float = 10.0) -> Pod:
    """Stop a running pod (SIGTERM, SIGKILL after ``timeout``; ``force``: SIGKILL now)."""
    from carpool.runtime import setup as pod_setup

    store = PodStore(data_dir)
    pod = store.find(uuid)
    if pod.state_dir != "run":
        raise UsageError(f"pod {pod.uuid} is {pod.state}, not running")
    runc = pod_setup.runc_for(data_dir)
    prefix = pod_setup.container_prefix(pod.uuid)
    (pod.path / STOP_MARKER).touch()

    def signal_all(sig: str) -> None:
        for cid in runc.list_ids():
            if cid.startswith(prefix):
                runc.kill(cid, sig, all_processes=sig == "KILL")

    lock = PodLock.acquire(pod.path)
    if lock is None:
        signal_all("KILL" if force else "TERM")
        lock = _wait_unlocked(pod, 0 if force else timeout)
        if lock is None:
            signal_all("KILL")
            lock = _wait_unlocked(pod, 30)
        if lock is None:
            raise RuntimeFailure(f"pod {pod.uuid} did not stop")
    try:
        current = store.refind(pod) or pod
        for problem in pod_setup.teardown(data_dir, current):
            log.warning(problem)
    finally:
        lock.release()
    return pod


def enter(
    data_dir: Path, uuid: str, command: list[str], *, app: str | None = None, tty: bool = False
) -> int:
    """Run ``command`` (default ``/bin/sh``) in a running pod's app; its exit status."""
    import subprocess

    from carpool.runtime import setup as pod_setup

    pod = PodStore(data_dir).find(uuid)
    if pod.state != "running":
        raise UsageError(f"pod {pod.uuid} is {pod.state}, not running")
    container_id = pod_setup.container_prefix(pod.uuid) + pod.pick_app(app)
    argv = pod_setup.runc_for(data_dir).exec_argv(container_id, command or ["/bin/sh"], tty=tty)
    return subprocess.run(argv, check=False).returncode


def _sweep(data_dir: Path, pod: Pod, lock: PodLock) -> None:
    from carpool.runtime import setup as pod_setup

    try:
        problems = pod_setup.teardown(data_dir, pod)
        if problems:
            raise RuntimeFailure(f"pod {pod.uuid}: " + "; ".join(problems))
        import shutil

        shutil.rmtree(pod.path)
    finally:
        lock.release()


def rm(data_dir: Path, uuid: str) -> Pod:
    """Remove an exited, prepared or aborted pod now."""
    store = PodStore(data_dir)
    pod = store.find(uuid)
    lock = PodLock.acquire(pod.path)
    if lock is None:
        raise UsageError(f"pod {pod.uuid} is {pod.state}: stop it first")
    try:
        if pod.state_dir not in ("exited-garbage", "garbage"):
            store.move(pod, "exited-garbage" if pod.state_dir == "run" else "garbage")
    except BaseException:
        lock.release()
        raise
    _sweep(data_dir, pod, lock)
    return pod


def _garbage_state(pod: Pod, now: float, expire_prepared: float) -> str | None:
    """Where gc moves ``pod``: exited runs and aborted prepares, expired prepared pods
    and embryos older than a minute; None to leave it."""
    if pod.state_dir == "run":
        return "exited-garbage"  # if still locked it is running: left alone
    if pod.state_dir == "prepare":
        return "garbage"
    if pod.state_dir in ("prepared", "embryo"):
        max_age = expire_prepared if pod.state_dir == "prepared" else 60
        if now - (pod.created() or 0) >= max_age:
            return "garbage"
    return None


def _move_unless_locked(store: PodStore, pod: Pod, state: str) -> None:
    lock = PodLock.acquire(pod.path)
    if lock is None:
        return
    try:
        store.move(pod, state)
    finally:
        lock.release()


def gc(
    data_dir: Path,
    *,
    grace: float = 1800.0,
    expire_prepared: float = 86400.0,
    mark_only: bool = False,
) -> list[str]:
    """rkt's gc: mark exited pods, expire prepared ones, sweep after the grace period."""
    store = PodStore(data_dir)
    removed: list[str] = []
    now = time.time()
    for pod in store.all():
        garbage_state = _garbage_state(pod, now, expire_prepared)
        if garbage_state is not None:
            _move_unless_locked(store, pod, garbage_state)
    if mark_only:
        return removed
    for pod in store.all():
        if pod.state_dir == "exited-garbage":
            marked = pod.path.stat().st_ctime
            if grace > 0 and now - marked < grace:
                continue
        elif pod.state_dir != "garbage":
            continue
        lock = PodLock.acquire(pod.path)
        if lock is None:
            continue
        try:
            _sweep(data_dir, pod, lock)
        except CarpoolError as exc:
            log.warning("%s", exc)
            continue
        removed.append(pod.uuid)
    return removed


# -- status ------------------------------------------------------------------


def pod_info(pod: Pod) -> dict[str, Any]:
    """rkt's ``status --format json`` fields for one pod."""
    state = pod.state
    try:
        manifest = pod.manifest()
    except RuntimeFailure:
        manifest = {"apps": []}
    runtime = pod.runtime()
    apps = []
    for ra in manifest.get("apps", []):
        name = ra["name"]
        app_dir = pod.app_dir(name)
        code = pod.exit_code(name)
        if code is not None:
            app_state = "exited"
        elif state == "running":
            app_state = "running"
        elif state in ("prepared", "preparing", "embryo"):
            app_state = "prepared"
        else:
            app_state = "exited"
        exit_mtime = _mtime(app_dir / "exit")
        apps.append(
            {
                "name": name,
                "state": app_state,
                "image_name": ra.get("image", {}).get("name"),
                "image_id": ra.get("image", {}).get("id"),
                "exit_code": code,
                "finished_at": int(exit_mtime) if exit_mtime else None,
            }
        )
    net = (runtime.get("run") or {}).get("net") or []
    from carpool.runtime import network

    created, started = pod.created(), pod.started()
    return {
        "name": pod.uuid,
        "state": state,
        "networks": network.describe(pod.path, net),
        "app_names": [a["name"] for a in apps],
        "apps": apps,
        "created_at": int(created) if created else None,
        "started_at": int(started) if started else None,
    }


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def wait_exited(pod: Pod, timeout: float | None = None) -> None:
    """Block until nobody holds the pod's lock (the pod is not running)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while pod.state_dir in ("run", "prepare", "embryo"):
        lock = PodLock.acquire(pod.path, shared=True)
        if lock is not None:
            lock.release()
            if pod.state_dir == "run":
                return
        if deadline is not None and time.monotonic() >= deadline:
            raise RuntimeFailure(f"pod {pod.uuid} still {pod.state} after {timeout}s")
        time.sleep(0.1)
        refound = PodStore(pod.path.parent.parent.parent).refind(pod)
        if refound is None:
            return
        pod.path, pod.state_dir = refound.path, refound.state_dir


def trees_in_use(data_dir: Path) -> list[Path]:
    """Rendered trees that pods still need (for the store's gc ``in_use``), as rkt kept
    the tree stores of pods in prepare, prepared, run and exited-garbage."""
    trees: list[Path] = []
    for pod in PodStore(data_dir).all():
        if pod.state_dir in ("garbage",):
            continue
        trees += [Path(t) for t in pod.runtime().get("trees", {}).values()]
    return trees
