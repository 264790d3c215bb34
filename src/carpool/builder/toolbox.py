"""The default builder root: what dgr's ``aci-builder`` gave build scripts.

Two read-only directories under ``<data dir>/builder/``, made once per busybox and
carpool version and reused as overlay lower dirs:

* ``full``: a busybox system (``/bin/sh`` and every applet, ``/etc/passwd``…) plus
  ``/dgr/bin/{busybox,functions.sh}``: the builder root when the project names no
  ``builder.dependencies`` (dgr symlinked its toolbox into ``/`` in that case);
* ``dgr``: only ``/dgr/bin/{busybox,functions.sh}``, laid over the builder
  dependencies' rendered trees otherwise.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from carpool import __version__
from carpool.builder.bootstrap import HOST_BUSYBOX, busybox_rootfs


def functions_sh() -> bytes:
    """dgr's ``/dgr/bin/functions.sh`` as carpool ships it."""
    return resources.files("carpool.builder").joinpath("files/functions.sh").read_bytes()


def toolbox_key(busybox: Path = HOST_BUSYBOX) -> str:
    digest = hashlib.sha256()
    digest.update(__version__.encode())
    digest.update(busybox.read_bytes())
    digest.update(functions_sh())
    return digest.hexdigest()[:24]


def install_dgr_bin(rootfs: Path, busybox: Path = HOST_BUSYBOX) -> None:
    """``/dgr/bin/busybox`` and ``/dgr/bin/functions.sh`` in ``rootfs`` (only if different).

    Like dgr's ``cmp -s || cp``: an unchanged file is not copied up into the new layer.
    """
    bindir = rootfs / "dgr/bin"
    bindir.mkdir(parents=True, exist_ok=True)
    for name, data, mode in (
        ("busybox", busybox.read_bytes(), 0o755),
        ("functions.sh", functions_sh(), 0o755),
    ):
        path = bindir / name
        try:
            if path.read_bytes() == data:
                continue
        except OSError:
            pass
        if path.is_symlink() or path.exists():
            path.unlink()
        path.write_bytes(data)
        os.chmod(path, mode)


def default_builder(data_dir: Path, busybox: Path = HOST_BUSYBOX) -> tuple[Path, Path]:
    """``(full, dgr_only)`` lower dirs of the default builder, made on first use."""
    base = data_dir / "builder" / f"toolbox-{toolbox_key(busybox)}"
    full, dgr_only = base / "full", base / "dgr"
    if full.is_dir() and dgr_only.is_dir():
        return full, dgr_only
    base.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".toolbox-", dir=base.parent))
    try:
        (staging / "full").mkdir()
        busybox_rootfs(staging / "full", busybox)
        for d in ("dev", "proc", "sys", "opt", "dgr"):
            (staging / "full" / d).mkdir(exist_ok=True)
        install_dgr_bin(staging / "full", busybox)
        (staging / "dgr").mkdir()
        install_dgr_bin(staging / "dgr", busybox)
        try:
            os.rename(staging, base)
        except OSError:
            if not (full.is_dir() and dgr_only.is_dir()):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return full, dgr_only
