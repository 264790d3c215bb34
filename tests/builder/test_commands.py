"""``init``, ``try``, ``graph``, ``sign``: dgr's smaller commands."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.builder.conftest import write_project
from tests.conftest import Cli


@pytest.mark.host
def test_init_sample_builds_tests_and_refuses_non_empty(cli: Cli, tmp_path: Path) -> None:
    project = tmp_path / "dummy"
    cli("init", "-W", project)
    for level in ("builder", "build", "build-late", "prestart-early", "prestart-late"):
        assert (project / f"runlevels/{level}/10.{level}.sh").stat().st_mode & 0o111
    manifest = project / "aci-manifest.yml"
    assert manifest.read_text() == "name: aci.example.com/aci-dummy:1\n"
    manifest.write_text(manifest.read_text() + "aci: {dependencies: [carpool.dev/busybox]}\n")
    out = cli("test", "-W", project, "-v")
    assert "I'm a build-late script" in out.stderr
    assert "ok 1 templated file is rendered" in out.stdout
    proc = cli("init", "-W", project, check=False)
    assert proc.returncode == 1 and "not empty" in proc.stderr
    cli("init", "-W", project, "--force")


def test_try_renders_with_dependency_attributes(cli: Cli, tmp_path: Path) -> None:
    base = write_project(
        tmp_path / "base",
        {
            "aci-manifest.yml": "name: example.com/aci-base:1\n",
            "attributes/base.yml": "default:\n  dns: {nameservers: [10.0.0.1]}\n  who: base\n",
        },
    )
    cli("install", "-W", base)
    child = write_project(
        tmp_path / "child",
        {
            "aci-manifest.yml": "name: example.com/aci-child:1\n"
            "aci: {dependencies: [example.com/aci-base:1]}\n",
            "attributes/child.yml": "default:\n  who: child\n",
            "templates/etc/resolv.conf.tmpl": "nameserver {{ index .dns.nameservers 0 }}\n"
            "# {{ .who }}\n",
            "templates/etc/broken.tmpl": "{{ .missing }}\n",
        },
    )
    proc = cli("try", "-W", child)
    rendered = (child / "target/try/etc/resolv.conf").read_text()
    assert rendered == "nameserver 10.0.0.1\n# child\n"
    assert "broken.tmpl" in proc.stderr and "<no value>" in proc.stderr


def test_graph_writes_dot_and_png(cli: Cli, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "aci-manifest.yml": "name: example.com/g:1\naci: {dependencies: [example.com/a:1]}\n"
            "builder: {dependencies: [example.com/b]}\n"
            "tester: {aci: {dependencies: [example.com/t]}}\n",
        },
    )
    cli("graph", "-W", project)
    dot = (project / "target/graph.dot").read_text()
    assert '"example.com/a:1" -> "example.com/g:1" [color=black];' in dot
    assert '"example.com/b" -> "example.com/g:1" [color=red];' in dot
    assert '"example.com/t" -> "example.com/g:1" [color=blue];' in dot
    if shutil.which("dot"):
        assert (project / "target/graph.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.host
def test_sign_writes_a_detached_signature_gpg_verifies(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "builder@example.com",
         "ed25519", "sign", "never"],
        env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    project = write_project(tmp_path / "p", {"aci-manifest.yml": "name: example.com/s:1\n"})
    cli("build", "-W", project)
    out = cli("sign", "-W", project, env={"GNUPGHOME": str(home)})
    signature = project / "target/image.aci.asc"
    assert out.stdout.strip() == str(signature)
    assert signature.read_text().startswith("-----BEGIN PGP SIGNATURE-----")
    subprocess.run(
        ["gpg", "--batch", "--verify", str(signature), str(project / "target/image.aci")],
        env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False, capture_output=True)
    missing = cli("sign", "-W", tmp_path / "nowhere", check=False)
    assert missing.returncode == 1 and "not built" in missing.stderr


def test_try_graph_and_init_refuse_what_is_no_project_without_writing(
    cli: Cli, tmp_path: Path
) -> None:
    for command in ("try", "graph"):
        nowhere = tmp_path / f"not-{command}"
        proc = cli(command, "-W", nowhere, check=False)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith(f"error: {nowhere}: no aci-manifest.yml")
        assert not nowhere.exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = cli("init", "-W", blocker / "project", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {blocker}/project: cannot create (")
