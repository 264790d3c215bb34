"""The HAProxy configuration synapse writes (reference §2.2, §2.5), built from a slot plan.

Layout::

    # Handled by carpool synapse. Do not modify it.
    global
      <global lines> + stats socket … level admin expose-fd listeners + server-state-file
    defaults
      <defaults lines> + load-server-state-from-file global
    listen <name> / <extra section>
      <lines>
    frontend <service>                      (when it has a port or frontend lines)
      <frontend lines>
      bind <address>:<port> <bind options>
      default_backend <backend>
    backend <backend>
      <backend lines>
      server srv<n> <host>:<port> id <n> <options> weight <w> [disabled]

Every backend has a fixed number of *slots*: servers named ``srv<n>`` with ``id <n>``.
A slot holds one registered instance, or is free (``disabled``, parked on an unused
address).  Filling, emptying and re-weighting slots goes through the runtime API, so only
a change of shape (a new service, no free slot left, other server options) needs a reload.
Slot names never depend on the instance, which keeps ``server-state-file`` valid across
reloads (the problem of airbnb/synapse#238).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from carpool.discovery.payload import Backend

#: where free slots point: never routed to (they are disabled), but must parse
PARKED_ADDRESS = "127.0.0.1:1"
DEFAULT_WEIGHT = 255

_TEMPLATE_RE = re.compile(
    r"\{\{\s*(?:(sha1String)\s+)?\.(Name|Host|Port)\s*\}\}|%\{(name|host|port)\}"
)


def server_options(template: str, backend: Backend | None) -> str:
    """Expand go-synapse's ``{{.Name}}``/``{{sha1String .Name}}`` and Airbnb's ``%{name}``.

    ``backend`` None renders the options of a free slot (empty name, host and port).
    """
    values = {
        "name": backend.name if backend else "",
        "host": backend.host if backend else "",
        "port": str(backend.port) if backend else "",
    }

    def expand(match: re.Match[str]) -> str:
        key = (match.group(2) or match.group(3)).lower()
        value = values[key]
        if match.group(1):
            return hashlib.sha1(value.encode()).hexdigest()
        return value

    rendered = _TEMPLATE_RE.sub(expand, template)
    extra = backend.haproxy_server_options if backend else ""
    return " ".join(part for part in (rendered.strip(), extra.strip()) if part)


def slot_name(number: int) -> str:
    return f"srv{number}"


def backend_weight(backend: Backend) -> int:
    """The HAProxy weight of an instance (nerve's weight; 255 when it gave none)."""
    weight = backend.effective_weight
    return DEFAULT_WEIGHT if weight is None else max(0, min(weight, 256))


@dataclass
class SlotLine:
    """What a slot looks like in the rendered file."""

    number: int
    options: str
    backend: Backend | None = None


@dataclass
class BackendPlan:
    """One service as rendered: its sections and its slots."""

    service: str
    backend_name: str
    frontend: list[str] = field(default_factory=list)
    backend: list[str] = field(default_factory=list)
    port: int | None = None
    bind_address: str = "127.0.0.1"
    bind_options: str = ""
    slots: list[SlotLine] = field(default_factory=list)


def _section(header: str, lines: list[str]) -> list[str]:
    return [header, *(f"  {line.strip()}" for line in lines if line.strip()), ""]


def ensure_global(
    lines: list[str], socket_path: Path, state_file: Path | None
) -> tuple[list[str], Path]:
    """The global lines with an admin stats socket (and the server-state file) present.

    Returns the lines and the stats socket HAProxy will listen on (the user's own
    ``stats socket`` line wins; it should say ``level admin`` for runtime updates).
    """
    out = list(lines)
    sockets = [line.split()[2] for line in out if line.split()[:2] == ["stats", "socket"]]
    if sockets:
        socket_path = Path(sockets[0])
    else:
        out.append(f"stats socket {socket_path} mode 600 level admin expose-fd listeners")
    if state_file is not None and not any(
        line.split()[:1] == ["server-state-file"] for line in out
    ):
        out.append(f"server-state-file {state_file}")
    return out, socket_path


def ensure_defaults(lines: list[str], use_state_file: bool) -> list[str]:
    out = list(lines)
    if use_state_file and not any(
        line.split()[:1] == ["load-server-state-from-file"] for line in out
    ):
        out.append("load-server-state-from-file global")
    return out


def render_config(
    global_lines: list[str],
    defaults_lines: list[str],
    extra_sections: dict[str, list[str]],
    plans: list[BackendPlan],
) -> str:
    out = ["# Handled by carpool synapse. Do not modify it.", ""]
    out += _section("global", global_lines)
    out += _section("defaults", defaults_lines)
    for header, lines in extra_sections.items():
        out += _section(header, lines)
    for plan in plans:
        if plan.port is not None or plan.frontend:
            lines = list(plan.frontend)
            if plan.port is not None:
                address = plan.bind_address
                if ":" in address and not address.startswith("["):
                    address = f"[{address}]"
                lines.append(f"bind {address}:{plan.port} {plan.bind_options}".strip())
            if not any(line.split()[:1] == ["default_backend"] for line in lines):
                lines.append(f"default_backend {plan.backend_name}")
            out += _section(f"frontend {plan.service}", lines)
        servers = []
        for slot in plan.slots:
            if slot.backend is None:
                parts = [
                    f"server {slot_name(slot.number)} {PARKED_ADDRESS} id {slot.number}",
                    slot.options,
                    "weight 1 disabled",
                ]
            else:
                parts = [
                    f"server {slot_name(slot.number)} {slot.backend.address} id {slot.number}",
                    slot.options,
                    f"weight {backend_weight(slot.backend)}",
                ]
            servers.append(" ".join(p for p in parts if p))
        out += _section(f"backend {plan.backend_name}", [*plan.backend, *servers])
    return "\n".join(out)
