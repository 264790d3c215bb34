"""The HAProxy router: slot plans, runtime-API updates, reloads only for shape changes.

Each service's backend has ``slots`` pre-allocated servers (see
:mod:`~carpool.discovery.synapse.haproxy.render`).  On an update:

1. instances still registered keep their slot (weight and address changes are runtime
   ``set server`` commands);
2. an instance that left goes to ``drain`` (no new connections, health checks go on) and
   its slot is freed (``maint``) once its sessions reach zero or ``drainTimeoutInMilli``
   passed (Airbnb synapse went straight to MAINT, go-synapse never freed the server);
3. a new instance takes a free slot whose rendered server options equal its own:
   ``set server … addr … port …``, ``weight``, ``state ready``;
4. only when no such slot exists (slots exhausted, per-instance options, a new service)
   is the config re-rendered, with room to grow (slots double), and HAProxy reloaded
   hitlessly; after any reload the runtime state is re-synced from ``show servers state``.

The runtime state is always compared with what HAProxy reports, not with what we last
sent, so a lost command or a reload restoring an older server-state file heals itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carpool.discovery.payload import Backend
from carpool.discovery.synapse.config import RouterConfig, ServiceConfig
from carpool.discovery.synapse.haproxy.process import HaproxyProcess
from carpool.discovery.synapse.haproxy.render import (
    BackendPlan,
    SlotLine,
    backend_weight,
    ensure_defaults,
    ensure_global,
    render_config,
    server_options,
    slot_name,
)
from carpool.discovery.synapse.haproxy.runtime import HaproxySocketError, ServerState
from carpool.discovery.synapse.router import Router, show_traceback
from carpool.errors import DiscoveryError
from carpool.fsutil import atomic_write_text
from carpool.log import get_logger

log = get_logger(__name__)

Key = tuple[str, int, str]


def backend_key(backend: Backend) -> Key:
    return (backend.host, backend.port, backend.name)


@dataclass
class Slot:
    backend: Backend
    options: str
    draining_since: float | None = None


class SlotTable:
    """The slots of one service: which instance each holds and how it was rendered."""

    def __init__(self, service: ServiceConfig) -> None:
        self.service = service
        self.capacity = service.slots
        self.slots: dict[int, Slot] = {}
        #: options of each slot in the *running* config (empty until first rendered)
        self.rendered: dict[int, str] = {}

    def free_slot(self, options: str) -> int | None:
        for number in range(1, self.capacity + 1):
            if number not in self.slots and self.rendered.get(number) == options:
                return number
        return None

    def plan(self, wanted: list[Backend], now: float) -> bool:
        """Place ``wanted``; True if the running config cannot hold the result."""
        service = self.service
        by_key = {backend_key(b): b for b in wanted}
        needs_reload = False
        for slot in self.slots.values():
            key = backend_key(slot.backend)
            if key in by_key:
                slot.backend = by_key[key]
                slot.draining_since = None
                if server_options(service.server_options, slot.backend) != slot.options:
                    needs_reload = True  # options can only change through the config
            elif slot.draining_since is None:
                slot.draining_since = now
        placed = {backend_key(s.backend) for s in self.slots.values()}
        for backend in wanted:
            if backend_key(backend) in placed:
                continue
            options = server_options(service.server_options, backend)
            number = self.free_slot(options)
            if number is None:
                needs_reload = True
                number = self._any_free_number()
            self.slots[number] = Slot(backend=backend, options=options)
        return needs_reload

    def _any_free_number(self) -> int:
        number = 1
        while number in self.slots:
            number += 1
        return number

    def prepare_render(self) -> None:
        """Before a reload: drop drained slots, make room, re-render options."""
        for number in [n for n, s in self.slots.items() if s.draining_since is not None]:
            del self.slots[number]
        for slot in self.slots.values():
            slot.options = server_options(self.service.server_options, slot.backend)
        highest = max(self.slots, default=0)
        while self.capacity < max(highest, len(self.slots)) + 1:
            self.capacity *= 2
        self.capacity = max(self.capacity, self.service.slots)

    def lines(self) -> list[SlotLine]:
        base = server_options(self.service.server_options, None)
        return [
            SlotLine(number=n, options=self.slots[n].options, backend=self.slots[n].backend)
            if n in self.slots
            else SlotLine(number=n, options=base)
            for n in range(1, self.capacity + 1)
        ]

    def mark_rendered(self) -> None:
        self.rendered = {line.number: line.options for line in self.lines()}


class HaproxyRouter(Router):
    def __init__(self, config: RouterConfig, state_dir: Path) -> None:
        super().__init__(config)
        options = config.haproxy
        if options is None:
            raise DiscoveryError("haproxy router: missing options")
        self.options = options
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        self.server_state_file = state_dir / "haproxy-servers.state"
        self.tables = {s.name: SlotTable(s) for s in config.services}
        self.declared: set[str] = set()
        socket_default = options.socket_path or state_dir / "haproxy-stats.sock"
        managed = options.reload_command is None
        self.global_lines, stats_socket = ensure_global(
            options.global_lines, socket_default, self.server_state_file if managed else None
        )
        self.defaults_lines = ensure_defaults(options.defaults_lines, managed)
        self.has_socket = options.reload_command is None or any(
            line.split()[:2] == ["stats", "socket"] for line in options.global_lines
        )
        self.process = HaproxyProcess(
            binary=options.haproxy_path,
            config_path=options.config_path,
            master_socket=options.master_socket_path or state_dir / "haproxy-master.sock",
            stats_socket=stats_socket if self.has_socket else None,
            reload_command=options.reload_command,
            reload_timeout=max(options.reload_timeout, 5.0),
            cleanup_command=options.cleanup_command,
            log_path=state_dir / "haproxy.log",
        )
        self.runtime_updates = 0
        self.socket_failures = 0
        self._reload_wanted = False

    # ------------------------------------------------------------------ applying

    def apply(self, batch: dict[str, list[Backend]], *, initial: bool) -> None:
        now = time.monotonic()
        needs_reload = initial or self._reload_wanted
        for name in batch:
            if name not in self.declared:
                needs_reload = True
            if self.tables[name].plan(self.current.get(name, []), now):
                needs_reload = True
        if not self.process.running():
            needs_reload = True
        if not self.has_socket:
            needs_reload = needs_reload or bool(batch)
        if needs_reload:
            self._reload()
            return
        try:
            self._sync(list(batch))
        except HaproxySocketError as exc:
            self.socket_failures += 1
            log.warning("runtime update failed (%s); reloading instead", exc)
            self._reload()

    def on_apply_failed(self, batch: dict[str, list[Backend]]) -> None:
        self._reload_wanted = True

    def tick(self) -> None:
        if self._reload_wanted:
            try:
                self._reload()
            except Exception as exc:
                log.error("haproxy reload retry failed: %s", exc, exc_info=show_traceback(exc))
            return
        if self.process.managed and not self.process.running():
            log.error("haproxy master exited; restarting it")
            self._reload_wanted = True
            return
        self._finish_drains()

    def _finish_drains(self) -> None:
        if not self.has_socket:
            return
        stats = self.process.stats
        assert stats is not None
        now = time.monotonic()
        for name, table in self.tables.items():
            draining = {n: s for n, s in table.slots.items() if s.draining_since is not None}
            if not draining or name not in self.declared:
                continue
            try:
                sessions = stats.current_sessions(table.service.haproxy_backend)
            except HaproxySocketError:
                continue
            for number, slot in draining.items():
                assert slot.draining_since is not None
                expired = now - slot.draining_since >= table.service.drain_timeout
                if expired or sessions.get(slot_name(number), 0) == 0:
                    del table.slots[number]
            try:
                self._sync([name])
            except HaproxySocketError as exc:
                log.warning("runtime update failed: %s", exc)

    def _reload(self) -> None:
        elapsed = time.monotonic() - self.process.last_reload
        if self.process.running() and elapsed < self.options.reload_min_interval:
            time.sleep(self.options.reload_min_interval - elapsed)
        for table in self.tables.values():
            table.prepare_render()
        plans = [self._plan(name) for name in self.tables]
        text = render_config(
            self.global_lines, self.defaults_lines, self.options.extra_sections, plans
        )
        changed = self.process.install(text)
        if self.process.managed and self.process.running() and self.has_socket:
            self._save_server_state()
        if changed or not self.process.running():
            self.process.reload()
        for table in self.tables.values():
            table.mark_rendered()
        self.declared = set(self.tables)
        self._reload_wanted = False
        if self.has_socket:
            self._sync(list(self.tables))

    def _plan(self, name: str) -> BackendPlan:
        table = self.tables[name]
        service = table.service
        return BackendPlan(
            service=service.name,
            backend_name=service.haproxy_backend,
            frontend=service.frontend,
            backend=service.backend,
            port=service.port,
            bind_address=service.bind_address,
            bind_options=service.bind_options,
            slots=table.lines(),
        )

    def _save_server_state(self) -> None:
        stats = self.process.stats
        if stats is None:
            return
        try:
            atomic_write_text(
                self.server_state_file, stats.command("show servers state"), parents=True
            )
        except HaproxySocketError as exc:
            log.debug("cannot save server state: %s", exc)

    def _sync(self, names: list[str]) -> None:
        """Send the runtime commands that make HAProxy match the slot tables."""
        stats = self.process.stats
        if stats is None:
            return
        for name in names:
            table = self.tables[name]
            backend_name = table.service.haproxy_backend
            actual = {s.name: s for s in stats.servers_state(backend_name)}
            for number in range(1, table.capacity + 1):
                server = slot_name(number)
                state = actual.get(server)
                if state is None:
                    raise HaproxySocketError(f"haproxy has no server {backend_name}/{server}")
                for command in self._commands(table.slots.get(number), state):
                    stats.set_server(backend_name, server, command)
                    self.runtime_updates += 1

    @staticmethod
    def _commands(slot: Slot | None, state: ServerState) -> list[str]:
        if slot is None:
            return [] if state.maint else ["state maint"]
        if slot.draining_since is not None:
            return [] if state.drain or state.maint else ["state drain"]
        backend = slot.backend
        commands = []
        if state.addr != backend.host or state.port != backend.port:
            commands.append(f"addr {backend.host} port {backend.port}")
        weight = backend_weight(backend)
        if state.weight != weight:
            commands.append(f"weight {weight}")
        if state.maint or state.drain:
            commands.append("state ready")
        return commands

    def close(self) -> None:
        self.process.stop()

    # ------------------------------------------------------------------ view

    def view(self) -> dict[str, Any]:
        view = super().view()
        info = self.process.proc_info()
        view["haproxy"] = {
            "config": str(self.options.config_path),
            "master_pid": info.master_pid if info else None,
            "workers": info.workers if info else [],
            "reloads": self.process.reloads,
            "runtime_updates": self.runtime_updates,
            "socket_failures": self.socket_failures,
            "stats_socket": str(self.process.stats.path) if self.process.stats else None,
        }
        services: dict[str, Any] = {}
        for name, table in self.tables.items():
            services[name] = {
                "backend": table.service.haproxy_backend,
                "port": table.service.port,
                "slots": table.capacity,
                "servers": [
                    {
                        "slot": slot_name(n),
                        "host": s.backend.host,
                        "port": s.backend.port,
                        "name": s.backend.name,
                        "weight": backend_weight(s.backend),
                        "state": "draining" if s.draining_since is not None else "active",
                    }
                    for n, s in sorted(table.slots.items())
                ],
            }
        view["services"] = services
        return view
