"""``carpool build`` on real busybox-based projects: archive, manifest, cache, failures."""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.builder.conftest import copy_example, free_port, stop_background_run, write_project
from tests.conftest import CARPOOL, Cli

pytestmark = pytest.mark.host

SCRIPT = "#!/dgr/bin/busybox sh\nset -e\n"


def names(aci: Path) -> list[str]:
    with tarfile.open(aci) as tar:
        return tar.getnames()


def build(cli: Cli, project: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return cli("build", "-W", project, *args, **kw)  # type: ignore[arg-type]


def test_hello_example_builds_and_serves_its_rendered_page(cli: Cli, tmp_path: Path) -> None:
    project = copy_example("aci-hello", tmp_path)
    out = build(cli, project)
    image_id = out.stdout.split()[0]
    assert image_id.startswith("sha512-")
    content = names(project / "target/image.aci")
    assert content[0] == "manifest"
    for expected in (
        "rootfs/www",
        "rootfs/etc/hello/motd",
        "rootfs/dgr/bin/busybox",
        "rootfs/dgr/bin/functions.sh",
        "rootfs/dgr/attributes/aci-hello/hello.yml",
        "rootfs/dgr/templates/www/index.html.tmpl",
        "rootfs/dgr/templates/etc/hello/start.sh.tmpl.cfg",
        "rootfs/dgr/runlevels/prestart-late/10.ready.sh",
    ):
        assert expected in content
    # nothing of the busybox dependency, nor runc's mount points
    assert "rootfs/bin/busybox" not in content
    assert not any(n.startswith(("rootfs/proc", "rootfs/dev", "rootfs/sys")) for n in content)
    assert "rootfs/etc/resolv.conf" not in content
    with tarfile.open(project / "target/image.aci") as tar:
        headers = [key for member in tar.getmembers() for key in member.pax_headers]
    assert not [key for key in headers if "trusted.overlay" in key]
    manifest = json.loads((project / "target/manifest.json").read_text())
    labels = {label["name"]: label["value"] for label in manifest["labels"]}
    assert labels == {"version": "1", "os": "linux", "arch": "amd64"}
    (dep,) = manifest["dependencies"]
    assert dep["imageName"] == "carpool.dev/busybox"
    assert dep["imageID"].startswith("sha512-")
    assert "eventHandlers" not in manifest["app"]
    assert (project / "target/version").read_text() == "examples.carpool.dev/aci-hello:1\n"

    cli("install", "-W", project)
    port = free_port()
    override = json.dumps({"hello": {"who": "carpool", "port": port}})
    uuid_file = tmp_path / "uuid"
    log = open(tmp_path / "run.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [*CARPOOL, "run", "--net", "host", "--uuid-file-save", str(uuid_file),
         "--set-env", f"TEMPLATER_OVERRIDE={override}", "examples.carpool.dev/aci-hello:1"],
        env=cli.env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        page = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    page = r.read().decode()
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "run.log").read_text()
                time.sleep(0.1)
        assert "<h1>Hello carpool!</h1>" in page
        assert "<li>rkt</li>" in page
    finally:
        stop_background_run(cli, proc, uuid_file)
        log.close()
    assert "page rendered: <h1>Hello carpool!</h1>" in (tmp_path / "run.log").read_text()


def test_runlevels_order_roots_and_environment(cli: Cli, tmp_path: Path) -> None:
    log = "/dgr/aci-home/order.log"
    project = write_project(
        tmp_path / "p",
        {
            "aci-manifest.yml": "name: example.com/aci-env:2\naci:\n"
            "  dependencies: [carpool.dev/busybox]\n"
            "  app:\n    exec: [/bin/true]\n"
            "builder:\n  environment:\n    - {name: FROM_BUILDER, value: from-builder}\n",
            "runlevels/builder/10.builder.sh": SCRIPT
            + f"echo builder >> {log}\n"
            + 'echo "$ACI_NAME $ACI_VERSION $ROOTFS $ACI_HOME $LOG_LEVEL" > $ROOTFS/builder-env\n'
            + 'echo "$FROM_BUILDER $FROM_HOST $FROM_FLAG $ACI_EXEC" >> $ROOTFS/builder-env\n'
            + "test -f /dgr/aci-home/aci-manifest.yml\n",
            "runlevels/inherit-build-early/10.early.sh": SCRIPT
            + "echo inherit-early > /inherit-early.done\n",
            "runlevels/build/10.build.sh": SCRIPT
            + "test -f /inherit-early.done\ntest -f /bin/busybox\n"
            + 'echo "${ROOTFS:-unset} $ACI_NAME" > /build-env\n'
            + "echo junk > /tmp/junk\n",
            "runlevels/build-late/10.late.sh": SCRIPT
            + "test -f /etc/from-files\ncat /etc/from-files > /late.done\n",
            "runlevels/inherit-build-late/10.late.sh": SCRIPT + "echo ok > /inherit-late.done\n",
            "files/etc/from-files": "copied\n",
            "attributes/sub/deep.yml": "default:\n  a: 1\n",
            "attributes/notyaml.txt": "ignored\n",
        },
    )
    (project / "order.log").write_text("")
    build(cli, project, "--set-env", "FROM_FLAG=flag", env={"DGR_ENV_FROM_HOST": "host"})
    content = names(project / "target/image.aci")
    for expected in (
        "rootfs/builder-env",
        "rootfs/build-env",
        "rootfs/inherit-early.done",
        "rootfs/late.done",
        "rootfs/inherit-late.done",
        "rootfs/etc/from-files",
        "rootfs/dgr/runlevels/inherit-build-early/10.early.sh",
        "rootfs/dgr/runlevels/inherit-build-late/10.late.sh",
        "rootfs/dgr/attributes/aci-env/deep.yml",  # flattened
    ):
        assert expected in content, expected
    assert "rootfs/dgr/attributes/aci-env/notyaml.txt" not in content
    assert "rootfs/tmp/junk" not in content
    with tarfile.open(project / "target/image.aci") as tar:
        env = tar.extractfile("rootfs/builder-env").read().decode()  # type: ignore[union-attr]
        build_env = tar.extractfile("rootfs/build-env").read().decode()  # type: ignore[union-attr]
    assert env.splitlines() == [
        "aci-env 2 /opt/stage2/aci-env/rootfs /dgr/aci-home info",
        "from-builder host flag '/bin/true'",
    ]
    assert build_env == "/ aci-env\n"


def test_cache_hit_is_fast_and_a_change_rebuilds(cli: Cli, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "aci-manifest.yml": "name: example.com/aci-cache:1\n"
            "aci: {dependencies: [carpool.dev/busybox]}\n",
            "runlevels/build/10.sh": SCRIPT + "date +%s%N > /stamp\n",
        },
    )
    first = build(cli, project).stdout
    started = time.monotonic()
    second = build(cli, project)
    assert time.monotonic() - started < 2.5  # interpreter start included; the build part < 1 s
    assert second.stdout == first
    assert "cached" in second.stderr
    (project / "files").mkdir()
    (project / "files/new").write_text("x")
    third = build(cli, project).stdout
    assert third != first


def test_same_inputs_and_source_date_epoch_give_the_same_image_id(cli: Cli, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "aci-manifest.yml": "name: example.com/aci-repro\n"
            "aci: {dependencies: [carpool.dev/busybox]}\n",
            "runlevels/build/10.sh": SCRIPT + "echo same > /same\nmkdir -p /var/lib/x\n",
            "templates/etc/t.tmpl": "{{ .x }}\n",
            "attributes/a.yml": "default: {x: 1}\n",
        },
    )
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    first = build(cli, project, "--no-cache", env=env).stdout.split()
    second = build(cli, project, "--no-cache", env=env).stdout.split()
    assert first == second
    # no version: dgr's generated one, from SOURCE_DATE_EPOCH
    assert first[1] == "example.com/aci-repro:20231114.221320"


def test_failing_script_names_runlevel_and_script_and_leaves_no_target(
    cli: Cli, tmp_path: Path
) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "aci-manifest.yml": "name: example.com/aci-fail:1\n"
            "aci: {dependencies: [carpool.dev/busybox]}\n",
            "runlevels/build/10.ok.sh": SCRIPT + "echo fine\n",
            "runlevels/build/20.fail.sh": SCRIPT + "echo something broke >&2\nexit 3\n",
            "runlevels/build/30.never.sh": SCRIPT + "touch /never\n",
        },
    )
    proc = build(cli, project, check=False)
    assert proc.returncode == 1
    assert "error: runlevel build: script 20.fail.sh failed with exit status 3" in proc.stderr
    assert "something broke" in proc.stderr
    assert "fine" not in proc.stderr.split("error:")[1]
    assert not (project / "target").exists()
    assert "Traceback" not in proc.stderr


def test_builder_runlevel_failure(cli: Cli, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "aci-manifest.yml": "name: example.com/aci-fail2:1\n",
            "runlevels/builder/10.b.sh": SCRIPT + "echo nope; false\n",
        },
    )
    proc = build(cli, project, check=False)
    assert proc.returncode == 1
    assert "runlevel builder: script 10.b.sh failed with exit status 1" in proc.stderr
    assert "nope" in proc.stderr
    assert not (project / "target").exists()


def test_only_name_and_second_manifest_pass(cli: Cli, tmp_path: Path) -> None:
    only = write_project(tmp_path / "only", {"aci-manifest.yml": "name: example.com/aci-test\n"})
    out = build(cli, only).stdout.split()
    assert re.fullmatch(r"example\.com/aci-test:\d{8}\.\d{6}(-v[0-9a-f]+)?", out[1])
    content = names(only / "target/image.aci")
    assert "rootfs/dgr/bin/busybox" in content and "rootfs/tmp" in content
    manifest = json.loads((only / "target/manifest.json").read_text())
    assert manifest["app"]["exec"] == ["/dgr/bin/busybox", "sh"]

    templated = write_project(
        tmp_path / "templated",
        {
            "aci-manifest.yml": "name: example.com/aci-t:{{.version}}-1\n"
            "aci:\n  app:\n    user: '{{ .user }}'\n"
            "    isolators:\n      - name: resource/memory\n"
            "        value: {request: 32M, limit: 256M}\n",
            "attributes/a.yml": "default: {user: '0'}\n",
            "runlevels/build/run.sh": "#!/dgr/bin/busybox sh\n"
            "printf 'default:\\n  version: 1.0.0\\n  user: \"42\"\\n'"
            " > /dgr/builder/attributes/version.yml\n",
        },
    )
    out = build(cli, templated).stdout.split()
    assert out[1] == "example.com/aci-t:1.0.0-1"
    manifest = json.loads((templated / "target/manifest.json").read_text())
    assert manifest["app"]["user"] == "42"
    assert "256M" in json.dumps(manifest)


def test_manifest_errors_name_the_file_and_field(cli: Cli, tmp_path: Path) -> None:
    empty = write_project(tmp_path / "empty", {"aci-manifest.yml": ""})
    proc = build(cli, empty, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith(
        f"error: {empty}/aci-manifest.yml: name: is mandatory in manifest"
    )
    missing_dep = write_project(
        tmp_path / "dep",
        {"aci-manifest.yml": "name: example.com/a\naci: {dependencies: [example.com/nope:1]}\n"},
    )
    proc = build(cli, missing_dep, check=False)
    assert proc.returncode == 1
    assert "aci-manifest.yml: aci.dependencies: example.com/nope:1" in proc.stderr
    bad_app = write_project(
        tmp_path / "app",
        {"aci-manifest.yml": "name: example.com/a:1\naci: {app: {ports: [{name: 'Bad Name'}]}}\n"},
    )
    proc = build(cli, bad_app, check=False)
    assert proc.returncode != 0 and "aci-manifest.yml" in proc.stderr
    assert "Traceback" not in proc.stderr
    unknown = write_project(
        tmp_path / "unknown",
        {"aci-manifest.yml": "name: example.com/a:1\nNAME2: x\naci: {APP: {exec: [/bin/true]}}\n"},
    )
    proc = build(cli, unknown)
    assert "warning:" in proc.stderr and "NAME2" in proc.stderr
    manifest = json.loads((unknown / "target/manifest.json").read_text())
    assert manifest["app"]["exec"] == ["/bin/true"]  # keys match case-insensitively
    assert not (empty / "target").exists()


def test_clean_and_aci_version(cli: Cli, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {"aci-manifest.yml": "name: example.com/v:3.2\n"})
    build(cli, project)
    assert cli("aci-version", project / "target/image.aci").stdout == "3.2\n"
    cli("clean", "-W", project)
    assert not (project / "target").exists()


def test_builder_dependencies_and_mount_points(cli: Cli, tmp_path: Path) -> None:
    toolbox = write_project(
        tmp_path / "toolbox",
        {
            "aci-manifest.yml": "name: example.com/toolbox:1\n"
            "aci: {dependencies: [carpool.dev/busybox]}\n",
            "files/usr/bin/make-marker": '#!/bin/sh\necho "made by the toolbox" > "$1"\n',
            "runlevels/inherit-build-early/10.tools.sh": SCRIPT
            + 'echo "toolbox early in $ACI_NAME" > /toolbox-early\n',
            # the builder dependency's prestart renders its templates in the build root
            "templates/etc/tool.conf.tmpl": "target={{ .tool.target }} for={{ .who }}\n",
            "attributes/tool.yml": "default:\n  tool: {target: /opt/stage2}\n",
        },
    )
    (toolbox / "files/usr/bin/make-marker").chmod(0o755)
    cli("install", "-W", toolbox)
    project = write_project(
        tmp_path / "p",
        {
            "aci-manifest.yml": "name: example.com/aci-tooled:1\n"
            "aci: {dependencies: [carpool.dev/busybox]}\n"
            "builder:\n  dependencies: [example.com/toolbox:1]\n"
            "  mountPoints: [{from: builder-cache, to: /var/cache/tool}]\n"
            "build:\n  mountPoints: [{from: build-cache, to: /cache}]\n",
            "runlevels/builder/10.use-tools.sh": SCRIPT
            + "make-marker $ROOTFS/marker\ncat /toolbox-early > $ROOTFS/early\n"
            + "echo kept > /var/cache/tool/from-builder\n",
            "runlevels/build/10.cache.sh": SCRIPT + "echo cached > /cache/from-build\n",
            "attributes/who.yml": "default: {who: tooled}\n",
        },
    )
    (project / "runlevels/builder/20.conf.sh").write_text(
        SCRIPT + "cp /etc/tool.conf $ROOTFS/tool.conf\n"
    )
    build(cli, project)
    assert (project / "builder-cache/from-builder").read_text() == "kept\n"
    assert (project / "build-cache/from-build").read_text() == "cached\n"
    content = names(project / "target/image.aci")
    assert "rootfs/marker" in content and "rootfs/early" in content
    assert not any(n.startswith("rootfs/cache") for n in content)
    assert not any("make-marker" in n for n in content)  # the builder root is not the image
    with tarfile.open(project / "target/image.aci") as tar:
        marker = tar.extractfile("rootfs/marker").read()  # type: ignore[union-attr]
        early = tar.extractfile("rootfs/early").read()  # type: ignore[union-attr]
    assert marker == b"made by the toolbox\n"
    assert early == b"toolbox early in aci-tooled\n"
    with tarfile.open(project / "target/image.aci") as tar:
        conf = tar.extractfile("rootfs/tool.conf").read()  # type: ignore[union-attr]
    assert conf == b"target=/opt/stage2 for=tooled\n"
