"""What a child started with ``posix_spawn`` must get as :mod:`subprocess` would give it.

carpool starts its children (runc, iptables, CNI plugins) with :func:`os.posix_spawn`
rather than :mod:`subprocess`, whose imports cost a few ms of every ``carpool run``.
Both spawners (:mod:`carpool.runtime.spawn`, :mod:`carpool.network.commands`) give the
child what ``Popen`` does by default: the signals Python ignores back at their default
actions, and only stdio plus what is passed explicitly inherited.
"""

from __future__ import annotations

import os
import signal

RESTORED_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
"""What Python sets to SIG_IGN at start-up; exec keeps ignored signals ignored."""


def close_inherited(keep: int | None = None) -> list[tuple[int, int]]:
    """``posix_spawn`` file actions closing our inheritable descriptors above stdio.

    Python opens its own descriptors close-on-exec; these are the ones carpool itself
    inherited (from a shell or a service manager) or made inheritable, except ``keep``.
    """
    closes = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd <= 2 or fd == keep:
            continue
        try:
            if os.get_inheritable(fd):
                closes.append((os.POSIX_SPAWN_CLOSE, fd))
        except OSError:  # listdir's own descriptor, closed by now
            continue
    return closes
