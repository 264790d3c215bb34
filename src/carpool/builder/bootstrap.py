"""Base images made from what the host has: ``carpool bootstrap busybox`` and ``debian``.

The Debian image (:func:`bootstrap_debian`) is ``debootstrap`` of a suite from the
mirror the host's apt uses, with debootstrap's package cache kept under
``<data dir>/builder/debootstrap-cache`` and the image itself reused when the store
already holds it (``--force`` to make it again).

The busybox image is the smallest useful base: the host's static ``/bin/busybox``
(Debian's busybox-static), a symlink for every applet at the path busybox itself
lists (``busybox --list-full``), a minimal ``/etc/passwd`` and ``/etc/group``, and a
world-writable ``/tmp``.  Every entry gets the same fixed mtime and the archive is
written deterministically, so the same busybox always gives the same image ID and
bootstrapping again changes nothing.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import re
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carpool.builder.container import unmount_all
from carpool.errors import BuildError, UsageError
from carpool.fsutil import atomic_write_bytes
from carpool.progress import SILENT, Progress
from carpool.store import ImageRecord, Store

DEFAULT_BUSYBOX_NAME = "carpool.dev/busybox"
HOST_BUSYBOX = Path("/bin/busybox")
#: Every entry's mtime (2000-01-01T00:00:00Z): the image depends on its content only.
FIXED_MTIME = 946_684_800

_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = "root:x:0:\nnogroup:x:65534:\n"
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "aarch64", "arm64": "aarch64",
         "i386": "i386", "i686": "i386", "armv7l": "armv7l", "armv6l": "armv6l",
         "ppc64le": "ppc64le", "ppc64": "ppc64", "s390x": "s390x"}  # fmt: skip


@dataclass(frozen=True)
class BootstrapResult:
    image: ImageRecord
    archive: Path | None  # where the ACI was written, when asked to keep a copy


def host_arch() -> str:
    """The appc ``arch`` label of this machine."""
    machine = platform.machine()
    try:
        return _ARCH[machine]
    except KeyError:
        raise BuildError(f"unsupported machine architecture {machine!r}") from None


def busybox_version(busybox: Path = HOST_BUSYBOX) -> str:
    """``1.35.0`` from the banner busybox prints (``BusyBox v1.35.0 (Debian …)``)."""
    banner = _run_busybox(busybox, "--help")
    match = re.search(r"BusyBox v(\d+(?:\.\d+)+)", banner)
    if match is None:
        raise BuildError(f"{busybox}: cannot tell its version from {banner.splitlines()[0]!r}")
    return match.group(1)


def _run_busybox(busybox: Path, *args: str) -> str:
    if not busybox.is_file():
        raise BuildError(f"{busybox}: not found (install the busybox-static package)")
    try:
        proc = subprocess.run(
            [str(busybox), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        raise BuildError(f"{busybox}: cannot run: {exc.strerror}") from exc
    return proc.stdout + proc.stderr


def busybox_rootfs(rootfs: Path, busybox: Path = HOST_BUSYBOX) -> None:
    """Fill the empty directory ``rootfs`` with busybox, its applet links and /etc basics."""
    applets = [
        line.strip().strip("/")
        for line in _run_busybox(busybox, "--list-full").splitlines()
        if line.strip()
    ]
    if "bin/sh" not in applets:
        raise BuildError(f"{busybox}: has no sh applet (busybox --list-full)")
    for directory in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "tmp"):
        (rootfs / directory).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(busybox, rootfs / "bin/busybox")
    os.chmod(rootfs / "bin/busybox", 0o755)
    for applet in applets:
        if applet in ("bin/busybox", "linuxrc") or ".." in applet.split("/"):
            continue  # linuxrc is busybox's init alias at /; not wanted in a container
        link = rootfs / applet
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(os.path.relpath("bin/busybox", os.path.dirname(applet) or "."))
    (rootfs / "etc/passwd").write_text(_PASSWD)
    (rootfs / "etc/group").write_text(_GROUP)
    for path in (rootfs / "etc/passwd", rootfs / "etc/group"):
        os.chmod(path, 0o644)
    os.chmod(rootfs / "root", 0o700)
    os.chmod(rootfs / "tmp", 0o1777)
    for directory in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc"):
        os.chmod(rootfs / directory, 0o755)
    os.chmod(rootfs, 0o755)


def _base_manifest(
    name: str, version: str, shell: str, annotations: dict[str, str] | None = None
) -> bytes:
    """A base image's manifest: root, in ``/``, running ``shell`` (its bytes are hashed
    into the image ID, so the same inputs always give the same document)."""
    manifest: dict[str, Any] = {
        "acKind": "ImageManifest",
        "acVersion": "0.8.11",
        "name": name,
        "labels": [
            {"name": "version", "value": version},
            {"name": "os", "value": "linux"},
            {"name": "arch", "value": host_arch()},
        ],
        "app": {"exec": [shell], "user": "0", "group": "0", "workingDirectory": "/"},
    }
    if annotations:
        manifest["annotations"] = [{"name": k, "value": v} for k, v in annotations.items()]
    return json.dumps(manifest, indent=2).encode() + b"\n"


def busybox_manifest(name: str, version: str) -> bytes:
    return _base_manifest(name, version, "/bin/sh")


def bootstrap_busybox(
    store: Store,
    *,
    name: str = DEFAULT_BUSYBOX_NAME,
    version: str | None = None,
    output: Path | None = None,
    busybox: Path = HOST_BUSYBOX,
    progress: Progress = SILENT,
) -> BootstrapResult:
    """Build the busybox base image and import it into ``store``.

    With ``output`` the ACI is also kept there; without, it is written straight into
    the store.  Same busybox, name and version: same image ID, nothing new stored.
    """
    from carpool.aci import write_aci
    from carpool.appc import ImageManifest, is_ac_identifier

    if not is_ac_identifier(name):
        raise UsageError(
            f"--name: {name!r} is not an image name (lowercase letters, digits and -._~/)"
        )
    if version is not None and not version.strip():
        raise UsageError("--version: must not be empty")
    version = version or busybox_version(busybox)
    manifest = busybox_manifest(name, version)
    ImageManifest.from_json(manifest, source="busybox manifest")  # name/version checked here
    progress.step(f"bootstrapping {name}:{version} from {busybox}")
    with store.workspace("bootstrap-") as work:
        rootfs = work / "rootfs"
        rootfs.mkdir()
        busybox_rootfs(rootfs, busybox)
        archive = work / "busybox.aci"
        write_aci(manifest, rootfs, archive, compression="gzip", mtime=FIXED_MTIME)
        if output is None:
            return BootstrapResult(store.import_downloaded(archive, progress=progress), None)
        try:  # the archive is about a megabyte: written whole, like every other kept file
            atomic_write_bytes(output, archive.read_bytes(), parents=True)
        except OSError as exc:
            raise UsageError(f"--output {output}: {exc.strerror or exc}") from None
        return BootstrapResult(store.import_aci(output, progress=progress), output)


DEFAULT_DEBIAN_NAME = "carpool.dev/debian"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
APT_SOURCES = Path("/etc/apt")
_POLICY_RC_D = "#!/bin/sh\n# no service starts during image builds (dgr's aci-debian)\nexit 101\n"


def host_debian_mirror(apt_dir: Path = APT_SOURCES) -> str:
    """The Debian archive the host's apt uses (deb822 ``URIs:`` or ``deb`` lines)."""
    candidates: list[str] = []
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in files:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        for line in text.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] == "URIs:":
                candidates += words[1:]
            elif len(words) >= 3 and words[0] == "deb":
                uri = next((w for w in words[1:] if "://" in w), None)
                if uri:
                    candidates.append(uri)
    for uri in candidates:
        if uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    return DEFAULT_MIRROR


def debian_manifest(name: str, version: str, variant: str, mirror: str) -> bytes:
    annotations = {"debootstrap-variant": variant, "debootstrap-mirror": mirror}
    return _base_manifest(name, version, "/bin/bash", annotations)


def debootstrap_cache_dir(data_dir: Path) -> Path:
    """Where debootstrap keeps the packages it downloaded, reused by the next bootstrap."""
    return data_dir / "builder" / "debootstrap-cache"


def bootstrap_debian(
    store: Store,
    *,
    cache_dir: Path | None = None,
    suite: str = "bookworm",
    variant: str = "minbase",
    name: str = DEFAULT_DEBIAN_NAME,
    version: str | None = None,
    mirror: str | None = None,
    force: bool = False,
    progress: Progress = SILENT,
) -> BootstrapResult:
    """``debootstrap`` ``suite`` into a Debian base image in ``store`` (reused if there).

    ``cache_dir`` defaults to :func:`debootstrap_cache_dir` of the store's data dir.
    """
    from carpool.aci import write_aci
    from carpool.appc import ImageManifest, is_ac_identifier
    from carpool.errors import CarpoolError

    if not is_ac_identifier(name):
        raise UsageError(f"--name: {name!r} is not an image name")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", suite):
        raise UsageError(f"--suite: {suite!r} is not a Debian suite name")
    if variant not in ("minbase", "buildd", "fakechroot", "-"):
        raise UsageError(f"--variant: {variant!r} is not minbase, buildd or fakechroot")
    version = version or suite
    mirror = mirror or host_debian_mirror()
    if not force:
        try:
            existing = store.resolve(f"{name}:{version}")
        except CarpoolError:
            existing = None
        if existing is not None and existing.manifest.annotation("debootstrap-variant") == variant:
            progress.step(f"{name}:{version} already in the store")
            return BootstrapResult(existing, None)
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    if not os.access(debootstrap, os.X_OK):
        raise BuildError("debootstrap: not found (install the debootstrap package)")
    manifest = debian_manifest(name, version, variant, mirror)
    ImageManifest.from_json(manifest, source="debian manifest")
    cache_dir = cache_dir or debootstrap_cache_dir(store.layout.root)
    cache_dir.mkdir(parents=True, exist_ok=True)
    progress.step(f"debootstrap {suite} ({variant}) from {mirror}")
    with store.workspace("debootstrap-") as work:
        rootfs = work / "rootfs"
        argv = [debootstrap, f"--cache-dir={cache_dir}"]
        if variant != "-":
            argv.append(f"--variant={variant}")
        argv += [suite, str(rootfs), mirror]
        try:
            status, lines = _run_debootstrap(argv, progress)
        finally:
            unmount_all(work)  # without namespaces (no unshare): debootstrap's own mounts
        if status != 0:
            raise BuildError(f"debootstrap {suite} failed: {lines[-1] if lines else status}")
        _tidy_debian(rootfs)
        archive = work / "debian.aci"
        progress.step(f"writing {name}:{version}")
        write_aci(manifest, rootfs, archive, compression="gzip", progress=progress)
        return BootstrapResult(store.import_downloaded(archive, progress=progress), None)


_PER_PACKAGE = re.compile(
    r"^I: (Retrieving|Validating|Extracting|Unpacking|Configuring)"
    r" [a-z0-9][a-z0-9.+-]*( \S+|\.\.\.)$"
)


def _run_debootstrap(argv: list[str], progress: Progress) -> tuple[int, list[str]]:
    """Run debootstrap, its phases (not every package) as progress steps.

    debootstrap mounts ``/proc`` and ``/sys`` in the target and unmounts them only if
    it ends normally.  It runs in mount and PID namespaces of its own that die with
    carpool (even SIGKILLed): its mounts and processes cannot outlive the bootstrap.
    """
    proc = subprocess.Popen(
        isolated_argv(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_die_with_parent(os.getpid()),
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            if line.startswith("I: ") and not _PER_PACKAGE.match(line):
                progress.step(f"debootstrap: {line[3:]}")
        return proc.wait(), lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


UNSHARE = "/usr/bin/unshare"


def isolated_argv(argv: list[str]) -> list[str]:
    """``argv`` in new mount and PID namespaces (util-linux ``unshare``) when root."""
    unshare = shutil.which("unshare") or UNSHARE
    if os.geteuid() != 0 or not os.access(unshare, os.X_OK):
        return argv
    return [unshare, "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
            *argv]  # fmt: skip


def _die_with_parent(parent: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets SIGKILL when the process that started it dies."""

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl
            os._exit(1)

    return preexec


_PR_SET_PDEATHSIG = 1


def _tidy_debian(rootfs: Path) -> None:
    """Drop what belongs to the host or the download, add policy-rc.d."""
    for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*", "var/log/*.log"):
        for path in rootfs.glob(pattern):
            if path.is_file():
                path.unlink()
    for host_file in ("etc/resolv.conf", "etc/hostname"):
        path = rootfs / host_file
        if path.is_file() and not path.is_symlink():
            path.write_text("")
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text(_POLICY_RC_D)
    os.chmod(policy, 0o755)
