"""Go-style durations for ``--grace`` (``24h``, ``30m``, ``1h30m``, ``10s``, ``500ms``)."""

from __future__ import annotations

import re

from carpool.errors import UsageError

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str, *, flag: str = "--grace") -> float:
    """Seconds in ``text``; a bare ``0`` is allowed, as in Go."""
    value = text.strip()
    if value == "0":
        return 0.0
    total = 0.0
    position = 0
    for match in _PART.finditer(value):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(value) or not value:
        raise UsageError(f"{flag}: {text!r} is not a duration (e.g. 24h, 30m, 1h30m, 10s)")
    return total
