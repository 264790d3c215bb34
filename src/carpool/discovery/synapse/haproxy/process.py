"""Running HAProxy: validated config installs, master-worker start, hitless reloads, stop.

Without a ``reloadCommand`` synapse starts ``haproxy -W -S <master socket> -f <config>``
itself and reloads through the master CLI: the master re-executes itself and hands the
listening sockets to the new worker, so no connection is refused during a reload; the old
worker finishes its connections.  With a ``reloadCommand`` (go-synapse, Airbnb's
``reload_command``), that command is run instead, with ``HAP_CONFIG`` in its environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from carpool.discovery.synapse.haproxy.runtime import (
    HaproxySocketError,
    MasterSocket,
    ProcInfo,
    StatsSocket,
)
from carpool.errors import DiscoveryError
from carpool.fsutil import atomic_write_text
from carpool.log import get_logger

log = get_logger(__name__)


class HaproxyError(DiscoveryError):
    """HAProxy refused a configuration, did not start, or did not reload."""


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


class HaproxyProcess:
    """One HAProxy, run by us (master-worker) or by the user's reload command."""

    def __init__(
        self,
        *,
        binary: str,
        config_path: Path,
        master_socket: Path,
        stats_socket: Path | None,
        reload_command: list[str] | None = None,
        reload_timeout: float = 10.0,
        cleanup_command: list[str] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.binary = binary
        self.config_path = config_path
        self.master_socket = MasterSocket(master_socket)
        self.stats = StatsSocket(stats_socket) if stats_socket else None
        self.reload_command = reload_command
        self.reload_timeout = reload_timeout
        self.cleanup_command = cleanup_command
        self.log_path = log_path
        self.pid_file = config_path.with_name(config_path.name + ".pid")
        self._proc: subprocess.Popen[bytes] | None = None
        #: the master of an HAProxy left running by a synapse that died, taken over
        self._adopted: int | None = None
        self.reloads = 0
        self.last_reload = 0.0

    # ------------------------------------------------------------------ config

    def install(self, text: str) -> bool:
        """Validate ``text`` with ``haproxy -c`` and install it atomically.

        Returns False when the file on disk already has this content.
        """
        try:
            if self.config_path.read_text() == text:
                return False
        except OSError:
            pass
        candidate = self.config_path.with_name(self.config_path.name + ".candidate")
        atomic_write_text(candidate, text, parents=True)
        check = subprocess.run(
            [self.binary, "-c", "-f", str(candidate)],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            output = check.stderr + check.stdout
            # the first alert names the line and keyword; the others only repeat "errors"
            alerts = [
                line.split("] :", 1)[-1].strip() for line in output.splitlines() if "ALERT" in line
            ]
            detail = alerts[0] if alerts else " ".join(output.split())
            candidate.unlink(missing_ok=True)
            raise HaproxyError(f"haproxy rejected the configuration: {detail[:500]}")
        os.replace(candidate, self.config_path)
        return True

    # ------------------------------------------------------------------ lifecycle

    @property
    def managed(self) -> bool:
        return self.reload_command is None

    def running(self) -> bool:
        if not self.managed:
            return True
        if self._adopted is not None:
            return _pid_alive(self._adopted)
        return self._proc is not None and self._proc.poll() is None

    @property
    def master_pid(self) -> int | None:
        if self._adopted is not None:
            return self._adopted
        return self._proc.pid if self._proc is not None else None

    def adopt(self) -> bool:
        """Take over an HAProxy whose master still answers on our master socket.

        A synapse killed without its cleanup leaves HAProxy serving (which is what clients
        want); the next synapse reloads that one instead of failing to bind a second.
        """
        try:
            info = self.master_socket.show_proc()
        except HaproxySocketError:
            return False
        if not info.master_pid or not info.workers or not _pid_alive(info.master_pid):
            return False
        self._adopted = info.master_pid
        log.info("haproxy: taking over the running master %s", info.master_pid)
        return True

    def proc_info(self) -> ProcInfo | None:
        if not self.managed or not self.running():
            return None
        try:
            return self.master_socket.show_proc()
        except HaproxySocketError:
            return None

    def start(self) -> None:
        """Start the master (which forks a worker) and wait until the worker answers."""
        assert self.managed
        self.master_socket.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.master_socket.path.unlink()
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                [
                    self.binary,
                    "-W",
                    "-S",
                    f"{self.master_socket.path},mode,600",
                    "-f",
                    str(self.config_path),
                    "-p",
                    str(self.pid_file),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        finally:
            if not isinstance(out, int):
                out.close()
        deadline = time.monotonic() + self.reload_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise HaproxyError(
                    f"haproxy exited with status {self._proc.returncode} at start"
                    + (f" (see {self.log_path})" if self.log_path else "")
                )
            info = self.proc_info()
            if info and info.workers and (self.stats is None or self.stats.alive()):
                log.info("haproxy started: master %s, worker %s", info.master_pid, info.workers)
                self.last_reload = time.monotonic()
                return
            time.sleep(0.02)
        self.stop()
        raise HaproxyError(f"haproxy did not start within {self.reload_timeout:.0f}s")

    def reload(self) -> None:
        """Hitless reload: the master CLI's ``reload`` or the user's reload command."""
        if not self.managed:
            self._run_reload_command()
        elif not self.running() and not self.adopt():
            self.start()
            return
        else:
            self._reload_master()
        self.reloads += 1
        self.last_reload = time.monotonic()
        if self.cleanup_command:
            with contextlib.suppress(OSError):
                subprocess.Popen(self.cleanup_command, start_new_session=True)

    def _reload_master(self) -> None:
        before = self.master_socket.show_proc()
        self.master_socket.reload()
        deadline = time.monotonic() + self.reload_timeout
        while time.monotonic() < deadline:
            try:
                info = self.master_socket.show_proc()
            except HaproxySocketError:
                time.sleep(0.02)
                continue
            if info.failed_reloads > before.failed_reloads:
                raise HaproxyError("haproxy reload failed (the master kept the old worker)")
            new_workers = set(info.workers) - set(before.workers)
            if info.reloads > before.reloads and new_workers:
                pid = max(new_workers)
                if self.stats is None or self._stats_pid() == pid:
                    log.info("haproxy reloaded: worker %s", pid)
                    return
            time.sleep(0.02)
        raise HaproxyError(f"haproxy did not reload within {self.reload_timeout:.0f}s")

    def _stats_pid(self) -> int | None:
        assert self.stats is not None
        try:
            pid = self.stats.info().get("Pid", "")
        except HaproxySocketError:
            return None
        return int(pid) if pid.isdigit() else None

    def _run_reload_command(self) -> None:
        assert self.reload_command is not None
        env = {**os.environ, "HAP_CONFIG": str(self.config_path)}
        try:
            result = subprocess.run(
                self.reload_command,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.reload_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise HaproxyError(
                f"reloadCommand did not finish within {self.reload_timeout:.1f}s"
            ) from None
        except OSError as exc:
            raise HaproxyError(f"reloadCommand: cannot run: {exc.strerror}") from None
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
            raise HaproxyError(f"reloadCommand exited {result.returncode}: {detail[0]}")
        if self.stats is not None:
            deadline = time.monotonic() + self.reload_timeout
            while time.monotonic() < deadline and not self.stats.alive():
                time.sleep(0.05)

    def stop(self, grace: float = 5.0) -> None:
        """Soft-stop the master (SIGUSR1: workers finish their connections), then kill."""
        if self._adopted is not None:
            pid, self._adopted = self._adopted, None
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)
            deadline = time.monotonic() + grace
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(FileNotFoundError):
                self.master_socket.path.unlink()
            return
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGUSR1)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        # workers are in the master's session: none may outlive it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        self._proc = None
        with contextlib.suppress(FileNotFoundError):
            self.master_socket.path.unlink()
