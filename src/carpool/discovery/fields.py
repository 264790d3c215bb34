"""Reading nerve's and synapse's loosely-typed config files with errors that name the field.

Both daemons read YAML/JSON files written for tools with the same habits, so the reading
(file, YAML, field conversion, registry paths and hosts) is shared here rather than written
once per daemon.

go-nerve decodes its YAML through JSON struct tags with case-insensitive keys, so
``checkIntervalInMilli`` and ``checkintervalinmilli`` are the same key; Airbnb nerve uses
snake_case.  :class:`Fields` looks keys up case-insensitively, converts values, and raises
:class:`~carpool.errors.ValidationError` with the full field path
(``nerve.yml: services[0].checks[1].port: 'x' is not an integer``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from carpool.discovery.registry import default_embedded_dir, normalize_path
from carpool.errors import CarpoolError, ValidationError
from carpool.log import get_logger

log = get_logger(__name__)


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


def read_config_text(path: Path) -> str:
    """The text of a config file; a missing or unreadable file is a one-line error."""
    try:
        return path.read_text()
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such file") from None
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read: {exc.strerror}") from None


def parse_yaml(text: str, source: str) -> Any:
    """YAML (hence JSON too) with the line of the first problem in the error."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValidationError(f"{source}{where}: not valid YAML/JSON: {problem}") from None


def millis(f: Fields, key: str, default_ms: float) -> float:
    """A ``…InMilli``/``…_ms`` duration, in seconds."""
    value = f.number(key, default=default_ms, minimum=0)
    return (value if value is not None else default_ms) / 1000.0


def warn_unsupported(f: Fields, program: str, *keys: str) -> None:
    """Keys of the originals carpool reads but does not act on: say so, don't fail."""
    for key in keys:
        if f.has(key):
            log.warning(
                "%s: %s: not supported by carpool %s, ignored",
                f.source,
                f.path(f.key_name(key)),
                program,
            )


def registry_path(f: Fields, *keys: str) -> str:
    """A required registry path (``/services/api``), normalized."""
    value = f.text(*keys, required=True) or ""
    try:
        return normalize_path(value, f.path(f.key_name(*keys)))
    except CarpoolError as exc:
        raise ValidationError(f"{f.source}: {exc}") from None


def registry_hosts(f: Fields, *keys: str, comma_separated: bool = False) -> tuple[str, ...]:
    """A required list of ZooKeeper ``host:port`` (optionally also one comma-separated string)."""
    value = f.get(*keys)
    if comma_separated and isinstance(value, str):
        hosts: list[str] | None = [h.strip() for h in value.split(",")]
    else:
        hosts = f.text_list(*keys)
    if not hosts:
        raise f.error(keys[0], "at least one host:port is required")
    for host in hosts:
        if not re.fullmatch(r"[\w.\-\[\]:]+:\d+(/[\w/\-]*)?", host):
            raise f.error(f.key_name(*keys), f"{host!r} is not host:port")
    return tuple(hosts)


def embedded_registry_dir(f: Fields, data_dir: Path | None) -> Path:
    """The embedded registry's directory: ``dataDir`` if given, else inside carpool's data dir."""
    explicit = f.text("dataDir", "data_dir")
    if explicit:
        return Path(explicit)
    if data_dir is None:
        raise f.error("dataDir", "is required when no carpool data dir is known")
    return default_embedded_dir(data_dir)
