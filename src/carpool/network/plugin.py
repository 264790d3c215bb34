"""Running one CNI plugin binary the way the CNI spec says a runtime must.

The configuration goes on stdin, the parameters in ``CNI_*`` environment
variables, the result (or a CNI error object) comes back on stdout.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from carpool.errors import NetworkError
from carpool.network import commands

DEFAULT_CNI_PATH = "/usr/lib/cni"
TIMEOUT = 60.0


def search_path() -> list[str]:
    """``CARPOOL_CNI_PATH`` (colon-separated), else Debian's ``/usr/lib/cni``."""
    value = os.environ.get("CARPOOL_CNI_PATH", DEFAULT_CNI_PATH)
    return [p for p in value.split(":") if p]


def find(kind: str, path: list[str]) -> Path:
    for directory in path:
        candidate = Path(directory) / kind
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise NetworkError(f"CNI plugin {kind!r} not found in {':'.join(path)}")


def invoke(
    command: str,
    conf: dict[str, Any],
    *,
    container_id: str,
    netns: str,
    ifname: str,
    args: str,
    path: list[str],
) -> dict[str, Any] | None:
    """Run ``conf["type"]`` with ``CNI_COMMAND=command``; the parsed result, if any."""
    kind = conf["type"]
    binary = find(kind, path)
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": netns,
        "CNI_IFNAME": ifname,
        "CNI_ARGS": args,
        "CNI_PATH": ":".join(path),
    }
    where = f"network {conf.get('name')}: {kind} {command}"
    try:
        proc = commands.run(
            [str(binary)], input=json.dumps(conf).encode(), env=env, timeout=TIMEOUT
        )
    except commands.CommandTimeout:
        raise NetworkError(f"{where}: no answer after {TIMEOUT:.0f}s") from None
    except OSError as exc:
        raise NetworkError(f"{where}: {exc.strerror}") from None
    out = proc.stdout.decode(errors="replace").strip()
    if proc.returncode != 0:
        raise NetworkError(f"{where} failed: {_error_message(out, proc.stderr)}")
    if not out:
        return None
    try:
        result = json.loads(out)
    except json.JSONDecodeError:
        raise NetworkError(f"{where}: result is not JSON: {out[:200]!r}") from None
    if not isinstance(result, dict):
        raise NetworkError(f"{where}: result is not a JSON object")
    return result


def _error_message(stdout: str, stderr: bytes) -> str:
    try:
        error = json.loads(stdout)
    except json.JSONDecodeError:
        error = None
    if isinstance(error, dict) and "msg" in error:
        text = str(error["msg"])
        if error.get("details"):
            text += f" ({error['details']})"
        return f"{text} [CNI error {error.get('code')}]"
    text = (stdout or stderr.decode(errors="replace")).strip()
    return text.splitlines()[-1] if text else "no error message"
