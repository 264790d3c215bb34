"""Running iptables and CNI plugins with ``posix_spawn``, not :mod:`subprocess`.

Every ``carpool run --net`` starts a few short commands (a plugin for ADD and DEL,
``iptables``/``iptables-restore`` for the masquerade rule): stdin from bytes, stdout
and stderr captured, a timeout.  :mod:`subprocess` does that at the cost of ~2.5 ms
of imports (itself, :mod:`locale`, ``_posixsubprocess``) before the first ADD can
start, and :meth:`subprocess.Popen.wait` with a timeout polls the child with sleeps
that double from 0.5 ms, so a child that closes its output a little before it exits
is noticed up to a few ms late.  Here the child is started by :func:`os.posix_spawn`
(vfork + exec, as :mod:`subprocess` does on Linux), its pipes and its exit (a pidfd)
are waited for in one :meth:`select.poll`, and the deadline is the poll's timeout.

What :mod:`subprocess` does for the child and this module keeps: SIGPIPE and SIGXFSZ
back at their default actions, only stdio inherited (Python's own descriptors are
close-on-exec; inheritable ones carpool itself inherited, or set for runc, are closed
in the child), a child killed and reaped when its deadline passes or the caller is
interrupted, input written without blocking so a child that writes a lot before it
reads cannot deadlock either side.  :mod:`carpool.childproc` holds what this shares
with ``carpool.runtime.spawn``, which starts runc.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Mapping

from carpool.childproc import RESTORED_SIGNALS, close_inherited
from carpool.errors import NetworkError

_CHUNK = 65536


class CommandTimeout(NetworkError):
    """The command did not finish in time (it was killed)."""


class Completed:
    """A finished command: its exit status (negative: killed by that signal) and output."""

    __slots__ = ("returncode", "stderr", "stdout")

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self) -> str:
        return f"Completed({self.returncode}, {self.stdout!r}, {self.stderr!r})"


def run(
    argv: list[str],
    *,
    input: bytes = b"",
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> Completed:
    """Run ``argv`` (searched on ``PATH`` unless it names a path) to completion.

    Raises :class:`OSError` when it cannot be started (as :mod:`subprocess` does)
    and :class:`CommandTimeout` when it has not exited after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        closes = close_inherited()
        start = os.posix_spawn if "/" in argv[0] else os.posix_spawnp
        pid = start(
            argv[0],
            argv,
            os.environ if env is None else env,
            file_actions=[
                *closes,
                (os.POSIX_SPAWN_DUP2, in_r, 0),
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, err_w, 2),
            ],
            setsigdef=RESTORED_SIGNALS,
        )
    except BaseException:
        for fd in (in_w, out_r, err_r):
            os.close(fd)
        raise
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    open_fds = [in_w, out_r, err_r]
    try:
        output = _communicate(in_w, out_r, err_r, input, deadline, open_fds)
        returncode = None if output is None else _wait(pid, deadline)
    except BaseException:  # interrupted: the child does not outlive the call
        _kill(pid)
        raise
    finally:
        for fd in open_fds:
            os.close(fd)
    if output is None or returncode is None:
        _kill(pid)
        raise CommandTimeout(f"{argv[0]}: no answer after {timeout:.0f}s")
    return Completed(returncode, *output)


def _communicate(
    in_w: int,
    out_r: int,
    err_r: int,
    data: bytes,
    deadline: float,
    open_fds: list[int],
) -> tuple[bytes, bytes] | None:
    """Write ``data`` to the child and read its output until both pipes are closed.

    None when the deadline passes first.
    """
    poller = select.poll()
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    for fd in chunks:
        poller.register(fd, select.POLLIN)
    view = memoryview(data)
    if data:
        os.set_blocking(in_w, False)
        poller.register(in_w, select.POLLOUT)
    else:
        _close(in_w, open_fds)
    pending = len(chunks) + (1 if data else 0)
    while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        for fd, _event in poller.poll(remaining * 1000):
            if fd == in_w:
                try:
                    view = view[os.write(in_w, view[:_CHUNK]) :]
                except BlockingIOError:
                    continue
                except BrokenPipeError:  # the child does not read (all) its input
                    view = view[:0]
                if not view:
                    poller.unregister(in_w)
                    _close(in_w, open_fds)
                    pending -= 1
                continue
            block = os.read(fd, _CHUNK)
            if block:
                chunks[fd].append(block)
            else:
                poller.unregister(fd)
                _close(fd, open_fds)
                pending -= 1
    return b"".join(chunks[out_r]), b"".join(chunks[err_r])


def _wait(pid: int, deadline: float) -> int | None:
    """The child's exit status (reaped), or None if it is still running at the deadline."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd (Linux < 5.3): poll for the exit
        pidfd = -1
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return os.waitstatus_to_exitcode(status)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if pidfd >= 0:
                poller = select.poll()
                poller.register(pidfd, select.POLLIN)
                poller.poll(remaining * 1000)
            else:
                time.sleep(min(remaining, 0.001))
    finally:
        if pidfd >= 0:
            os.close(pidfd)


def _kill(pid: int) -> None:
    """SIGKILL and reap ``pid``, a child not reaped yet."""
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _close(fd: int, open_fds: list[int]) -> None:
    open_fds.remove(fd)
    os.close(fd)
