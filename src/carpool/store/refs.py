"""Image references as users write them: ID prefixes and names with labels.

rkt accepted ``sha512-`` + at least 2 hex digits as an ID prefix (its own keys are
71 characters, half the digest) and names in the discovery form
``name,label=value,…``; ``name:version`` is shorthand for ``name,version=version``.
"""

from __future__ import annotations

import re

from carpool.errors import UsageError

ID_PREFIX = "sha512-"
FULL_ID_LENGTH = len(ID_PREFIX) + 128
MIN_PREFIX_LENGTH = len(ID_PREFIX) + 2
_HEX_DIGITS = frozenset("0123456789abcdef")
_LABEL_NAME = r"^[a-z0-9]+([-._~/][a-z0-9]+)*$"  # compiled (by re's cache) when labels are given


def is_id_reference(ref: str) -> bool:
    return ref.lower().startswith(ID_PREFIX)


def normalize_id_prefix(ref: str) -> str:
    """Lower-case and check an image ID prefix (``sha512-`` + 2 to 128 hex digits)."""
    value = ref.lower()
    digits = value[len(ID_PREFIX) :]
    if len(value) < MIN_PREFIX_LENGTH:
        raise UsageError(f"image ID {ref!r} is too short: give at least sha512- and 2 hex digits")
    if len(value) > FULL_ID_LENGTH or not digits or not _HEX_DIGITS.issuperset(digits):
        raise UsageError(f"image ID {ref!r} is not sha512- followed by hex digits")
    return value


class NameReference:
    """An image name and the labels an image must carry to match it.

    Plain classes on ``carpool run``'s path: no dataclasses import, and no forward
    references compiled per field as a ``NamedTuple`` would with postponed annotations.
    """

    __slots__ = ("labels", "name")

    def __init__(self, name: str, labels: dict[str, str]) -> None:
        self.name = name
        self.labels = labels

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NameReference):
            return NotImplemented
        return (self.name, self.labels) == (other.name, other.labels)

    __hash__ = None  # type: ignore[assignment]  # holds a dict

    def __repr__(self) -> str:
        return f"NameReference({self.name!r}, {self.labels!r})"

    def __str__(self) -> str:
        extra = "".join(f",{k}={v}" for k, v in self.labels.items())
        return f"{self.name}{extra}"

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        return name == self.name and all(labels.get(k) == v for k, v in self.labels.items())


def parse_name_reference(ref: str) -> NameReference:
    """Parse ``name[:version][,label=value…]``."""
    head, *pairs = ref.split(",")
    labels: dict[str, str] = {}
    name, colon, version = head.partition(":")
    if colon:
        if not version:
            raise UsageError(f"image {ref!r}: empty version after ':'")
        labels["version"] = version
    if not name:
        raise UsageError(f"image {ref!r}: missing image name")
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not re.match(_LABEL_NAME, key):
            raise UsageError(f"image {ref!r}: {pair!r} is not label=value")
        if key == "name":
            raise UsageError(f"image {ref!r}: 'name' is not a label")
        if key in labels and labels[key] != value:
            raise UsageError(f"image {ref!r}: label {key!r} given twice")
        labels[key] = value
    return NameReference(name, labels)


def short_id(image_id: str) -> str:
    """The 12-hex-digit form ``rkt image list`` prints."""
    return image_id[: len(ID_PREFIX) + 12]
