"""Go's reading of YAML integers, apart from the YAML loader.

A ``.cfg``'s ``uid``/``gid``/``mode`` are resolved with it after the file's data came
from the persistent cache, when ``yaml`` (~20 ms to import) is not loaded at all.
"""

from __future__ import annotations


def parse_go_int(text: str) -> int | float | str:
    """A plain scalar yaml.v2 resolves as an integer (``0755`` is octal); falls back like Go."""
    plain = text.replace("_", "")
    sign = -1 if plain.startswith("-") else 1
    digits = plain.lstrip("+-")
    try:
        if digits[:2] in ("0x", "0X"):
            value = int(digits[2:], 16)
        elif digits[:2] in ("0b", "0B"):
            value = int(digits[2:], 2)
        elif len(digits) > 1 and digits.startswith("0"):
            value = int(digits, 8)
        else:
            value = int(digits, 10)
    except ValueError:
        # yaml.v2 falls back to ParseFloat (e.g. "09" is not octal but 9.0)
        try:
            return float(plain)
        except ValueError:
            return text
    value *= sign
    if not -(2**63) <= value < 2**64:
        return float(value)
    return value
