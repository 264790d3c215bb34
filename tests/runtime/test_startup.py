"""``carpool run`` stays lean: what a pod's start-up path must not import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.imports import matching, run_and_list_modules

pytestmark = pytest.mark.host


def test_run_path_imports_no_models_yaml_rich_builder_or_slow_stdlib(
    carpool: Cli, busybox_aci: Path, tmp_path: Path
) -> None:
    carpool("fetch", busybox_aci)  # importing an archive is not the run path
    # nor is rendering the image's tree, which the first run does (shutil, subprocess for cp)
    carpool("run", "--net", "none", "example.com/busybox", "--exec", "/bin/true")
    proc, modules = run_and_list_modules(
        ["run", "--net", "none", "example.com/busybox", "--exec", "/bin/true"],
        tmp_path,
        env=carpool.env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "carpool.runtime.supervisor" in modules  # the pod did run
    heavy = matching(
        modules,
        (
            "pydantic",  # the store's manifests were validated at import
            "yaml",
            "rich",
            "kazoo",
            "ctypes.util",  # find_library runs ldconfig in a subprocess (ctypes: below)
            "carpool.appc",  # the models; its lazy package and constants are fine
            "carpool.aci",
            "carpool.builder",
            "carpool.discovery",
            "carpool.templater",  # only for images with /dgr/templates
        ),
    )
    pydantic_free = {"carpool.appc", "carpool.appc.capabilities"}
    assert [m for m in heavy if m not in pydantic_free] == []
    # standard modules whose import costs milliseconds on a slow host, and that the run
    # path does without (plain classes, builtin SHA-2, posix_spawn, os.urandom UUIDs)
    slow = matching(
        modules,
        (
            "dataclasses",
            "inspect",  # dataclasses' import
            "hashlib",  # initialises OpenSSL; the store uses builtin SHA-2 on this path
            "_hashlib",
            "logging",  # carpool.log imports it when a record gets through
            "shutil",  # and bz2, lzma with it
            "tempfile",
            "subprocess",  # runc is started with posix_spawn
            "selectors",  # the supervisor uses select.epoll itself
            "threading",  # only for a CNI attachment
            "locale",
            "uuid",  # and platform with it
            "platform",
            "copy",
            "socket",  # only to pin namespaces, which a lone container does not need
            "ctypes",  # only to mount: runc mounts a lone container's rootfs
            "carpool.runtime.namespaces",
            "carpool.network.specs",  # CNI networks and --port only
            "carpool.network.backend",
        ),
    )
    assert slow == []


# carpool with its built-in default network on SUBNET (so no real network is touched), and
# the module list written at exit: ``python -c _NET_DUMP OUT SUBNET ARGS…``
_NET_DUMP = """
import atexit, sys
out = sys.argv.pop(1)
import carpool.network.config as c
c.DEFAULT_SUBNET = sys.argv.pop(1)
def _dump():
    with open(out, "w") as f:
        f.write("\\n".join(sorted(sys.modules)))
atexit.register(_dump)
from carpool.cli.main import main
main()
"""


def test_networked_run_path_imports_no_slow_stdlib(
    carpool: Cli, busybox_aci: Path, tmp_path: Path
) -> None:
    """``--net default`` adds the CNI backend, namespace pinning and threads, nothing heavier.

    ctypes (mounts), socket (lo up, hostname) and threading (the attaching thread) are
    what a networked pod needs; the network package itself runs iptables and the plugins
    without subprocess, hashes chain names without hashlib and keeps its records in
    plain classes.
    """
    from tests.network.conftest import next_subnet

    carpool("fetch", busybox_aci)
    args = ["run", "--net", "default", "example.com/busybox", "--exec", "/bin/true"]
    subnet = next_subnet()
    out = tmp_path / "imported-modules.txt"
    for _ in range(2):  # the first run renders the tree (shutil, subprocess for cp)
        proc = subprocess.run(
            [sys.executable, "-c", _NET_DUMP, str(out), subnet, *args],
            capture_output=True,
            text=True,
            env=carpool.env,
            check=False,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
    modules = set(out.read_text().split())
    assert "carpool.runtime.supervisor" in modules  # the pod did run
    assert "carpool.network.backend" in modules  # on the CNI network
    assert "carpool.network.masquerade" in modules  # the built-in one
    heavy = matching(
        modules,
        ("pydantic", "yaml", "rich", "kazoo", "click", "ctypes.util", "carpool.templater"),
    )
    assert heavy == []
    slow = matching(
        modules,
        (
            "dataclasses",
            "inspect",
            "hashlib",
            "_hashlib",
            "logging",
            "shutil",  # and bz2, lzma with it
            "bz2",
            "lzma",
            "shlex",
            "tempfile",
            "subprocess",  # iptables and the CNI plugins are started with posix_spawn
            "_posixsubprocess",
            "locale",
            "uuid",
            "platform",
            "copy",
        ),
    )
    assert slow == []
