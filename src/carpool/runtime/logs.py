"""Apps' kept output (``<pod>/apps/<app>/log``), for ``carpool logs``."""

from __future__ import annotations

import sys
import time
from typing import BinaryIO

from carpool.runtime.pods import Pod, PodStore, is_locked


def _emit(data: bytes, prefix: bytes, pending: dict[str, bytes], name: str) -> None:
    out = sys.stdout.buffer
    if not prefix:
        out.write(data)
        return
    buffered = pending.get(name, b"") + data
    *lines, rest = buffered.split(b"\n")
    for line in lines:
        out.write(prefix + line + b"\n")
    pending[name] = rest


def print_logs(pod: Pod, names: list[str], *, follow: bool, poll: float = 0.2) -> None:
    """Print the logs of ``names``; with several apps, lines get an ``app: `` prefix."""
    files: dict[str, BinaryIO] = {}
    pending: dict[str, bytes] = {}
    prefixed = len(names) > 1
    try:
        while True:
            for name in names:
                if name not in files:
                    try:
                        files[name] = open(pod.app_dir(name) / "log", "rb")  # noqa: SIM115
                    except FileNotFoundError:
                        continue
                data = files[name].read()
                if data:
                    _emit(data, f"{name}: ".encode() if prefixed else b"", pending, name)
            sys.stdout.buffer.flush()
            if not follow:
                break
            current = PodStore(pod.path.parent.parent.parent).refind(pod)
            if current is None or current.state_dir != "run" or not is_locked(current.path):
                follow = False  # one last read after the pod ended
                continue
            pod = current
            time.sleep(poll)
        for name, rest in pending.items():
            if rest:
                sys.stdout.buffer.write(f"{name}: ".encode() + rest + b"\n")
        sys.stdout.buffer.flush()
    finally:
        for f in files.values():
            f.close()
