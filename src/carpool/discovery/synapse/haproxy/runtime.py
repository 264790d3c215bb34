"""HAProxy's runtime API (stats socket) and master CLI, over unix sockets.

Both sockets take one command line per connection in non-interactive mode and close it
after answering; the master CLI (HAProxy 2.6) only answers once the client has shut its
write side, so every request does that.  Commands used (HAProxy 2.6 management guide):

* stats socket: ``show servers state [<backend>]`` (format version 1),
  ``set server <b>/<s> addr <ip> port <port>``, ``set server <b>/<s> state
  ready|drain|maint``, ``set server <b>/<s> weight <w>``, ``show stat <b> 4 -1`` (CSV),
  ``show info``;
* master socket: ``show proc`` (master and worker pids, reload counter), ``reload``.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from carpool.errors import DiscoveryError

# srv_admin_state bits (HAProxy's SRV_ADMF_*)
ADMF_FMAINT = 0x01
ADMF_IMAINT = 0x02
ADMF_CMAINT = 0x04
ADMF_FDRAIN = 0x08
ADMF_IDRAIN = 0x10
ADMF_RMAINT = 0x20
MAINT_MASK = ADMF_FMAINT | ADMF_IMAINT | ADMF_RMAINT
DRAIN_MASK = ADMF_FDRAIN | ADMF_IDRAIN
OP_STATES = {0: "down", 1: "starting", 2: "up", 3: "stopping"}


class HaproxySocketError(DiscoveryError):
    """A runtime API command could not be sent or was refused."""


def send_command(path: Path, command: str, timeout: float = 3.0) -> str:
    """One command on one connection; the whole answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(command.encode() + b"\n")
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
    except OSError as exc:
        raise HaproxySocketError(f"haproxy socket {path}: {command!r}: {exc}") from exc
    return b"".join(chunks).decode(errors="replace")


@dataclass(frozen=True)
class ServerState:
    """One line of ``show servers state``."""

    backend: str
    name: str
    id: int
    addr: str
    port: int
    op_state: int
    admin_state: int
    weight: int

    @property
    def maint(self) -> bool:
        return bool(self.admin_state & MAINT_MASK)

    @property
    def drain(self) -> bool:
        return bool(self.admin_state & DRAIN_MASK)

    @property
    def admin(self) -> str:
        """``maint``, ``drain`` or ``ready`` (what ``set server … state`` sets)."""
        return "maint" if self.maint else "drain" if self.drain else "ready"

    @property
    def health(self) -> str:
        return OP_STATES.get(self.op_state, str(self.op_state))


def parse_servers_state(text: str) -> list[ServerState]:
    """Parse ``show servers state`` (format 1: fields named in its ``#`` header line)."""
    header: list[str] = []
    out: list[ServerState] = []
    for line in text.splitlines():
        if not line.strip() or line.strip() == "1":
            continue
        if line.startswith("#"):
            header = line[1:].split()
            continue
        fields = dict(zip(header, line.split(), strict=False))
        if "srv_name" not in fields:
            continue
        port_text = fields.get("srv_port", "0")
        out.append(
            ServerState(
                backend=fields["be_name"],
                name=fields["srv_name"],
                id=int(fields["srv_id"]),
                addr=fields["srv_addr"],
                port=int(port_text) if port_text.isdigit() else 0,
                op_state=int(fields["srv_op_state"]),
                admin_state=int(fields["srv_admin_state"]),
                weight=int(fields["srv_uweight"]),
            )
        )
    return out


#: answers of ``set server`` that mean success
_OK_PREFIXES = ("IP changed from", "no need to change", "port changed from")


class StatsSocket:
    """The worker's admin-level stats socket."""

    def __init__(self, path: Path, timeout: float = 3.0) -> None:
        self.path = path
        self.timeout = timeout

    def command(self, command: str) -> str:
        return send_command(self.path, command, self.timeout)

    def alive(self) -> bool:
        try:
            return "Pid:" in self.command("show info")
        except HaproxySocketError:
            return False

    def info(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for line in self.command("show info").splitlines():
            key, sep, value = line.partition(":")
            if sep:
                out[key.strip()] = value.strip()
        return out

    def servers_state(self, backend: str | None = None) -> list[ServerState]:
        text = self.command("show servers state" + (f" {backend}" if backend else ""))
        if "Can't find backend" in text:
            raise HaproxySocketError(f"haproxy: no backend {backend!r}")
        return parse_servers_state(text)

    def current_sessions(self, backend: str) -> dict[str, int]:
        """Current sessions per server of ``backend`` (``scur`` in ``show stat``)."""
        # by name, "show stat" picks the frontend when one has the same name: list all
        text = self.command("show stat -1 4 -1")
        out: dict[str, int] = {}
        columns: list[str] = []
        for line in text.splitlines():
            if line.startswith("# "):
                columns = line[2:].split(",")
                continue
            values = line.split(",")
            if not columns or len(values) < len(columns):
                continue
            row = dict(zip(columns, values, strict=False))
            if row.get("pxname") == backend and row.get("svname") not in ("BACKEND", "FRONTEND"):
                out[row["svname"]] = int(row.get("scur") or 0)
        return out

    def set_server(self, backend: str, server: str, what: str) -> None:
        """``set server <backend>/<server> <what>``; raises when HAProxy refuses."""
        command = f"set server {backend}/{server} {what}"
        answer = self.command(command).strip()
        if answer and not answer.startswith(_OK_PREFIXES):
            raise HaproxySocketError(f"haproxy: {command!r}: {answer.splitlines()[0]}")


@dataclass(frozen=True)
class ProcInfo:
    master_pid: int
    reloads: int
    failed_reloads: int
    workers: list[int]


def parse_show_proc(text: str) -> ProcInfo:
    master_pid = reloads = failed = 0
    workers: list[int] = []
    section = "main"
    for line in text.splitlines():
        if line.startswith("# workers"):
            section = "workers"
            continue
        if line.startswith("#"):
            section = "other" if section == "workers" or "old" in line else section
            if "old workers" in line:
                section = "other"
            continue
        fields = line.split()
        if len(fields) < 2 or not fields[0].isdigit():
            continue
        if fields[1] == "master":
            master_pid, reloads = int(fields[0]), int(fields[2])
            if "[failed:" in line:
                failed = int(line.split("[failed:")[1].split("]")[0])
        elif fields[1] == "worker" and section == "workers":
            workers.append(int(fields[0]))
    return ProcInfo(master_pid, reloads, failed, workers)


class MasterSocket:
    """The master CLI of a master-worker HAProxy (``-S``)."""

    def __init__(self, path: Path, timeout: float = 3.0) -> None:
        self.path = path
        self.timeout = timeout

    def show_proc(self) -> ProcInfo:
        return parse_show_proc(send_command(self.path, "show proc", self.timeout))

    def reload(self) -> None:
        send_command(self.path, "reload", self.timeout)
