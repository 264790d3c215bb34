"""What every router shares: a debounced update queue and a worker thread.

Watchers call :meth:`Router.update` with a service's full routable set whenever it
changes.  Updates are coalesced per service in a trailing window
(``eventsBufferDurationInMilli``, go-synapse's 500 ms by default) bounded to four windows,
so a burst (a deploy, a weight ramp) turns into one application while a steady trickle
still gets through.  :meth:`Router.apply` then runs in the router's own thread, never in
a watcher's, and :meth:`Router.tick` runs there periodically for timed work (drains).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from typing import Any

from carpool.discovery.payload import Backend
from carpool.discovery.synapse.config import RouterConfig
from carpool.errors import CarpoolError
from carpool.log import DEBUG, get_logger

log = get_logger(__name__)


def show_traceback(exc: BaseException) -> bool:
    """Whether a failure a router survives deserves its traceback in the log.

    Expected failures (carpool's own errors, I/O) read well as one line; anything else is
    a bug that the retry would otherwise hide.
    """
    return not isinstance(exc, (CarpoolError, OSError)) or log.isEnabledFor(DEBUG)


TICK_INTERVAL = 0.25


class Router(ABC):
    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self.services = {s.name: s for s in config.services}
        self._cond = threading.Condition()
        self._pending: dict[str, list[Backend]] = {}
        self._first_event = 0.0
        self._last_event = 0.0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.current: dict[str, list[Backend]] = {}
        self.errors = 0
        self.last_error = ""
        self.updates = 0

    @property
    def name(self) -> str:
        return self.config.type

    def start(self, initial: dict[str, list[Backend]]) -> None:
        """Apply the initial view (maybe from the state file) and start the worker."""
        self.current = {name: list(initial.get(name, [])) for name in self.services}
        self._apply_safely(dict(self.current), initial=True)
        self._thread = threading.Thread(target=self._run, name=f"router-{self.name}", daemon=True)
        self._thread.start()

    def update(self, service: str, backends: list[Backend]) -> None:
        if service not in self.services:
            return
        now = time.monotonic()
        with self._cond:
            if not self._pending:
                self._first_event = now
            self._pending[service] = list(backends)
            self._last_event = now
            self._cond.notify()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until no update is pending (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if not self._pending and not self._busy:
                    return True
            time.sleep(0.02)
        return False

    _busy = False

    def _run(self) -> None:
        window = self.config.events_buffer
        next_tick = time.monotonic() + TICK_INTERVAL
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    now = time.monotonic()
                    due = None
                    if self._pending:
                        due = min(self._last_event + window, self._first_event + 4 * window)
                        if now >= due:
                            break
                    if now >= next_tick:
                        break
                    wake = min(due, next_tick) if due is not None else next_tick
                    self._cond.wait(max(0.0, wake - now))
                batch = {}
                if self._pending and time.monotonic() >= (
                    min(self._last_event + window, self._first_event + 4 * window)
                ):
                    batch, self._pending = self._pending, {}
                self._busy = True
            try:
                if batch:
                    self.current.update(batch)
                    self._apply_safely(batch, initial=False)
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_INTERVAL
                    self.tick()
            except Exception:
                log.exception("router %s: tick failed", self.name)
            finally:
                with self._cond:
                    self._busy = False

    def _apply_safely(self, batch: dict[str, list[Backend]], *, initial: bool) -> None:
        try:
            self.apply(batch, initial=initial)
            self.updates += 1
        except Exception as exc:  # a failed apply is retried on the next change/tick
            self.errors += 1
            self.last_error = str(exc)
            if initial:
                raise
            log.error("router %s: %s", self.name, exc, exc_info=show_traceback(exc))
            self.on_apply_failed(batch)

    def on_apply_failed(self, batch: dict[str, list[Backend]]) -> None:
        """Called after a failed apply; routers retry from :meth:`tick` if they can."""
        return None

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self.close()

    @abstractmethod
    def apply(self, batch: dict[str, list[Backend]], *, initial: bool) -> None:
        """Make the routing match ``self.current`` (``batch`` says which services changed)."""

    def tick(self) -> None:
        """Periodic work in the router thread."""
        return None

    def close(self) -> None:
        """Release what the router holds (processes, files)."""
        return None

    def view(self) -> dict[str, Any]:
        """The router's part of the HTTP API's view."""
        return {"type": self.name, "updates": self.updates, "errors": self.errors}
