"""Image IDs: ``sha512-<hex>`` over the uncompressed ACI tar, and the forms rkt uses.

* full ID: ``sha512-`` + 128 hex digits;
* rkt's store key (:attr:`ImageID.key`): ``sha512-`` + the first 64 hex digits (71 chars),
  which rkt also writes into pod manifests — so any non-empty hex digest validates;
* appc's short hash (:attr:`ImageID.short`): 39 chars;
* ``rkt image list`` display form (:attr:`ImageID.display`): 12 hex digits.

User input may be any prefix of at least ``sha512-`` + 2 hex digits
(:func:`is_image_id_prefix`); longer input is cut to the key length
(:func:`image_id_prefix`).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from carpool.appc._model import invalid, show

ALGORITHM = "sha512"
PREFIX = ALGORITHM + "-"
FULL_HEX_LENGTH = 128
KEY_LENGTH = len(PREFIX) + 64
SHORT_LENGTH = len(PREFIX) + 32
DISPLAY_LENGTH = len(PREFIX) + 12
MIN_PREFIX_LENGTH = len(PREFIX) + 2

_ID_RE = re.compile(r"^sha512-[0-9a-f]{1,128}$")


class ImageID(str):
    """A validated image ID; a ``str`` so it compares and formats like one."""

    __slots__ = ()

    def __new__(cls, text: str) -> ImageID:
        if not isinstance(text, str) or _ID_RE.fullmatch(text) is None:
            raise ValueError(
                f"{show(text)} is not an image ID (expected sha512- and lowercase hex digits)"
            )
        return super().__new__(cls, text)

    @classmethod
    def from_hexdigest(cls, hexdigest: str) -> ImageID:
        """The ID of an image whose uncompressed tar has this SHA-512 hex digest."""
        if len(hexdigest) != FULL_HEX_LENGTH:
            raise ValueError(f"a SHA-512 hex digest has {FULL_HEX_LENGTH} digits")
        return cls(PREFIX + hexdigest.lower())

    @property
    def algorithm(self) -> str:
        return ALGORITHM

    @property
    def digest(self) -> str:
        """The hex digits after ``sha512-``."""
        return self[len(PREFIX) :]

    @property
    def is_full(self) -> bool:
        """Whether this is the whole 128-digit digest (not rkt's truncated key)."""
        return len(self.digest) == FULL_HEX_LENGTH

    @property
    def key(self) -> str:
        """rkt's store key: ``sha512-`` + first 64 hex digits (71 chars)."""
        return str(self[:KEY_LENGTH])

    @property
    def short(self) -> str:
        """appc's ``ShortHash``: ``sha512-`` + first 32 hex digits."""
        return str(self[:SHORT_LENGTH])

    @property
    def display(self) -> str:
        """What ``rkt image list`` prints: ``sha512-`` + 12 hex digits."""
        return str(self[:DISPLAY_LENGTH])

    def matches(self, prefix: str) -> bool:
        """Whether user input ``prefix`` (see :func:`image_id_prefix`) designates this ID."""
        wanted = image_id_prefix(prefix)
        return self.startswith(wanted) or wanted.startswith(str(self))

    def __repr__(self) -> str:
        return f"ImageID({str(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate_image_id,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
            json_schema_input_schema=core_schema.str_schema(pattern=_ID_RE.pattern),
        )


def _validate_image_id(value: Any) -> ImageID:
    if isinstance(value, ImageID):
        return value
    if not isinstance(value, str):
        raise invalid(f"expected an image ID string, got {show(value)}")
    try:
        return ImageID(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None


def is_image_id_prefix(text: str) -> bool:
    """Whether user input can designate an image: ``sha512-`` + at least 2 hex digits."""
    return len(text) >= MIN_PREFIX_LENGTH and _ID_RE.fullmatch(text) is not None


def image_id_prefix(text: str) -> str:
    """Normalise user input to what rkt looks up: validated, cut to :data:`KEY_LENGTH`."""
    if not is_image_id_prefix(text):
        raise ValueError(
            f"{show(text)} is not an image ID prefix (expected sha512- and at least 2 hex digits)"
        )
    return text[:KEY_LENGTH]
