"""Starting the ``runc run`` children of a pod with ``posix_spawn``, not :mod:`subprocess`.

:mod:`subprocess` imports :mod:`threading`, :mod:`locale` and its own machinery, ~3 ms
of ``carpool run``'s start-up on a slow host, for what the supervisor needs from it: start
a child (stdin ``/dev/null``, stdout and stderr to pipes, in a new session, inheriting
the pod lock) and reap it.  :func:`os.posix_spawnp` does the same in one call (vfork +
exec, like :mod:`subprocess` on Linux), and waiting is :func:`os.waitpid`.

As :class:`subprocess.Popen` does by default, the child gets the signals Python ignores
(SIGPIPE, SIGXFSZ) back at their default actions, and inherits only stdio and the
descriptor passed explicitly: the descriptors Python opens are close-on-exec, and the
inheritable ones carpool itself inherited (a shell's, a service manager's) are closed
in the child.
"""

from __future__ import annotations

import os

from carpool.childproc import RESTORED_SIGNALS, close_inherited


class Process:
    """A spawned child: its pid, the parent's ends of its pipes, and its exit status."""

    __slots__ = ("pid", "returncode", "stderr", "stdout")

    def __init__(self, pid: int, stdout: int | None, stderr: int | None) -> None:
        self.pid = pid
        self.stdout = stdout  # read ends, or None when the child shares our stdio
        self.stderr = stderr
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit status once the child has exited (negative: killed by that signal)."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: nothing more to learn
                self.returncode = 255
                return self.returncode
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)


def spawn(argv: list[str], *, pass_fd: int, piped: bool) -> Process:
    """Start ``argv`` (searched on ``PATH`` like :mod:`subprocess`) inheriting ``pass_fd``.

    ``piped``: stdin from ``/dev/null``, stdout and stderr to new pipes, and a session
    of its own (so that a terminal's Ctrl-C reaches carpool, not the child).  Otherwise
    the child shares carpool's terminal and session (``--interactive``).
    """
    os.set_inheritable(pass_fd, True)
    closes = close_inherited(keep=pass_fd)
    if not piped:
        pid = os.posix_spawnp(
            argv[0], argv, os.environ, file_actions=closes, setsigdef=RESTORED_SIGNALS
        )
        return Process(pid, None, None)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        pid = os.posix_spawnp(
            argv[0],
            argv,
            os.environ,
            file_actions=[
                *closes,
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, err_w, 2),
            ],
            setsid=True,
            setsigdef=RESTORED_SIGNALS,
        )
    except BaseException:
        os.close(out_r)
        os.close(err_r)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)
    return Process(pid, out_r, err_r)
