"""carpool.network.commands: what subprocess.run did for iptables and plugins, by posix_spawn."""

from __future__ import annotations

import os
import signal
import time

import pytest

from carpool.network.commands import CommandTimeout, run


def test_output_status_and_input() -> None:
    proc = run(["sh", "-c", "cat; echo err >&2; exit 3"], input=b"in\n")
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, b"in\n", b"err\n")
    assert run(["true"]).returncode == 0  # found on PATH, no input


def test_large_input_and_output_do_not_deadlock() -> None:
    data = os.urandom(3 * 1024 * 1024)  # far beyond a pipe's buffer, both ways at once
    proc = run(["/bin/cat"], input=data)
    assert proc.returncode == 0 and proc.stdout == data
    noisy = run(["sh", "-c", "head -c 1000000 /dev/zero >&2; cat"], input=b"x" * 200000)
    assert len(noisy.stderr) == 1000000 and len(noisy.stdout) == 200000


def test_a_child_that_does_not_read_its_input() -> None:
    assert run(["true"], input=b"x" * (4 * 1024 * 1024)).returncode == 0


def test_environment_signals_and_descriptors() -> None:
    assert run(["/usr/bin/env"], env={"ONLY": "this"}).stdout == b"ONLY=this\n"
    # SIGPIPE is back at its default action (Python ignores it)
    status = run(["grep", "^SigIgn", "/proc/self/status"]).stdout.split()[1]
    assert not int(status, 16) & (1 << (signal.SIGPIPE - 1))
    # an inheritable descriptor of carpool's (runc's pod lock) does not reach the child
    fd = os.open("/dev/null", os.O_RDONLY)
    try:
        os.set_inheritable(fd, True)
        listing = run(["ls", "/proc/self/fd"]).stdout.split()
    finally:
        os.close(fd)
    assert sorted(int(n) for n in listing) == [0, 1, 2, 3]  # stdio and ls's own listing


def test_killed_child_and_missing_binary() -> None:
    assert run(["sh", "-c", "kill -9 $$"]).returncode == -signal.SIGKILL
    with pytest.raises(FileNotFoundError):
        run(["/nonexistent/plugin"])
    with pytest.raises(FileNotFoundError):
        run(["carpool-no-such-command"])


@pytest.mark.parametrize(
    "script",
    [
        "sleep 30",  # output still open
        "exec >&- 2>&-; sleep 30",  # output closed, but no exit
    ],
)
def test_timeout_kills_the_child(script: str) -> None:
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match="no answer after"):
        run(["sh", "-c", script], timeout=0.3)
    assert time.monotonic() - started < 5
    assert _children() == []  # killed and reaped: not even a zombie is left


def _children() -> list[str]:
    """``pid comm state`` of this process's children."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm_end = stat.rindex(")")
        state, ppid = stat[comm_end + 2 :].split()[:2]
        if int(ppid) == os.getpid():
            found.append(f"{entry} {stat[stat.index('(') : comm_end + 1]} {state}")
    return found
