"""Pod projects: one ACI per app, inheritance, pod attributes, runnable pod manifest."""

from __future__ import annotations

import json
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.builder.conftest import copy_example, stop_background_run
from tests.conftest import CARPOOL, Cli

pytestmark = pytest.mark.host


def test_pod_example_builds_one_image_per_app_and_runs(cli: Cli, tmp_path: Path) -> None:
    cli("install", "-W", copy_example("aci-hello", tmp_path))
    pod = copy_example("pod-hello", tmp_path)
    out = cli("install", "-W", pod).stdout.splitlines()
    assert [line.split()[1] for line in out] == [
        "examples.carpool.dev/pod-hello_aci-hello:1",
        "examples.carpool.dev/pod-hello_sidecar:1",
    ]
    web = json.loads((pod / "target/aci-hello/manifest.json").read_text())
    assert web["app"]["exec"] == ["/bin/sh", "/etc/hello/start.sh"]  # inherited
    assert web["app"]["ports"][0]["port"] == 8080
    assert web["dependencies"][0]["imageName"] == "examples.carpool.dev/aci-hello"
    for app in ("aci-hello", "sidecar"):
        with tarfile.open(pod / f"target/{app}/image.aci") as tar:
            assert "rootfs/dgr/attributes/pod/pod.yml" in tar.getnames()
    manifest = json.loads((pod / "target/pod-manifest.json").read_text())
    assert manifest["acKind"] == "PodManifest"
    assert [a["name"] for a in manifest["apps"]] == ["aci-hello", "sidecar"]
    assert manifest["apps"][1]["image"]["id"] == out[1].split()[0]

    uuid_file = tmp_path / "uuid"
    log_path = tmp_path / "pod.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [*CARPOOL, "run", "--net", "none", "--uuid-file-save", str(uuid_file),
             "--pod-manifest", str(pod / "target/pod-manifest.json")],
            env=cli.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while "sidecar got: <h1>Hello pod!</h1>" not in log_path.read_text():
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        finally:
            stop_background_run(cli, proc, uuid_file)


def test_pod_manifest_errors(cli: Cli, tmp_path: Path) -> None:
    project = tmp_path / "pod"
    project.mkdir()
    (project / "pod-manifest.yml").write_text("name: example.com/p:1\npod: {apps: []}\n")
    proc = cli("build", "-W", project, check=False)
    assert proc.returncode == 1
    assert "pod-manifest.yml: pod.apps: must be a non-empty list" in proc.stderr
    (project / "pod-manifest.yml").write_text(
        "name: example.com/p:1\npod:\n  apps:\n    - dependencies: [example.com/none:1]\n"
    )
    proc = cli("build", "-W", project, check=False)
    assert proc.returncode == 1
    assert "pod.apps[0].dependencies: example.com/none:1" in proc.stderr
