"""The embedded registry across real processes: registration, watch, crash cleanup."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import textwrap
from pathlib import Path

from carpool.discovery.registry import RegistrySpec, WatchEvent, open_registry
from carpool.discovery.registry.embedded import EmbeddedRegistry
from tests.discovery.conftest import wait_for

REGISTRANT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from carpool.discovery.registry.embedded import EmbeddedRegistry
    reg = EmbeddedRegistry(Path(sys.argv[1]))
    r = reg.register("/services/web", sys.argv[2], sys.argv[3].encode())
    print(r.node_name, flush=True)
    sys.stdin.read()  # until the test closes stdin (or kills us)
    reg.close()
    """
)


def start_registrant(root: Path, hint: str, payload: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", REGISTRANT, str(root), hint, payload],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_two_processes_register_and_a_crashed_one_disappears(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    watcher = open_registry(RegistrySpec("embedded", data_dir=root, poll_interval=0.05))
    events: queue.Queue[WatchEvent] = queue.Queue()
    seen: list[dict[str, bytes]] = []

    def on_event(event: WatchEvent) -> None:
        assert event.reachable
        seen.append(dict(event.nodes))
        events.put(event)

    watcher.watch("/services/web", on_event)
    a, name_a = start_registrant(root, "a_", '{"host":"127.0.0.1","port":1,"name":"a"}')
    b, name_b = start_registrant(root, "b_", '{"host":"127.0.0.1","port":2,"name":"b"}')
    try:
        assert name_a == "a_0000000000" and name_b == "b_0000000001"
        wait_for(lambda: seen and set(seen[-1]) == {name_a, name_b})
        a.kill()  # a crash: no cleanup code runs
        a.wait()
        wait_for(lambda: set(seen[-1]) == {name_b}, timeout=5)
        # the crashed session's files were collected
        wait_for(lambda: not (root / "tree/services/web" / name_a).exists())
        assert len(list((root / "sessions").glob("*.lock"))) == 1
        assert b.stdin is not None
        b.stdin.close()  # clean exit: deregisters
        b.wait(10)
        wait_for(lambda: seen[-1] == {}, timeout=5)
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        watcher.close()


def test_update_and_remove_in_process(tmp_path: Path) -> None:
    registry = EmbeddedRegistry(tmp_path / "r", poll_interval=0.05)
    try:
        seen: list[dict[str, bytes]] = []
        registry.watch("/s", lambda e: seen.append(dict(e.nodes)))
        r = registry.register("/s", "x_", b"one")
        wait_for(lambda: seen and seen[-1] == {"x_0000000000": b"one"})
        r.update(b"two")
        wait_for(lambda: seen[-1] == {"x_0000000000": b"two"})
        # someone deletes the node behind our back: it comes back
        os.unlink(tmp_path / "r/tree/s/x_0000000000")
        wait_for(lambda: seen[-1] == {"x_0000000000": b"two"} and len(seen) >= 4, timeout=5)
        r.remove()
        wait_for(lambda: seen[-1] == {})
    finally:
        registry.close()
    assert list((tmp_path / "r/sessions").iterdir()) == []
