"""The Debian base (debootstrap) and examples/aci-redis on it: slow, needs the mirror."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.builder.conftest import copy_example, free_port, stop_background_run
from tests.conftest import CARPOOL, Cli

pytestmark = [pytest.mark.host, pytest.mark.slow]


def redis_command(port: int, *words: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(f"*{len(words)}\r\n".encode() + b"".join(
            b"$%d\r\n%s\r\n" % (len(w), w.encode()) for w in words))  # fmt: skip
        time.sleep(0.2)
        return conn.recv(4096)


def test_debian_bootstrap_and_redis_example(cli: Cli, tmp_path: Path) -> None:
    # debootstrap's package cache may be shared between runs to spare the mirror
    cache = os.environ.get("CARPOOL_TEST_DEBOOTSTRAP_CACHE")
    if cache:
        (cli.data_dir / "builder").mkdir(exist_ok=True)
        link = cli.data_dir / "builder/debootstrap-cache"
        if not link.exists():
            link.symlink_to(cache)
    first = cli("bootstrap", "debian", "--suite", "bookworm", timeout=1800).stdout.strip()
    again = cli("bootstrap", "debian")
    assert again.stdout.strip() == first and "already in the store" in again.stderr
    manifest = json.loads(cli("image", "cat-manifest", first).stdout)
    assert manifest["name"] == "carpool.dev/debian"

    project = copy_example("aci-redis", tmp_path)
    cli("install", "-W", project, timeout=1200)
    built = json.loads((project / "target/manifest.json").read_text())
    assert built["dependencies"][0]["imageID"] == first
    assert built["app"]["user"] == "redis"

    port = free_port()
    override = json.dumps({"redis": {"port": port, "maxmemory": "100mb", "databases": 4}})
    uuid_file = tmp_path / "uuid"
    log_path = tmp_path / "redis.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [*CARPOOL, "run", "--net", "host", "--uuid-file-save", str(uuid_file),
             "--set-env", f"TEMPLATER_OVERRIDE={override}", "examples.carpool.dev/aci-redis:7.0-1"],
            env=cli.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    assert redis_command(port, "PING").startswith(b"+PONG")
                    break
                except OSError:
                    assert proc.poll() is None, log_path.read_text()
                    assert time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.2)
            assert b"104857600" in redis_command(port, "CONFIG", "GET", "maxmemory")
            assert b"\r\n4\r\n" in redis_command(port, "CONFIG", "GET", "databases")
        finally:
            stop_background_run(cli, proc, uuid_file, wait=30)
    # the image's own bats tests (bash and /dev/tcp from Debian)
    out = cli("test", "-W", project, timeout=600)
    assert "ok 1 redis answers PING" in out.stdout
