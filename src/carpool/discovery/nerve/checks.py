"""Health checks (tcp, http, exec) and the rise/fall state machine that runs them.

Each check runs in its own thread every ``interval``; its result feeds a counter:

* go-nerve semantics (default): the state is *unknown* until ``rise`` consecutive passes
  (up) or ``fall`` consecutive failures (down) have been seen, and changes only after as
  many consecutive opposite results;
* Airbnb semantics (``first_result_decides``): the first result decides the state at once.

Deliberate differences: the ``tcp`` check completes a real connect and closes it (go-nerve's
half-open SYN probe needs raw sockets and root); the ``http`` check honours ``path``
(go-nerve ignored it for ``http``) and adds host header, status range and body substring;
an ``exec`` check that times out has its whole process group killed.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from carpool.discovery.nerve.config import CheckConfig
from carpool.log import get_logger

log = get_logger(__name__)

#: a check result: None when healthy, else why not
CheckResult = str | None


class Check(ABC):
    def __init__(self, config: CheckConfig) -> None:
        self.config = config

    @abstractmethod
    def run(self) -> CheckResult:
        """Probe once; never raises."""


class TcpCheck(Check):
    def run(self) -> CheckResult:
        cfg = self.config
        try:
            with socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout):
                return None
        except OSError as exc:
            return f"tcp {cfg.host}:{cfg.port}: {exc.strerror or exc}"


class HttpCheck(Check):
    def run(self) -> CheckResult:
        cfg = self.config
        scheme = "https" if cfg.tls else "http"
        url = f"{scheme}://{cfg.host}:{cfg.port}{cfg.path}"
        conn: http.client.HTTPConnection
        if cfg.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # as both nerves: health, not identity
            conn = http.client.HTTPSConnection(
                cfg.host, cfg.port, timeout=cfg.timeout, context=context
            )
        else:
            conn = http.client.HTTPConnection(cfg.host, cfg.port, timeout=cfg.timeout)
        try:
            headers = {"User-Agent": "carpool-nerve", **cfg.headers}
            if cfg.host_header:
                headers["Host"] = cfg.host_header
            conn.request("GET", cfg.path, headers=headers)
            response = conn.getresponse()
            body = response.read(1 << 20) if cfg.expect is not None else b""
            if response.status not in cfg.statuses:
                return f"GET {url}: status {response.status} not in {cfg.statuses.describe()}"
            if cfg.expect is not None and cfg.expect.encode() not in body:
                return f"GET {url}: body does not contain {cfg.expect!r}"
            return None
        except (OSError, http.client.HTTPException) as exc:
            return f"GET {url}: {exc}"
        finally:
            conn.close()


class ExecCheck(Check):
    def run(self) -> CheckResult:
        cfg = self.config
        command = cfg.command
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command or [])
        return run_command(argv, cfg.timeout, what="exec check")


def run_command(argv: list[str], timeout: float, what: str = "command") -> CheckResult:
    """Run ``argv``; None on exit 0, else why.  On timeout the process group is killed."""
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return f"{what} {argv[0]}: {exc.strerror or exc}"
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return f"{what} {argv[0]}: timed out after {timeout:g}s"
    if proc.returncode != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-1:] if stderr else []
        detail = f": {tail[0]}" if tail else ""
        return f"{what} {argv[0]}: exit status {proc.returncode}{detail}"
    return None


def make_check(config: CheckConfig) -> Check:
    if config.type == "tcp":
        return TcpCheck(config)
    if config.type == "http":
        return HttpCheck(config)
    if config.type == "exec":
        return ExecCheck(config)
    raise ValueError(f"unknown check type {config.type}")


class CheckRunner:
    """Runs one check periodically and tracks its stable state with rise/fall."""

    def __init__(
        self,
        check: Check,
        on_change: Callable[[CheckRunner], None],
        *,
        first_result_decides: bool = False,
    ) -> None:
        self.check = check
        self.config = check.config
        self._on_change = on_change
        self._first_result_decides = first_result_decides
        self.state: bool | None = None  # None until stable
        self.last_error: CheckResult = "not checked yet"
        self.failures_total = 0
        self._streak_ok = 0
        self._streak_ko = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"check-{self.config.name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def record(self, result: CheckResult) -> bool:
        """Feed one result; True if the stable state changed."""
        cfg = self.config
        if result is None:
            self._streak_ok += 1
            self._streak_ko = 0
        else:
            self.failures_total += 1
            self._streak_ko += 1
            self._streak_ok = 0
            if result != self.last_error:
                log.info("check %s failed: %s", cfg.name, result)
        self.last_error = result
        new = self.state
        if self.state is None and self._first_result_decides:
            new = result is None
        elif result is None and self._streak_ok >= cfg.rise:
            new = True
        elif result is not None and self._streak_ko >= cfg.fall:
            new = False
        if new != self.state:
            self.state = new
            return True
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                result = self.check.run()
            except Exception as exc:  # a check bug counts as a failure, never kills nerve
                log.debug("check %s raised", self.config.name, exc_info=True)
                result = f"{type(exc).__name__}: {exc}"
            if self._stop.is_set():
                break
            if self.record(result):
                log.info("check %s is now %s", self.config.name, "up" if self.state else "down")
                self._on_change(self)
            elapsed = time.monotonic() - started
            self._stop.wait(max(0.0, self.config.interval - elapsed))
