"""The ``console`` and ``template`` routers (go-synapse's), and Airbnb's ``file_output``.

* ``console`` prints each service's servers as one JSON line on stdout.
* ``template`` renders ``template``/``templateFile`` with carpool's templater (Go
  ``text/template``) into ``destinationFile`` (atomically, with ``destinationFileMode``)
  and runs ``postTemplateCommand``.  The data is go-synapse's list of service reports:
  ``[{Service: {Name, Path}, Name, Path, Reports: [{Name, Host, Port, Weight, Available,
  Labels, HaproxyServerOptions}]}]`` (the same keys also in snake_case).
* Airbnb's ``file_output`` writes ``<output_directory>/<service>.json`` holding the
  backend array, only when it changed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from carpool.discovery.payload import Backend
from carpool.discovery.synapse.config import RouterConfig
from carpool.discovery.synapse.router import Router
from carpool.discovery.synapse.watcher import backend_view
from carpool.errors import DiscoveryError
from carpool.fsutil import atomic_write_text
from carpool.log import get_logger

log = get_logger(__name__)


def _report(backend: Backend) -> dict[str, Any]:
    weight = 255 if backend.weight is None else backend.weight
    return {
        "Name": backend.name,
        "Host": backend.host,
        "Port": backend.port,
        "Weight": weight,
        "Available": backend.available,
        "Labels": backend.labels,
        "HaproxyServerOptions": backend.haproxy_server_options,
        **backend_view(backend),
        "weight": weight,
    }


class ConsoleRouter(Router):
    def apply(self, batch: dict[str, list[Backend]], *, initial: bool) -> None:
        for name in sorted(batch):
            line = {"service": name, "servers": [backend_view(b) for b in self.current[name]]}
            sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


class TemplateRouter(Router):
    def __init__(self, config: RouterConfig) -> None:
        super().__init__(config)
        if config.template is None:
            raise DiscoveryError("template router: missing options")
        self.options = config.template
        self.renders = 0

    def data(self) -> list[dict[str, Any]]:
        return [
            {
                "Service": {"Name": name, "Path": service.path},
                "Name": name,
                "Path": service.path,
                "Reports": [_report(b) for b in self.current.get(name, [])],
                "name": name,
                "path": service.path,
                "reports": [_report(b) for b in self.current.get(name, [])],
            }
            for name, service in self.services.items()
        ]

    def apply(self, batch: dict[str, list[Backend]], *, initial: bool) -> None:
        if self.options.json_per_service:
            self._file_output(batch)
            return
        from carpool.templater import render_string

        text = render_string(self.options.template, self.data(), name=self.options.template_name)
        destination = self.options.destination
        try:
            if destination.read_text() == text:
                return
        except OSError:
            pass
        atomic_write_text(destination, text, mode=self.options.mode, parents=True)
        self.renders += 1
        command = self.options.post_command
        if command:
            try:
                result = subprocess.run(
                    command,
                    capture_output=True,
                    text=True,
                    timeout=self.options.post_command_timeout,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise DiscoveryError(f"postTemplateCommand failed: {exc}") from None
            if result.returncode != 0:
                raise DiscoveryError(f"postTemplateCommand exited {result.returncode}")

    def _file_output(self, batch: dict[str, list[Backend]]) -> None:
        directory: Path = self.options.destination
        for name in batch:
            path = directory / f"{name}.json"
            text = json.dumps([backend_view(b) for b in self.current[name]], sort_keys=True)
            try:
                if path.read_text() == text:
                    continue
            except OSError:
                pass
            atomic_write_text(path, text, parents=True)
            self.renders += 1

    def view(self) -> dict[str, Any]:
        return {**super().view(), "destination": str(self.options.destination)}
