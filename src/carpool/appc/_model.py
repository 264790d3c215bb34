"""The base every appc model shares: JSON conventions, lossless output, one-line errors.

appc documents come from Go programs (rkt, dgr, docker2aci).  Go's ``encoding/json``
ignores unknown keys and writes ``null`` for empty slices, so to read their output
unchanged and write it back unchanged every model here

* keeps unknown keys (``extra="allow"``) and writes them back after the known ones,
* remembers which list/map fields were ``null`` in the input and writes ``null`` again,
* writes only the fields that were present in the input (or set by the caller).

Validation problems become a single :class:`carpool.errors.ValidationError` line that
starts with the path of the offending field (``app.ports[0].port: 70000 is not a port``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Self

import pydantic
from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from carpool.errors import ValidationError

#: Validation context key telling models that they are reading a whole JSON document
#: (so that keys Go requires, such as ``acKind``, must be present).
DOCUMENT = "appc-document"

_ERROR_TYPE = "appc"


def invalid(message: str, *subpath: str | int) -> PydanticCustomError:
    """An error for a validator to raise; ``subpath`` locates it below the validated value."""
    return PydanticCustomError(
        _ERROR_TYPE, "{message}", {"message": message, "subpath": list(subpath)}
    )


def show(value: object, limit: int = 60) -> str:
    """A value as it would appear in JSON, shortened for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_./@-]+$")


def field_path(loc: Sequence[str | int]) -> str:
    """``("app", "ports", 0, "port")`` -> ``app.ports[0].port``; odd map keys are quoted."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part) is None:
            path += f"[{json.dumps(part, ensure_ascii=False)}]"
        else:
            path += f".{part}" if path else part
    return path


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dataclass_type": "an object",
}


def _describe(error: Mapping[str, Any]) -> tuple[list[str | int], str]:
    loc: list[str | int] = [p for p in error["loc"] if isinstance(p, str | int)]
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == _ERROR_TYPE:
        return loc + list(ctx.get("subpath", [])), str(ctx["message"])
    if kind == "missing":
        return loc, "is required"
    if kind in _EXPECTED:
        return loc, f"expected {_EXPECTED[kind]}, got {show(error.get('input'))}"
    if kind == "greater_than_equal":
        return loc, f"{show(error.get('input'))} is below the minimum {ctx.get('ge')}"
    if kind == "less_than_equal":
        return loc, f"{show(error.get('input'))} is above the maximum {ctx.get('le')}"
    message = str(error["msg"])
    return loc, message[:1].lower() + message[1:]


def format_errors(exc: pydantic.ValidationError, source: str | None = None) -> str:
    """pydantic's error list as one line: the first problem, with its field path."""
    errors = exc.errors(include_url=False)
    if not errors:  # pragma: no cover - pydantic always reports at least one
        return f"{source}: invalid" if source else "invalid"
    loc, message = _describe(errors[0])
    path = field_path(loc)
    line = f"{path}: {message}" if path else message
    if source:
        line = f"{source}: {line}"
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more)"
    return " ".join(line.splitlines())


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def load_json(data: bytes | str, source: str) -> Any:
    """Parse JSON text the way Go does (UTF-8 only, no NaN/Infinity); errors name ``source``."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{source}: not UTF-8 text ({exc.reason})") from None
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise ValidationError(f"{source}: invalid JSON: {exc}") from None
    except RecursionError:
        raise ValidationError(f"{source}: invalid JSON: nested too deeply") from None


class AppcModel(BaseModel):
    """Common behaviour of every appc object (see the module docstring)."""

    model_config = ConfigDict(
        strict=True,
        extra="allow",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    _nulls: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @model_validator(mode="wrap")
    @classmethod
    def _null_means_empty(
        cls, data: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        """Go writes ``null`` for an empty slice or map: read it as empty, remember it."""
        nulls: list[str] = []
        if isinstance(data, Mapping):
            document = bool(info.context and info.context.get(DOCUMENT))
            replaced = dict(data)
            for name, field in cls.model_fields.items():
                if field.default_factory not in (list, dict):
                    continue
                for key in _input_keys(name, field, by_name=not document):
                    if key in replaced and replaced[key] is None:
                        replaced[key] = field.default_factory()
                        nulls.append(name)
            data = replaced
        instance = handler(data)
        if nulls and isinstance(instance, AppcModel):
            instance._nulls = frozenset(nulls)
        return instance

    @model_serializer(mode="wrap")
    def _write_nulls_back(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> Any:
        out = handler(self)
        if self._nulls and isinstance(out, dict):
            for name in self._nulls:
                field = type(self).model_fields[name]
                key = field.serialization_alias or field.alias or name
                if key in out and not out[key]:
                    out[key] = None
        return out

    # -- documents -------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: bytes | str | Mapping[str, Any], *, source: str = "manifest") -> Self:
        """Parse and validate a JSON document (text, bytes or an already-decoded object).

        Only the JSON (camelCase) key names are recognised; unknown keys are kept.
        Raises :class:`carpool.errors.ValidationError` naming ``source`` and the field.
        """
        obj = load_json(data, source) if isinstance(data, bytes | str) else data
        if not isinstance(obj, Mapping):
            raise ValidationError(f"{source}: expected a JSON object, got {show(obj)}")
        try:
            return cls.model_validate(obj, by_alias=True, by_name=False, context={DOCUMENT: True})
        except pydantic.ValidationError as exc:
            raise ValidationError(format_errors(exc, source)) from None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: fields present in the input (or set in Python), spec order."""
        out: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return out

    def to_json(self, *, indent: int | None = None) -> str:
        """Deterministic JSON text; ``from_json(m.to_json()) == m``."""
        if indent is None:
            return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


def _input_keys(name: str, field: pydantic.fields.FieldInfo, *, by_name: bool) -> list[str]:
    keys = [name] if by_name or not (field.alias or field.validation_alias) else []
    if field.alias:
        keys.append(field.alias)
    alias = field.validation_alias
    if isinstance(alias, str):
        keys.append(alias)
    elif isinstance(alias, pydantic.AliasChoices):
        keys.extend(choice for choice in alias.choices if isinstance(choice, str))
    return keys


def require_document_keys(data: Any, info: ValidationInfo, *keys: str) -> None:
    """Keys Go requires in a document but Python callers may leave to their defaults."""
    if not (info.context and info.context.get(DOCUMENT)) or not isinstance(data, Mapping):
        return
    for key in keys:
        if key not in data:
            raise invalid("is required", key)
