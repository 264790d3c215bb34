"""synapse's HTTP API (go-synapse's routes, plus the current view as JSON).

* ``GET /`` the routes; ``GET /version``;
* ``GET /status`` (alias ``/services``): every service with its registry state
  (reachable, where the servers come from: ``registry``, ``state-file``, ``previous``),
  its backends, and each router's view (HAProxy: slots, states, pids, reload count);
* ``GET /ready``: 200 ``true`` once every service has been read from its registry (or
  restored from the state file), else 503 ``false``;
* ``GET /metrics``: Prometheus text (available / unavailable counts per service, router
  update failures, registry reachability).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from carpool import __version__
from carpool.log import get_logger

log = get_logger(__name__)

ROUTES = ["/", "/status", "/services", "/ready", "/metrics", "/version"]


class SynapseApi:
    def __init__(
        self,
        host: str,
        port: int,
        view: Callable[[], dict[str, Any]],
        ready: Callable[[], bool],
        metrics: Callable[[], str],
    ) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                log.debug("api: " + format, *args)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/") or "/"
                if path == "/":
                    self._json(200, ROUTES)
                elif path in ("/status", "/services"):
                    self._json(200, api.view())
                elif path == "/ready":
                    ok = api.ready()
                    self._json(200 if ok else 503, ok)
                elif path == "/version":
                    self._json(200, {"version": __version__})
                elif path == "/metrics":
                    self._send(200, api.metrics().encode(), "text/plain; version=0.0.4")
                else:
                    self._json(404, {"error": f"no route {path}"})

            def _json(self, status: int, body: Any) -> None:
                self._send(status, (json.dumps(body, indent=1) + "\n").encode(), "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.view = view
        self.ready = ready
        self.metrics = metrics
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
