"""Where nerve reports a service's state: a registry (ZooKeeper, embedded), a file, stdout.

A :class:`Report` is go-nerve's ``Report``; reporters turn it into their medium:

* registry reporters keep one ephemeral node while the service is available (or always,
  with ``exposeOnUnavailable``), with go-nerve's payload and node name by default and
  Airbnb nerve's with ``format: airbnb``.  go-nerve format: data changes (warm-up
  weights) are written in place, as go-nerve.  Airbnb format: Airbnb synapse never sees
  in-place changes, so the payload carries the target weight (not the ramp) and a real
  change (API weight, options) creates the new node before deleting the old one.  The
  registry backend re-creates the node after a session expiry on its own, so reporting
  never blocks on ZooKeeper;
* ``file`` writes the payload, atomically in replace mode (an unavailable report empties
  the file, as go-nerve), one line per report in append mode;
* ``console`` prints the payload.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from carpool.discovery.nerve.config import ReporterConfig, ServiceConfig
from carpool.discovery.payload import (
    airbnb_node_prefix,
    airbnb_path_encoded_prefix,
    encode_airbnb,
    encode_go_nerve,
    go_nerve_node_prefix,
)
from carpool.discovery.registry import Registration, Registry, RegistryPool, RegistrySpec
from carpool.fsutil import atomic_write_bytes
from carpool.log import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Report:
    available: bool
    host: str
    port: int
    name: str
    weight: int
    unavailable_reason: str = ""
    haproxy_server_options: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    #: the weight after warm-up (not in go-nerve's payload; Airbnb payloads use it)
    max_weight: int | None = None

    def go_payload(self) -> bytes:
        return encode_go_nerve(
            host=self.host,
            port=self.port,
            name=self.name,
            weight=self.weight,
            available=self.available,
            unavailable_reason=self.unavailable_reason,
            haproxy_server_options=self.haproxy_server_options,
            labels=self.labels,
        )


class Reporter(ABC):
    type: str = ""

    @abstractmethod
    def report(self, report: Report) -> bool:
        """Publish a report; False if it failed (it will be replayed)."""

    def destroy(self) -> None:  # noqa: B027 - most reporters have nothing to withdraw
        """Withdraw whatever was published (deregister)."""


class ConsoleReporter(Reporter):
    type = "console"

    def report(self, report: Report) -> bool:
        try:
            sys.stdout.write(report.go_payload().decode() + "\n")
            sys.stdout.flush()
        except OSError:
            return False
        return True


class FileReporter(Reporter):
    type = "file"

    def __init__(self, config: ReporterConfig) -> None:
        self.path = config.file_path
        self.append = config.append

    def report(self, report: Report) -> bool:
        payload = report.go_payload()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.append:
                with self.path.open("ab") as f:
                    f.write(payload + b"\n")
            else:
                atomic_write_bytes(self.path, payload if report.available else b"")
        except OSError as exc:
            log.warning("file reporter %s: %s", self.path, exc.strerror or exc)
            return False
        return True

    def destroy(self) -> None:
        if not self.append:
            with contextlib.suppress(OSError):
                self.path.write_bytes(b"")


class RegistryReporter(Reporter):
    """One node in a registry path for one service."""

    def __init__(self, config: ReporterConfig, service: ServiceConfig, registry: Registry):
        self.type = config.type
        self.config = config
        self.service = service
        self.registry = registry
        self._lock = threading.Lock()
        self._registration: Registration | None = None
        self._payload = b""

    def payload(self, report: Report) -> bytes:
        if self.config.format == "airbnb":
            # Airbnb synapse never sees in-place data changes: publishing the warm-up
            # ramp would leave its consumers at the first weight.  Publish the target.
            weight = report.max_weight if report.max_weight is not None else report.weight
            return encode_airbnb(
                host=report.host,
                port=report.port,
                name=report.name,
                weight=weight if self.service.weight_configured else None,
                haproxy_server_options=report.haproxy_server_options or None,
                labels=report.labels or None,
            )
        return report.go_payload()

    def node_hint(self, payload: bytes) -> str:
        if self.config.format == "airbnb":
            if self.config.use_path_encoding:
                hint = airbnb_path_encoded_prefix(payload)
                if len(hint) < 65536:
                    return hint
            return airbnb_node_prefix(self.service.reporter_service_name)
        return go_nerve_node_prefix(self.service.name, self.service.host)

    @property
    def registration(self) -> Registration | None:
        return self._registration

    def report(self, report: Report) -> bool:
        publish = report.available or self.config.expose_on_unavailable
        payload = self.payload(report)
        with self._lock:
            registration = self._registration
            if publish:
                if registration is None:
                    hint = self.node_hint(payload)
                    self._registration = self.registry.register(self.config.path, hint, payload)
                elif self.config.format == "airbnb":
                    if payload != self._payload:
                        # Airbnb consumers only notice new nodes (and path-encoded names
                        # carry the payload): make the new node, then drop the old one
                        self._registration = self.registry.register(
                            self.config.path, self.node_hint(payload), payload
                        )
                        registration.remove()
                else:
                    registration.update(payload)
                self._payload = payload
            elif registration is not None:
                registration.remove()
                self._registration = None
        return True

    def destroy(self) -> None:
        with self._lock:
            if self._registration is not None:
                self._registration.remove()
                self._registration = None


def spec_for(config: ReporterConfig) -> RegistrySpec:
    if config.type == "zookeeper":
        return RegistrySpec(
            "zookeeper",
            hosts=tuple(sorted(config.hosts)),
            session_timeout=config.session_timeout,
            refresh_interval=config.refresh_interval,
            auth=config.auth,
        )
    assert config.data_dir is not None
    return RegistrySpec("embedded", data_dir=Path(config.data_dir))


def make_reporter(config: ReporterConfig, service: ServiceConfig, pool: RegistryPool) -> Reporter:
    if config.type == "console":
        return ConsoleReporter()
    if config.type == "file":
        return FileReporter(config)
    return RegistryReporter(config, service, pool.get(spec_for(config)))
