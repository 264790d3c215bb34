"""``carpool run`` stays lean: what a pod's start-up path must not import."""

from __future__ import annotations

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
