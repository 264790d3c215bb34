"""What a carpool command imports: the guard that keeps start-up lean.

Start-up time is mostly imports, and a timing test would be flaky on a loaded
machine; so the tests pin down which heavy modules a latency-critical command must
not import at all.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

# runs the real CLI in a fresh interpreter and writes sys.modules when it exits
_DUMP = """
import atexit, sys
out, args = sys.argv[1], sys.argv[2:]
def _dump():
    with open(out, "w") as f:
        f.write("\\n".join(sorted(sys.modules)))
atexit.register(_dump)
from carpool.cli.main import main
main(args)
"""


def run_and_list_modules(
    args: Iterable[str], tmp: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``carpool ARGS``; its result and every module it had imported at exit."""
    out = tmp / "imported-modules.txt"
    proc = subprocess.run(
        [sys.executable, "-c", _DUMP, str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert out.exists(), f"no module list written: {proc.stderr}"
    return proc, set(out.read_text().split())


def matching(modules: set[str], packages: Iterable[str]) -> list[str]:
    """The modules that are one of ``packages`` or inside one of them."""
    wanted = tuple(packages)
    return sorted(m for m in modules if m in wanted or m.startswith(tuple(p + "." for p in wanted)))
