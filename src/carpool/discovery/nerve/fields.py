"""Reading loosely-typed config mappings with errors that name the field.

go-nerve decodes its YAML through JSON struct tags with case-insensitive keys, so
``checkIntervalInMilli`` and ``checkintervalinmilli`` are the same key; Airbnb nerve uses
snake_case.  :class:`Fields` looks keys up case-insensitively, converts values, and raises
:class:`~carpool.errors.ValidationError` with the full field path
(``nerve.yml: services[0].checks[1].port: 'x' is not an integer``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from carpool.errors import ValidationError

log = logging.getLogger(__name__)


class Fields:
    """A view over one config mapping; remembers which keys were read."""

    def __init__(self, raw: Any, where: str, source: str) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise ValidationError(f"{source}: {where or 'top level'}: expected a mapping")
        self.raw = raw
        self.where = where
        self.source = source
        self._keys = {str(k).lower(): k for k in raw}
        self._used: set[str] = set()

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def error(self, key: str, message: str) -> ValidationError:
        return ValidationError(f"{self.source}: {self.path(key)}: {message}")

    def has(self, *keys: str) -> bool:
        return any(k.lower() in self._keys for k in keys)

    def get(self, *keys: str, default: Any = None) -> Any:
        """The value of the first of ``keys`` present (case-insensitive), or ``default``."""
        for key in keys:
            real = self._keys.get(key.lower())
            if real is not None:
                self._used.add(key.lower())
                value = self.raw[real]
                return default if value is None else value
        return default

    def key_name(self, *keys: str) -> str:
        for key in keys:
            real = self._keys.get(key.lower())
            if real is not None:
                return str(real)
        return keys[0]

    def text(self, *keys: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.get(*keys)
        if value is None:
            if required:
                raise self.error(keys[0], "is required")
            return default
        if isinstance(value, (bool, dict, list)):
            raise self.error(self.key_name(*keys), f"{value!r} is not a string")
        return str(value)

    def integer(
        self,
        *keys: str,
        default: int | None = None,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self.get(*keys)
        if value is None:
            if required:
                raise self.error(keys[0], "is required")
            return default
        name = self.key_name(*keys)
        if isinstance(value, bool):
            raise self.error(name, f"{value!r} is not an integer")
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise self.error(name, f"{value!r} is not an integer")
        if minimum is not None and value < minimum:
            raise self.error(name, f"{value} is below {minimum}")
        if maximum is not None and value > maximum:
            raise self.error(name, f"{value} is above {maximum}")
        return value

    def number(
        self, *keys: str, default: float | None = None, minimum: float | None = None
    ) -> float | None:
        value = self.get(*keys)
        if value is None:
            return default
        name = self.key_name(*keys)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise self.error(name, f"{value!r} is not a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(name, f"{value!r} is not a number")
        if minimum is not None and value < minimum:
            raise self.error(name, f"{value} is below {minimum}")
        return float(value)

    def flag(self, *keys: str, default: bool = False) -> bool:
        value = self.get(*keys)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
        raise self.error(self.key_name(*keys), f"{value!r} is not true or false")

    def text_list(self, *keys: str) -> list[str] | None:
        value = self.get(*keys)
        if value is None:
            return None
        name = self.key_name(*keys)
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
        ):
            raise self.error(name, "expected a list of strings")
        return [str(v) for v in value]

    def text_map(self, *keys: str) -> dict[str, str]:
        value = self.get(*keys)
        if value is None:
            return {}
        name = self.key_name(*keys)
        if not isinstance(value, Mapping):
            raise self.error(name, "expected a mapping of strings")
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                raise self.error(f"{name}.{k}", "expected a string")
            out[str(k)] = (
                "" if v is None else ("true" if v is True else "false" if v is False else str(v))
            )
        return out

    def sub(self, key: str) -> Fields:
        return Fields(self.get(key), self.path(self.key_name(key)), self.source)

    def items(self, key: str) -> list[Fields]:
        value = self.get(key)
        if value is None:
            return []
        name = self.key_name(key)
        if not isinstance(value, list):
            raise self.error(name, "expected a list")
        return [Fields(v, f"{self.path(name)}[{i}]", self.source) for i, v in enumerate(value)]

    def warn_unknown(self, known: set[str]) -> None:
        """Warn about keys nobody reads (go-nerve ignored them silently)."""
        lowered = {k.lower() for k in known}
        for key in self._keys:
            if key not in lowered and key not in self._used:
                log.warning("%s: %s: unknown key, ignored", self.source, self.path(self._keys[key]))
