"""Running a pod's containers in the foreground: output, exit codes, stopping.

Each container is a ``runc run`` child in its own session (so a terminal's
Ctrl-C reaches carpool, which stops the pod, rather than every container at
once).  Its stdout and stderr come back through pipes and are copied both to
carpool's own and to the app's ``log`` file.  The first app to exit non-zero
stops the pod (SIGTERM, then SIGKILL after the stop timeout) and its status is
the pod's; SIGINT/SIGTERM/SIGHUP to carpool stop the pod the same way.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from carpool.fsutil import atomic_write_text
from carpool.log import get_logger
from carpool.oci.runc import Runc
from carpool.runtime.setup import AppPlan, Step
from carpool.runtime.spawn import Process, spawn

log = get_logger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
CARPOOL_FAILURE = 254  # rkt's status for its own failures


class Child:
    """One ``runc run`` child (a plain class: no dataclasses on ``carpool run``'s path)."""

    __slots__ = ("app", "container_id", "log", "phase", "pid_file", "proc", "status", "streams")

    def __init__(
        self,
        app: str,
        phase: str,
        container_id: str,
        proc: Process,
        log: BinaryIO,
        pid_file: Path | None = None,
    ) -> None:
        self.app = app
        self.phase = phase
        self.container_id = container_id
        self.proc = proc
        self.log = log
        self.pid_file = pid_file
        self.streams: dict[int, BinaryIO] = {}
        self.status: int | None = None


class Supervisor:
    """Starts containers, pumps their output and waits for them."""

    def __init__(
        self,
        runc: Runc,
        *,
        lock_fd: int,
        interactive: bool,
        stop_timeout: float,
        stop_marker: Callable[[], bool],
    ) -> None:
        self.runc = runc
        self.lock_fd = lock_fd
        self.interactive = interactive
        self.stop_timeout = stop_timeout
        self.stop_marker = stop_marker
        # epoll itself rather than selectors.DefaultSelector: that module's import costs
        # ~1.4 ms of carpool run's start-up, for the three calls used here
        self.epoll = select.epoll()
        self.pipes: dict[int, Child] = {}  # read ends of the children's stdout/stderr
        self.children: list[Child] = []
        self.stopping = False
        self.kill_at: float | None = None
        self.signalled: int | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.epoll.register(self._wake_r, select.EPOLLIN)
        self._old_handlers: dict[int, object] = {}
        self._old_wakeup = -1

    # -- signals ---------------------------------------------------------
    def __enter__(self) -> Supervisor:
        self._old_wakeup = signal.set_wakeup_fd(self._wake_w)
        for sig in (*STOP_SIGNALS, signal.SIGCHLD):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        signal.set_wakeup_fd(self._old_wakeup)
        self.epoll.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum != signal.SIGCHLD and self.signalled is None:
            self.signalled = signum

    # -- children --------------------------------------------------------
    def start(self, app: str, phase: str, container_id: str, bundle: Path, log_path: Path) -> Child:
        log_file = open(log_path, "ab")  # noqa: SIM115 - closed when the child is reaped
        pid_file = bundle / "pid"
        pid_file.unlink(missing_ok=True)
        argv = self.runc.run_argv(container_id, bundle, pid_file=pid_file)
        piped = not (self.interactive and phase == "main")
        try:
            proc = spawn(argv, pass_fd=self.lock_fd, piped=piped)
        except BaseException:
            log_file.close()
            raise
        child = Child(app, phase, container_id, proc, log_file, pid_file)
        if proc.stdout is not None and proc.stderr is not None:
            for fd, target in ((proc.stdout, sys.stdout.buffer), (proc.stderr, sys.stderr.buffer)):
                os.set_blocking(fd, False)
                child.streams[fd] = target
                self.epoll.register(fd, select.EPOLLIN)
                self.pipes[fd] = child
        self.children.append(child)
        return child

    def _pump(self, fd: int, child: Child) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not data:
            self.epoll.unregister(fd)
            del self.pipes[fd]
            child.streams.pop(fd)
            os.close(fd)
            return
        target = child.streams[fd]
        with contextlib.suppress(OSError):
            target.write(data)
            target.flush()
        child.log.write(data)
        child.log.flush()

    def _reap(self) -> list[Child]:
        done = []
        for child in self.children:
            if child.status is not None:
                continue
            if child.streams:
                continue
            code = child.proc.poll()
            if code is None:
                continue
            child.status = code if code >= 0 else 128 - code
            if code != 0 and child.pid_file is not None and not child.pid_file.exists():
                log.error("app %s: runc could not start its %s container", child.app, child.phase)
                child.status = CARPOOL_FAILURE
            child.log.close()  # the pipes were closed by _pump at their end
            done.append(child)
        return done

    def running(self) -> list[Child]:
        return [c for c in self.children if c.status is None]

    def wait_any(self) -> list[Child]:
        """Block until at least one child has finished (or a stop is due); return finished ones."""
        while True:
            done = self._reap()
            if done:
                return done
            if self.signalled is not None or self.stop_marker():
                self.stop()
            if self.kill_at is not None and time.monotonic() >= self.kill_at:
                self.kill()
            if not self.running():
                return []
            timeout = 0.5
            if self.kill_at is not None:
                timeout = max(0.0, min(timeout, self.kill_at - time.monotonic()))
            for fd, _events in self.epoll.poll(timeout):  # EPOLLIN, or EPOLLHUP at the end
                if fd == self._wake_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
                elif fd in self.pipes:
                    self._pump(fd, self.pipes[fd])

    def run_to_end(self, child: Child) -> int:
        while child.status is None:
            self.wait_any()
        return child.status

    def stop(self) -> None:
        """SIGTERM every running container (once), SIGKILL after the timeout."""
        if self.stopping:
            return
        self.stopping = True
        self.kill_at = time.monotonic() + self.stop_timeout
        for child in self.running():
            # runc run forwards the signal to the container's init
            with contextlib.suppress(ProcessLookupError):
                child.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.kill_at = None
        for child in self.running():
            self.runc.kill(child.container_id, "KILL", all_processes=True)


def run_plans(
    sup: Supervisor,
    plans: list[AppPlan],
    render_templates: Callable[[AppPlan], list[list[str]]],
) -> int:
    """Run every app (pre-start steps, the app, post-stop); the pod's exit status."""
    status = 0

    def run_step(plan: AppPlan, step: Step) -> int:
        assert step.bundle is not None
        child = sup.start(
            plan.name, step.phase, step.container_id, step.bundle, plan.app_dir / "log"
        )
        return sup.run_to_end(child)

    started: list[AppPlan] = []
    for plan in plans:
        for step in plan.before:
            if sup.stopping or sup.signalled is not None or sup.stop_marker():
                break
            if step.kind == "templates":
                for number, args in enumerate(render_templates(plan)):
                    suffix = f"check.{number}"
                    bundle = plan.helper_bundle(suffix, args)
                    check = Step("container", "check", f"{plan.container_id}.{suffix}", bundle)
                    code = run_step(plan, check)
                    if code != 0:
                        log.error("app %s: template check %r failed", plan.name, args[-1])
                        status = status or code
                        break
                if status:
                    atomic_write_text(plan.app_dir / "exit", f"{status}\n", durable=False)
                    break
                continue
            code = run_step(plan, step)
            if code != 0:
                log.error("app %s: %s exited with status %d", plan.name, step.phase, code)
                atomic_write_text(plan.app_dir / "exit", f"{code}\n", durable=False)
                status = status or code
                break
        if status or sup.stopping or sup.signalled is not None or sup.stop_marker():
            break
        started.append(plan)

    mains: dict[int, AppPlan] = {}
    if not status and not sup.stopping and sup.signalled is None and not sup.stop_marker():
        for plan in started:
            child = sup.start(
                plan.name, "main", plan.container_id, plan.bundle, plan.app_dir / "log"
            )
            mains[id(child)] = plan
        while sup.running():
            for child in sup.wait_any():
                plan = mains[id(child)]
                assert child.status is not None
                atomic_write_text(plan.app_dir / "exit", f"{child.status}\n", durable=False)
                if child.status != 0 and not sup.stopping:
                    status = child.status
                    sup.stop()
    for plan in started:
        for step in plan.after:
            code = run_step(plan, step)
            if code != 0:
                log.warning("app %s: post-stop exited with status %d", plan.name, code)
    if sup.signalled is not None:
        return 128 + sup.signalled
    if not status:
        codes = [c.status for c in sup.children if c.phase == "main" and c.status]
        status = codes[0] if codes else 0
    return status
