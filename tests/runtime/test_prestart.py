"""dgr's prestart for images that carry /dgr/templates but no pre-start handler."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.runtime.images import BUSYBOX, build_aci

pytestmark = pytest.mark.host

NONE = ("--net", "none")
EARLY = (
    b"#!/dgr/bin/busybox sh\n"
    b"mkdir -p /dgr/attributes/zz-early\n"
    b"echo 'default: {app: {from_early: yes}}' > /dgr/attributes/zz-early/e.yml\n"
    b"echo early ran\n"
)
LATE = b"#!/dgr/bin/busybox sh\ntest -f /etc/app.conf && echo late sees config\n"


def dgr_image(
    images_dir: Path, name: str, templates: dict[str, bytes], app: dict | None = None
) -> Path:
    files = {
        "/dgr/bin/busybox": (BUSYBOX.read_bytes(), 0o755, 0, 0),
        "/dgr/attributes/aci-app/app.yml": (
            b"default:\n  app:\n    port: 8080\n    name: web\n",
            0o644,
            0,
            0,
        ),
        "/dgr/runlevels/prestart-early/10-early.sh": (EARLY, 0o755, 0, 0),
        "/dgr/runlevels/prestart-late/10-late.sh": (LATE, 0o644, 0, 0),
    }
    files.update({f"/dgr/templates{k}": (v, 0o644, 0, 0) for k, v in templates.items()})
    return build_aci(
        images_dir / f"{name}.aci",
        name=f"example.com/{name}",
        app=app
        or {
            "exec": [
                "/bin/sh",
                "-c",
                "cat /etc/app.conf; stat -c '%a %u %g' /etc/app.conf /etc/owned",
            ],
            "user": "app",
            "group": "appgrp",
        },
        files=files,
        dirs={"/dgr": (0o755, 0, 0), "/dgr/attributes": (0o777, 0, 0)},
    )


TEMPLATES = {
    "/etc/app.conf.tmpl": b"name={{.app.name}}\nport={{.app.port}}\nearly={{.app.from_early}}\n",
    "/etc/app.conf.tmpl.cfg": b"mode: 0640\nuid: 0\ngid: 2345\n",
    "/etc/owned.tmpl": b"{{.app.name}}\n",
}


def test_templates_rendered_with_attributes_and_runlevels(carpool: Cli, images_dir: Path) -> None:
    aci = dgr_image(images_dir, "dgr-app", TEMPLATES)
    proc = carpool("run", *NONE, aci)
    out = proc.stdout.splitlines()
    assert out[0] == "early ran"
    assert out[1] == "late sees config"
    assert out[2:5] == ["name=web", "port=8080", "early=true"]
    assert out[5] == "640 0 2345"  # from the .cfg
    assert out[6].endswith("1234 2345")  # no .cfg: the app's user, as dgr's templater ran


def test_the_next_start_reuses_the_templater_cache(carpool: Cli, images_dir: Path) -> None:
    aci = dgr_image(images_dir, "dgr-app", TEMPLATES)
    first = carpool("run", *NONE, aci).stdout
    cache = carpool.data_dir / "cache" / "templater"
    bundles = {p.name: p.read_bytes() for p in cache.glob("*.cache")}
    assert bundles  # parse trees and attribute files were kept
    assert carpool("run", *NONE, aci).stdout == first
    # the same inputs name the same bundles: the second start wrote nothing new
    assert {p.name: p.read_bytes() for p in cache.glob("*.cache")} == bundles
    override = json.dumps({"app": {"name": "changed"}})
    again = carpool("run", *NONE, "--set-env", f"TEMPLATER_OVERRIDE={override}", aci).stdout
    assert "name=changed" in again.splitlines()


def test_templater_override_and_base64(carpool: Cli, images_dir: Path) -> None:
    aci = dgr_image(images_dir, "dgr-app", TEMPLATES)
    override = json.dumps({"app": {"port": 9999}})
    proc = carpool("run", *NONE, "--set-env", f"TEMPLATER_OVERRIDE={override}", aci)
    assert "port=9999" in proc.stdout.splitlines()
    encoded = base64.b64encode(json.dumps({"app": {"name": "b64"}}).encode()).decode()
    proc = carpool("run", *NONE, aci, "--set-env", f"TEMPLATER_OVERRIDE_BASE64=base64,{encoded}")
    assert "name=b64" in proc.stdout.splitlines()


def test_missing_attribute_stops_the_pod_before_the_app(carpool: Cli, images_dir: Path) -> None:
    aci = dgr_image(
        images_dir,
        "dgr-missing",
        {"/etc/app.conf.tmpl": b"ok={{.app.name}}\nbad={{.app.nothing}}\n"},
        app={"exec": ["/bin/sh", "-c", "echo app started"]},
    )
    proc = carpool("run", *NONE, aci, check=False)
    assert proc.returncode == 254
    assert "app started" not in proc.stdout
    assert "/dgr/templates/etc/app.conf.tmpl" in proc.stderr and "line 2" in proc.stderr


def test_failing_check_command_runs_in_the_container(carpool: Cli, images_dir: Path) -> None:
    aci = dgr_image(
        images_dir,
        "dgr-check",
        {
            "/etc/app.conf.tmpl": b"port={{.app.port}}\n",
            "/etc/app.conf.tmpl.cfg": b"checkCmd: grep -q port=1 /etc/app.conf\n",
        },
        app={"exec": ["/bin/sh", "-c", "echo app started"]},
    )
    proc = carpool("run", *NONE, aci, check=False)
    assert proc.returncode == 1
    assert "app started" not in proc.stdout
    ok = carpool("run", *NONE, "--set-env", 'TEMPLATER_OVERRIDE={"app":{"port":1}}', aci)
    assert ok.stdout.splitlines()[-1] == "app started"


def test_image_with_own_prestart_handler_is_left_alone(carpool: Cli, images_dir: Path) -> None:
    aci = dgr_image(
        images_dir,
        "dgr-own",
        TEMPLATES,
        app={
            "exec": ["/bin/sh", "-c", "test -e /etc/app.conf || echo not templated"],
            "eventHandlers": [
                {"name": "pre-start", "exec": ["/bin/sh", "-c", "echo own prestart"]}
            ],
        },
    )
    assert carpool("run", *NONE, aci).stdout.splitlines() == ["own prestart", "not templated"]
