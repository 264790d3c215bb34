"""``carpool build``: a dgr project into ``target/image.aci``.

The step order is dgr's ``builder.sh`` (see the module functions below); each runlevel
runs in a runc container (:mod:`.container`):

1. the image rootfs ``ROOTFS`` is an overlay: the dependencies' rendered trees
   (read-only, from the store) under a fresh upper dir, the new layer;
2. the builder root is another overlay: the default builder (busybox, ``/dgr/bin``) or
   the builder dependencies' trees, under a throwaway upper dir;
3. ``inherit-build-early`` (builder deps') and ``builder`` run in the builder root,
   with ``ROOTFS`` at ``/opt/stage2/<ACI_NAME>/rootfs`` and the project at
   ``/dgr/aci-home``;
4. ``/dgr/bin/{busybox,functions.sh}`` and the project's inherit runlevels go into
   ``ROOTFS``; ``inherit-build-early`` + ``build`` run inside ``ROOTFS``;
5. prestart runlevels, attributes (``*.yml``/``*.yaml``, flattened), ``files/`` and
   ``templates/`` are copied; ``build-late`` + ``inherit-build-late`` run inside
   ``ROOTFS``; then the builder deps' ``inherit-build-late`` in the builder root;
6. the upper dir (minus ``/tmp/*``, overlay whiteouts and the mount points runc had
   to create) becomes the ACI, written deterministically.

Images carry no pre-start event handler: carpool's runtime renders ``/dgr/templates``
at start itself.  Nothing is left in ``target/`` unless the build succeeded.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import stat
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carpool import __version__
from carpool.builder.container import (
    Bind,
    host_env_passthrough,
    mount_overlay,
    run_in_container,
    unmount_all,
)
from carpool.builder.interrupts import deferred_signals
from carpool.builder.project import AciProject, generated_version, parse_manifest
from carpool.builder.sessions import (
    BuildSession,
    build_session,
    project_lock,
    recover_builds,
)
from carpool.builder.toolbox import default_builder, install_dgr_bin, toolbox_key
from carpool.errors import BuildError, CarpoolError
from carpool.log import get_logger
from carpool.progress import SILENT, Progress
from carpool.store import ImageRecord, Store

log = get_logger(__name__)

STEP_MARK = "::carpool-step:: "
CACHE_FILE = "build-cache.json"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
RUNLEVELS = (
    "builder",
    "inherit-build-early",
    "build",
    "build-late",
    "inherit-build-late",
    "prestart-early",
    "prestart-late",
)
# mount points runc creates in the rootfs when missing (default mounts + ours)
_RUNC_MOUNT_POINTS = (
    "/proc",
    "/dev",
    "/dev/pts",
    "/dev/shm",
    "/dev/mqueue",
    "/sys",
    "/sys/fs/cgroup",
    "/dgr/builder",
    "/etc/resolv.conf",
)


@dataclass
class BuildOptions:
    set_env: dict[str, str] = field(default_factory=dict)
    log_level: str = "info"
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    target: Path | None = None  # default <project>/target
    use_cache: bool = True
    progress: Progress = SILENT
    on_output: Callable[[str], None] | None = None
    catch_on_error: bool = False  # dgr's -c: an interactive shell where a step failed

    @property
    def source_date_epoch(self) -> int | None:
        value = self.environ.get("SOURCE_DATE_EPOCH")
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            raise BuildError(f"SOURCE_DATE_EPOCH: {value!r} is not a number of seconds") from None


@dataclass
class BuildResult:
    image_id: str
    name: str
    version: str
    aci: Path
    manifest: dict[str, Any]
    cached: bool


def target_dir(project_dir: Path, options: BuildOptions) -> Path:
    return options.target or project_dir / "target"


def _resolve(store: Store, refs: list[str], field_name: str, source: Path) -> list[ImageRecord]:
    out = []
    for ref in refs:
        try:
            out.append(store.resolve(ref))
        except CarpoolError as exc:
            raise BuildError(
                f"{source}: {field_name}: {ref}: {exc} (build or fetch it first)"
            ) from None
    return out


def _hash_tree(digest: Any, root: Path, skip: set[str]) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(
            d for d in dirnames if os.path.join(rel_dir, d).lstrip("./") not in skip
        )
        for name in sorted(
            filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        ):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest.update(f"{os.path.join(rel_dir, name)}\0{st.st_mode:o}\0".encode())
            if stat.S_ISLNK(st.st_mode):
                digest.update(os.readlink(path).encode())
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        digest.update(chunk)
            digest.update(b"\0")


def cache_key(
    project: AciProject,
    deps: list[ImageRecord],
    builder_deps: list[ImageRecord],
    options: BuildOptions,
    target: Path,
) -> str:
    """What a build depends on: project files, dependency IDs, builder, carpool, env."""
    digest = hashlib.sha256()
    skip = {".git"}
    if target.parent == project.directory:
        skip.add(target.name)
    _hash_tree(digest, project.directory, skip)
    doc = {
        "carpool": __version__,
        "deps": [d.id for d in deps],
        "builder": [d.id for d in builder_deps],
        "toolbox": toolbox_key(),
        "set_env": sorted(options.set_env.items()),
        "dgr_env": sorted(host_env_passthrough(dict(options.environ)).items()),
        "log_level": options.log_level,
        "sde": options.source_date_epoch,
    }
    digest.update(json.dumps(doc, sort_keys=True).encode())
    return digest.hexdigest()


def cached_result(target: Path, key: str) -> BuildResult | None:
    try:
        data = json.loads((target / CACHE_FILE).read_text())
        aci = target / "image.aci"
        manifest = json.loads((target / "manifest.json").read_text())
        if data.get("key") != key or not aci.is_file():
            return None
        if aci.stat().st_size != data.get("size"):
            return None
        return BuildResult(
            str(data["image_id"]), str(data["name"]), str(data["version"]), aci, manifest, True
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _copy_into(src: Path, dest: Path) -> None:
    """``cp -Rf src/. dest`` (contents merged over what is there, symlinks kept)."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        out_dir = dest / rel if rel != "." else dest
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in dirnames + filenames:
            s = Path(dirpath) / name
            d = out_dir / name
            if s.is_symlink():
                if d.is_symlink() or d.is_file():
                    d.unlink()
                os.symlink(os.readlink(s), d)
            elif s.is_dir():
                if d.is_symlink() or (d.exists() and not d.is_dir()):
                    d.unlink()
                d.mkdir(exist_ok=True)
                os.chmod(d, stat.S_IMODE(s.stat().st_mode))
            else:
                if d.is_symlink():
                    d.unlink()
                shutil.copyfile(s, d)
                os.chmod(d, stat.S_IMODE(s.stat().st_mode))
                os.chown(d, 0, 0)


def _missing_prefixes(rootfs: Path, destinations: list[str]) -> set[str]:
    """Paths runc will create for these mount points (relative, no leading slash)."""
    out: set[str] = set()
    for dest in destinations:
        parts = [p for p in dest.split("/") if p]
        for i in range(1, len(parts) + 1):
            rel = "/".join(parts[:i])
            if not os.path.lexists(rootfs / rel):
                out.update("/".join(parts[:j]) for j in range(i, len(parts) + 1))
                break
    return out


class _Step:
    """Runs runlevels in containers and turns a failure into dgr's message."""

    def __init__(self, session: BuildSession, options: BuildOptions) -> None:
        self.session = session
        self.work = session.work
        self.options = options
        self.count = 0

    def run(
        self,
        label: str,
        rootfs: Path,
        commands: list[str],
        env: dict[str, str],
        binds: list[Bind],
    ) -> None:
        self.options.progress.step(label)
        script = "exec 2>&1\n. /dgr/bin/functions.sh\n" + "\n".join(
            f"execute_files {c}" for c in commands
        )
        current: list[str] = ["?"]
        lines: list[str] = []

        def on_line(line: str) -> None:
            if line.startswith(STEP_MARK):
                current[0] = line[len(STEP_MARK) :]
                lines.clear()
                self.options.progress.step(f"{label}: {current[0].rsplit('/', 1)[-1]}")
                return
            lines.append(line)
            if self.options.on_output is not None:
                self.options.on_output(line)

        self.count += 1
        result = run_in_container(
            self.session.runc_root,
            self.session.new_container_id(),
            rootfs,
            ["/dgr/bin/busybox", "sh", "-c", script],
            {**env, "CARPOOL_STEP_MARK": "1"},
            binds,
            self.work / "bundles" / str(self.count),
            on_line=on_line,
        )
        if result.status != 0 and self.options.catch_on_error:
            from carpool.builder.container import run_interactive

            print(
                f"{label} failed: a shell in its root; exit to abort the build",
                file=sys.stderr,
                flush=True,
            )
            run_interactive(
                self.session.runc_root,
                self.session.new_container_id(),
                rootfs,
                ["/dgr/bin/busybox", "sh"],
                env,
                binds,
                self.work / "bundles" / f"{self.count}-catch",
            )
        if result.status != 0:
            path = current[0]
            runlevel = path.rstrip("/").rsplit("/", 2)[-2] if "/" in path else label
            name = path.rsplit("/", 1)[-1]
            tail = "\n".join(f"  | {line}" for line in lines[-40:])
            raise BuildError(
                f"runlevel {runlevel}: script {name} failed with exit status {result.status}"
                + (f"\n{tail}" if tail else "")
            )


def _aci_exec(app: dict[str, Any]) -> str:
    exec_ = app.get("exec") or []
    return " ".join("'" + str(a).replace("'", "'\\''") + "'" for a in exec_)


def image_manifest(
    project: AciProject,
    version: str,
    deps: list[ImageRecord],
    build_date: float,
) -> dict[str, Any]:
    """The appc manifest dgr's ``WriteAciManifest`` produced, minus the pre-start handler."""
    from carpool.builder.bootstrap import host_arch

    app = dict(project.aci.app)
    app.setdefault("exec", ["/dgr/bin/busybox", "sh"])
    if not app.get("exec"):
        app["exec"] = ["/dgr/bin/busybox", "sh"]
    app["user"] = str(app.get("user") or "0")
    app["group"] = str(app.get("group") or "0")
    annotations = [a for a in project.aci.annotations]
    names = {a["name"] for a in annotations}
    for key, value in (
        ("carpool-version", __version__),
        ("build-date", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(build_date))),
    ):
        if key not in names:
            annotations.append({"name": key, "value": value})
    manifest: dict[str, Any] = {
        "acKind": "ImageManifest",
        "acVersion": "0.8.11",
        "name": project.name,
        "labels": [
            {"name": "version", "value": version},
            {"name": "os", "value": "linux"},
            {"name": "arch", "value": host_arch()},
        ],
        "app": app,
        "annotations": annotations,
        "dependencies": [
            {
                "imageName": d.name,
                "imageID": d.id,
                **({"labels": [{"name": "version", "value": d.version}]} if d.version else {}),
            }
            for d in deps
        ],
    }
    return manifest


def build_project(
    store: Store, data_dir: Path, project_dir: Path, options: BuildOptions
) -> BuildResult:
    """Build the dgr project in ``project_dir`` into ``target/image.aci``.

    Leftovers of builds that were killed are removed first (:mod:`.sessions`); a
    concurrent build of the same target is waited for.  Whatever happens, this build's
    containers, mounts and work dir are gone when it returns or raises, and
    ``target/`` holds either the complete result or nothing.
    """
    project_dir = project_dir.resolve()
    project = parse_manifest(project_dir)
    target = target_dir(project_dir, options)
    recover_builds(data_dir)
    with project_lock(data_dir, target, options.progress):
        for leftover in target.parent.glob(f".{target.name}.*-*"):  # a crash in _replace_dir
            shutil.rmtree(leftover, ignore_errors=True)
        return _build_locked(store, data_dir, project_dir, project, target, options)


def _build_locked(
    store: Store,
    data_dir: Path,
    project_dir: Path,
    project: AciProject,
    target: Path,
    options: BuildOptions,
) -> BuildResult:
    from carpool.aci import write_aci
    from carpool.appc import ImageManifest

    sde = options.source_date_epoch
    deps = _resolve(store, project.aci.dependencies, "aci.dependencies", project.manifest_path)
    builder_deps = _resolve(
        store, project.builder.dependencies, "builder.dependencies", project.manifest_path
    )
    if project.builder.image.split(":")[0] != "blablacar.github.io/dgr/aci-builder":
        log.warning(
            "%s: builder.image %s: carpool builds with its own builder (busybox + /dgr/bin);"
            " use builder.dependencies for a different build root",
            project.manifest_path,
            project.builder.image,
        )
    key = cache_key(project, deps, builder_deps, options, target)
    if options.use_cache:
        cached = cached_result(target, key)
        if cached is not None:
            options.progress.step(f"{cached.name}:{cached.version} unchanged (cached)")
            return cached
    if os.geteuid() != 0:
        raise BuildError("building images needs root (overlay mounts, runc containers)")
    started = time.time()
    version = project.version or generated_version(project_dir, sde)
    build_date = float(sde) if sde is not None else started
    options.progress.step(f"building {project.name}:{version}")
    tree_progress = options.progress
    # the store's shared lock (held by the workspace) keeps gc off the trees we mount
    with store.workspace("build-") as held, build_session(data_dir, held) as session:
        dep_trees = [store.render_tree(d.id, progress=tree_progress) for d in deps]
        builder_trees = [store.render_tree(d.id, progress=tree_progress) for d in builder_deps]
        full, dgr_only = default_builder(data_dir)
        work = session.work
        try:
            if target.exists():
                shutil.rmtree(target)
            upper_only, upper = _run_steps(
                project, version, session, dep_trees, builder_trees, full, dgr_only, options
            )
            manifest_doc, version = _final_manifest(project, version, deps, build_date, work)
            ImageManifest.from_json(
                json.dumps(manifest_doc).encode(), source=str(project.manifest_path)
            )
            manifest_bytes = json.dumps(manifest_doc, indent=2).encode() + b"\n"
            options.progress.step("writing image.aci")
            staged = work / "target"
            staged.mkdir()
            image_id = write_aci(
                manifest_bytes,
                upper,
                staged / "image.aci",
                compression="none",
                mtime=sde,
                only=upper_only,
                xattrs=True,
            )
            (staged / "manifest.json").write_bytes(manifest_bytes)
            full_name = f"{project.name}:{version}"
            (staged / "version").write_text(full_name + "\n")
            (staged / "aci-manifest.yml.tmpl").write_text(project.raw_text)
            (staged / CACHE_FILE).write_text(
                json.dumps(
                    {
                        "key": key,
                        "image_id": image_id,
                        "name": project.name,
                        "version": version,
                        "size": (staged / "image.aci").stat().st_size,
                    },
                    indent=1,
                )
            )
            _replace_dir(staged, target)
        except BaseException:
            with deferred_signals():
                unmount_all(work)
                shutil.rmtree(target, ignore_errors=True)
            raise
    return BuildResult(image_id, project.name, version, target / "image.aci", manifest_doc, False)


def _replace_dir(staged: Path, target: Path) -> None:
    """Put ``staged`` at ``target`` by renames: a crash leaves the old, the new or none."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, old)
        shutil.rmtree(old)
    try:
        os.rename(staged, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        partial = target.with_name(f".{target.name}.new-{os.getpid()}")
        shutil.copytree(staged, partial, symlinks=True)
        os.rename(partial, target)


def _final_manifest(
    project: AciProject, version: str, deps: list[ImageRecord], build_date: float, work: Path
) -> tuple[dict[str, Any], str]:
    """Second manifest pass with ``/dgr/builder/attributes`` written by build scripts."""
    from carpool import templater

    written = work / "control" / "attributes"
    final = project
    files = [p for p in sorted(written.rglob("*")) if p.is_file()] if written.is_dir() else []
    if files:
        extra = templater.load_attributes(written)
        final = parse_manifest(
            project.directory, text=project.raw_text, extra_attributes=extra, strict=True
        )
        if final.version and not project.version:
            version = final.version
    return image_manifest(final, version, deps, build_date), version


def _run_steps(
    project: AciProject,
    version: str,
    session: BuildSession,
    dep_trees: list[Path],
    builder_trees: list[Path],
    full: Path,
    dgr_only: Path,
    options: BuildOptions,
) -> tuple[list[str], Path]:
    name = project.tiny_name
    project_dir = project.directory
    runlevels = project_dir / "runlevels"
    work = session.work
    empty = work / "empty"
    empty.mkdir()
    # 1. image rootfs: dependencies (last one on top, as appc renders them) + new layer
    upper = work / "upper"
    rootfs = work / "rootfs"
    mount_overlay(list(reversed(dep_trees)) or [empty], upper, work / "work", rootfs)
    # 2. builder root
    builder_lowers = [dgr_only, *reversed(builder_trees)] if builder_trees else [full]
    builder_root = work / "builder-root"
    mount_overlay(builder_lowers, work / "builder-upper", work / "builder-work", builder_root)
    control = work / "control"
    for sub in ("runlevels", "attributes"):
        (control / sub).mkdir(parents=True)
        os.chmod(control / sub, 0o777)
    # dgr's builder.sh preparation of ROOTFS
    tmp = rootfs / "tmp"
    if not tmp.is_dir():
        tmp.mkdir()
        os.chmod(tmp, 0o1777)
    for sub in ("dgr/runlevels", "dgr/attributes"):
        if not (rootfs / sub).is_dir():
            (rootfs / sub).mkdir(parents=True)
            os.chmod(rootfs / sub, 0o777)
    os.chmod(rootfs / "dgr", 0o755)
    stage2 = f"/opt/stage2/{name}/rootfs"
    env: dict[str, str] = {
        "PATH": PATH,
        "HOME": "/root",
        "TERM": options.environ.get("TERM", "xterm"),
        "DGR_VERSION": __version__,
        "LOG_LEVEL": options.log_level,
        "ACI_PATH": str(project_dir),
        "ACI_NAME": name,
        "ACI_EXEC": _aci_exec(project.aci.app),
        "ACI_HOME": "/dgr/aci-home",
    }
    if project.version:
        env["ACI_VERSION"] = project.version
    for app_env in project.aci.app.get("environment") or []:
        if isinstance(app_env, dict) and "name" in app_env:
            env[str(app_env["name"])] = str(app_env.get("value", ""))
    env.update(project.builder.environment)
    env.update(host_env_passthrough(dict(options.environ)))
    env.update(options.set_env)
    (control / "export").write_text(
        "".join(
            f"export {k}='{v.replace(chr(39), chr(39) + chr(92) + chr(39) + chr(39))}'\n"
            for k, v in sorted(env.items())
        )
    )
    resolv = (
        [Bind(Path("/etc/resolv.conf"), "/etc/resolv.conf", read_only=True)]
        if Path("/etc/resolv.conf").exists()
        else []
    )
    target = options.target or project_dir / "target"
    target.mkdir(parents=True, exist_ok=True)
    builder_binds = [
        Bind(project_dir, "/dgr/aci-home"),
        Bind(target, "/dgr/aci-target"),
        Bind(rootfs, stage2),
        Bind(control, "/dgr/builder"),
        *resolv,
    ]
    for mount in project.builder.mount_points:
        mount.source.mkdir(parents=True, exist_ok=True)
        builder_binds.append(Bind(mount.source, mount.to))
    steps = _Step(session, options)
    builder_env = {**env, "ROOTFS": stage2}
    if builder_trees:
        _builder_prestart(project, rootfs, builder_root, steps, builder_env, builder_binds)
    # 3. builder root: builder deps' inherit-build-early, then the project's builder runlevel
    if (runlevels / "builder").is_dir() or (
        builder_root / "dgr/runlevels/inherit-build-early"
    ).is_dir():
        steps.run(
            "builder",
            builder_root,
            ["/dgr/runlevels/inherit-build-early", "/dgr/aci-home/runlevels/builder"],
            builder_env,
            builder_binds,
        )
    # 4. dgr binaries and inherit runlevels into the image, then build in ROOTFS
    install_dgr_bin(rootfs)
    for level in ("inherit-build-early", "inherit-build-late"):
        if (runlevels / level).is_dir():
            _copy_into(runlevels / level, rootfs / "dgr/runlevels" / level)
    for level in ("build", "build-late"):
        if (runlevels / level).is_dir():
            _copy_into(runlevels / level, control / "runlevels" / level)
    image_env = {**env, "ROOTFS": "/"}
    image_binds = [
        Bind(control, "/dgr/builder"),
        *([] if not (rootfs / "etc").is_dir() else resolv),
    ]
    for mount in project.build_mount_points:
        mount.source.mkdir(parents=True, exist_ok=True)
        image_binds.append(Bind(mount.source, mount.to))
    destinations = [*_RUNC_MOUNT_POINTS, *(m.to for m in project.build_mount_points)]
    created = _missing_prefixes(rootfs, destinations)
    if (
        (runlevels / "build").is_dir()
        or (runlevels / "build-late").is_dir()
        or (rootfs / "dgr/runlevels/inherit-build-early").is_dir()
    ):
        steps.run(
            "build",
            rootfs,
            ["/dgr/runlevels/inherit-build-early", "/dgr/builder/runlevels/build"],
            image_env,
            image_binds,
        )
    # 5. prestart runlevels, attributes, files, templates
    for level in ("prestart-early", "prestart-late"):
        if (runlevels / level).is_dir():
            _copy_into(runlevels / level, rootfs / "dgr/runlevels" / level)
    attributes = project_dir / "attributes"
    if attributes.is_dir():
        dest = rootfs / "dgr/attributes" / name
        dest.mkdir(parents=True, exist_ok=True)
        for path in sorted(attributes.rglob("*")):
            if path.is_file() and path.suffix in (".yml", ".yaml"):
                shutil.copyfile(path, dest / path.name)
                os.chmod(dest / path.name, 0o644)
    if (project_dir / "files").is_dir():
        _copy_into(project_dir / "files", rootfs)
    if (project_dir / "templates").is_dir():
        _copy_into(project_dir / "templates", rootfs / "dgr/templates")
    created |= _missing_prefixes(rootfs, destinations)
    if (runlevels / "build-late").is_dir() or (
        rootfs / "dgr/runlevels/inherit-build-late"
    ).is_dir():
        steps.run(
            "build-late",
            rootfs,
            ["/dgr/builder/runlevels/build-late", "/dgr/runlevels/inherit-build-late"],
            image_env,
            image_binds,
        )
    if (builder_root / "dgr/runlevels/inherit-build-late").is_dir():
        steps.run(
            "inherit-build-late (builder)",
            builder_root,
            ["/dgr/runlevels/inherit-build-late"],
            builder_env,
            builder_binds,
        )
    unmount_all(work)
    return _layer_paths(upper, created), upper


def _builder_prestart(
    project: AciProject,
    rootfs: Path,
    builder_root: Path,
    steps: _Step,
    env: dict[str, str],
    binds: list[Bind],
) -> None:
    """dgr's ``command/build`` prelude: the builder dependencies' own prestart, in the builder.

    The builder root gets every dependency's attributes and the project's, then its
    ``prestart-early`` scripts run, its ``/dgr/templates`` are rendered (e.g. gentoo's
    ``make.conf`` with ``ROOT=$ROOTFS``) and its ``prestart-late`` scripts run.
    """
    from carpool import templater

    attributes = builder_root / "dgr/attributes"
    attributes.mkdir(parents=True, exist_ok=True)
    if (rootfs / "dgr/attributes").is_dir():
        _copy_into(rootfs / "dgr/attributes", attributes)
    own = project.directory / "attributes"
    if own.is_dir():
        mine = attributes / project.tiny_name
        mine.mkdir(exist_ok=True)
        for path in sorted(own.rglob("*")):
            if path.is_file() and path.suffix in (".yml", ".yaml"):
                shutil.copyfile(path, mine / path.name)
    if (builder_root / "dgr/runlevels/prestart-early").is_dir():
        steps.run(
            "builder prestart-early", builder_root, ["/dgr/runlevels/prestart-early"], env, binds
        )
    templates = builder_root / "dgr/templates"
    if templates.is_dir():
        steps.options.progress.step("builder templates")
        try:
            templater.render_dir(
                templates,
                attributes,
                builder_root,
                override_env=env,
                override_var=templater.default_override_var(env),
                check_runner=lambda command, path: None,
                name_prefix="/dgr/templates",
            )
        except CarpoolError as exc:
            raise BuildError(f"builder prestart: {exc}") from None
    if (builder_root / "dgr/runlevels/prestart-late").is_dir():
        steps.run(
            "builder prestart-late", builder_root, ["/dgr/runlevels/prestart-late"], env, binds
        )


def _drop_overlay_xattrs(path: str) -> None:
    """Remove overlayfs' own ``trusted.overlay.*`` marks so only the image's xattrs remain."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        if name.startswith("trusted.overlay."):
            with contextlib.suppress(OSError):
                os.removexattr(path, name, follow_symlinks=False)


def _layer_paths(upper: Path, created: set[str]) -> list[str]:
    """What the new layer holds: upper dir entries minus /tmp/*, whiteouts, runc's mount points."""
    entries: dict[str, os.stat_result] = {}
    _drop_overlay_xattrs(str(upper))
    for dirpath, dirnames, filenames in os.walk(upper):
        rel_dir = os.path.relpath(dirpath, upper)
        rel_dir = "" if rel_dir == "." else rel_dir
        if rel_dir == "tmp":
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                log.warning("build removed /%s from a dependency: not recorded in the ACI", rel)
                continue
            entries[rel] = st
            _drop_overlay_xattrs(os.path.join(dirpath, name))
    # mount points runc had to create, if the build left them empty (deepest first)
    for rel in sorted(created, key=lambda p: p.count("/"), reverse=True):
        found = entries.get(rel)
        if found is None:
            continue
        if stat.S_ISDIR(found.st_mode):
            if not any(other.startswith(rel + "/") for other in entries):
                del entries[rel]
        elif stat.S_ISREG(found.st_mode) and found.st_size == 0:
            del entries[rel]
    return sorted(entries)


def clean(project_dir: Path, target: Path | None = None, *, data_dir: Path | None = None) -> bool:
    """Remove the target dir; whether there was one.

    With ``data_dir``: after removing what killed builds left there, and once no build
    of this project runs (it is waited for).
    """
    target = target or project_dir / "target"
    if data_dir is None:
        return _remove_target(target)
    recover_builds(data_dir)
    with project_lock(data_dir, target):
        return _remove_target(target)


def _remove_target(target: Path) -> bool:
    if not target.exists():
        return False
    shutil.rmtree(target)
    return True


__all__ = ["BuildOptions", "BuildResult", "build_project", "clean"]
