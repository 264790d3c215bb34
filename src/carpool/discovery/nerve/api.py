"""go-nerve's HTTP API (reference §1.5), on ``apiHost:apiPort``.

Routes: ``GET /``, ``GET /status``, ``GET /services/:s/status``, ``PUT /disable[?shutdown=true]``,
``PUT /enable[?force=true]``, ``PUT /weight/:w``, the same three under ``/services/:s/``,
``GET /metrics`` (Prometheus text), ``GET /version``, and the legacy ``GET /enable``,
``GET /disable``, ``GET /weight/:w``.  ``/disable`` returns only once the drain is over.
Both ``PUT`` and ``POST`` are accepted for actions (go-nerve's README and code disagreed
on methods).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from carpool import __version__
from carpool.log import get_logger

if TYPE_CHECKING:
    from carpool.discovery.nerve.service import Service

log = get_logger(__name__)

ROUTES = """GET /status
GET /services/:service/status
PUT /disable[?shutdown=true]
PUT /enable[?force=true]
PUT /weight/:weight
PUT /services/:service/disable[?shutdown=true]
PUT /services/:service/enable[?force=true]
PUT /services/:service/weight/:weight
GET /metrics
GET /version
"""


class _HttpError(Exception):
    """A request the API refuses; its own class so a ``KeyError`` or ``ValueError`` bug
    elsewhere is not answered as "unknown service" or "bad request"."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class NerveApi:
    def __init__(self, services: list[Service], host: str, port: int) -> None:
        self.services = services
        api = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "carpool-nerve"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("api: " + format, *args)

            def do_GET(self) -> None:
                api.handle(self, "GET")

            def do_PUT(self) -> None:
                api.handle(self, "PUT")

            def do_POST(self) -> None:
                api.handle(self, "PUT")

        self.server = ThreadingHTTPServer((host or "0.0.0.0", port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="nerve-api", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ routing

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(request.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.split("/") if p]
        try:
            status, body = self.route(method, parts, query)
        except _HttpError as exc:
            status, body = exc.status, {"error": exc.message}
        payload = body if isinstance(body, str) else json.dumps(body) + "\n"
        data = payload.encode()
        request.send_response(status)
        ctype = "application/json" if not isinstance(body, str) else "text/plain; version=0.0.4"
        request.send_header("Content-Type", ctype)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.config.name == name:
                return service
        raise _HttpError(404, f"unknown service {name}")

    def route(self, method: str, parts: list[str], query: dict[str, str]) -> tuple[int, Any]:
        truthy = {"true", "1", "yes"}
        if not parts:
            return 200, ROUTES
        if parts == ["version"]:
            return 200, {"version": __version__}
        if parts == ["metrics"]:
            return 200, self.metrics()
        if parts == ["status"]:
            statuses = [s.status_json() for s in self.services]
            return (200 if all(s["Available"] for s in statuses) else 503), statuses
        if parts[0] == "services" and len(parts) >= 3:
            targets = [self.service(parts[1])]
            action = parts[2:]
            if action == ["status"]:
                entry = targets[0].status_json()
                return (200 if entry["Available"] else 503), entry
            if method != "PUT":
                return 405, {"error": "use PUT"}
        else:
            targets = list(self.services)
            action = parts
            if method != "PUT" and action[0] not in ("enable", "disable", "weight"):
                return 404, {"error": "no such route"}
        if action == ["disable"]:
            if parts[0] != "services":
                targets = [s for s in targets if not s.config.exclude_from_global_disable]
            shutdown = query.get("shutdown", "").lower() in truthy
            self.run_all(targets, lambda s: s.disable(shutdown=shutdown))
            return 200, [s.status_json() for s in targets]
        if action == ["enable"]:
            force = query.get("force", "").lower() in truthy
            for s in targets:
                s.enable(force=force)
            return 200, [s.status_json() for s in targets]
        if len(action) == 2 and action[0] == "weight":
            try:
                weight = int(action[1])
            except ValueError:
                raise _HttpError(400, f"weight {action[1]!r} is not an integer") from None
            if not 1 <= weight <= 255:
                raise _HttpError(400, f"weight {weight} is outside 1..255")
            for s in targets:
                s.set_weight(weight)
            return 200, [s.status_json() for s in targets]
        return 404, {"error": "no such route"}

    @staticmethod
    def run_all(services: list[Service], action: Any) -> None:
        if len(services) <= 1:
            for s in services:
                action(s)
            return
        with ThreadPoolExecutor(max_workers=len(services)) as pool:
            list(pool.map(action, services))

    def metrics(self) -> str:
        lines = [
            "# TYPE nerve_checker_failure_total counter",
            "# TYPE nerve_exec_failure_total counter",
            "# TYPE nerve_reporter_failure_total counter",
            "# TYPE nerve_service_available gauge",
        ]
        for s in self.services:
            base = f'name="{s.config.name}",ip="{s.config.host}",port="{s.config.port}"'
            for runner in s.runners:
                lines.append(
                    f'nerve_checker_failure_total{{{base},type="{runner.config.type}"}} '
                    f"{runner.failures_total}"
                )
            lines.append(f"nerve_exec_failure_total{{{base}}} {s.exec_failures_total}")
            lines.append(f"nerve_reporter_failure_total{{{base}}} {s.reporter_failures_total}")
            lines.append(f"nerve_service_available{{{base}}} {s.current_weight}")
        return "\n".join(lines) + "\n"
