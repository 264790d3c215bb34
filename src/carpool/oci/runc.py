"""Driving ``runc``: argv builders for long-lived children and blocking helpers.

carpool gives runc its own ``--root`` under the data dir so that pods of
different data dirs (and test runs) never see each other's containers.
Everything here is a thin wrapper: the runtime decides when to call what.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carpool.errors import RuntimeFailure

if TYPE_CHECKING:
    import subprocess

DEFAULT_RUNC = "/usr/sbin/runc"


def find_runc() -> str:
    """The runc binary: ``$CARPOOL_RUNC``, ``/usr/sbin/runc`` or ``runc`` on PATH."""
    explicit = os.environ.get("CARPOOL_RUNC")
    if explicit:
        return explicit
    if os.access(DEFAULT_RUNC, os.X_OK):
        return DEFAULT_RUNC
    import shutil

    found = shutil.which("runc")
    if found is None:
        raise RuntimeFailure("runc not found: install the runc package or set CARPOOL_RUNC")
    return found


class Runc:
    """One runc state root (``--root``).

    A plain class, not a dataclass: it is on ``carpool run``'s path (see
    :mod:`carpool.oci.spec`).
    """

    __slots__ = ("binary", "root")

    def __init__(self, root: Path, binary: str = DEFAULT_RUNC) -> None:
        self.root = root
        self.binary = binary

    def __repr__(self) -> str:
        return f"Runc(root={self.root!r}, binary={self.binary!r})"

    @classmethod
    def at(cls, root: Path) -> Runc:
        return cls(root=root, binary=find_runc())

    def _base(self) -> list[str]:
        return [self.binary, "--root", str(self.root)]

    def run_argv(
        self, container_id: str, bundle: Path, *, pid_file: Path | None = None, keep: bool = False
    ) -> list[str]:
        """``runc run`` in the foreground: exits with the container's status.

        runc writes ``pid_file`` only once the app's process exists (after it found the
        executable), so a failed run without it is runc's failure, not the app's.
        """
        argv = [*self._base(), "run", "--bundle", str(bundle)]
        if pid_file is not None:
            argv += ["--pid-file", str(pid_file)]
        if keep:
            argv.append("--keep")
        return [*argv, container_id]

    def exec_argv(
        self,
        container_id: str,
        args: list[str],
        *,
        tty: bool,
        env: list[str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
    ) -> list[str]:
        argv = [*self._base(), "exec"]
        if tty:
            argv.append("--tty")
        for item in env or []:
            argv += ["--env", item]
        if cwd:
            argv += ["--cwd", cwd]
        if user:
            argv += ["--user", user]
        return [*argv, container_id, *args]

    def _call(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        import subprocess  # here: carpool run starts its containers without it (runtime.spawn)

        proc = subprocess.run(
            [*self._base(), *args], capture_output=True, text=True, check=False, timeout=60
        )
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise RuntimeFailure(
                f"runc {args[0]} failed: {detail[-1] if detail else f'exit {proc.returncode}'}"
            )
        return proc

    def kill(self, container_id: str, signal: str = "TERM", *, all_processes: bool = False) -> bool:
        """Signal a container; False if it is not running (already gone)."""
        args = ["kill"]
        if all_processes:
            args.append("--all")
        return self._call(*args, container_id, signal, check=False).returncode == 0

    def delete(self, container_id: str, *, force: bool = True) -> None:
        args = ["delete"] + (["--force"] if force else []) + [container_id]
        self._call(*args, check=False)

    def state(self, container_id: str) -> dict[str, Any] | None:
        proc = self._call("state", container_id, check=False)
        if proc.returncode != 0:
            return None
        data: dict[str, Any] = json.loads(proc.stdout)
        return data

    def list_ids(self) -> list[str]:
        """IDs of the containers under this root (by directory, without running runc)."""
        try:
            return sorted(e.name for e in os.scandir(self.root) if e.is_dir())
        except FileNotFoundError:
            return []
