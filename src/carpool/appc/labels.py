"""Labels and annotations: ``[{name, value}]`` lists with uniqueness and typed values.

Labels select images (``version``, ``os``, ``arch`` are well known); ``os``/``arch`` must
be a pair from :data:`VALID_OS_ARCH` (appc's ``ValidOSArch``).  Annotations carry free
metadata; ``created`` must be RFC 3339 and ``homepage``/``documentation`` http(s) URLs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

from carpool.appc._model import AppcModel, invalid, show
from carpool.appc.names import ACIdentifier

#: Allowed ``os`` label values and, for each, the allowed ``arch`` values.
VALID_OS_ARCH: dict[str, tuple[str, ...]] = {
    "linux": (
        "amd64",
        "i386",
        "aarch64",
        "aarch64_be",
        "armv6l",
        "armv7l",
        "armv7b",
        "ppc64",
        "ppc64le",
        "s390x",
    ),
    "freebsd": ("amd64", "i386", "arm"),
    "darwin": ("x86_64", "i386"),
}

_RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")


class Label(AppcModel):
    """One ``{name, value}`` label."""

    name: ACIdentifier
    value: str


class Annotation(AppcModel):
    """One ``{name, value}`` annotation."""

    name: ACIdentifier
    value: str


def is_rfc3339(text: str) -> bool:
    """Whether ``text`` is an RFC 3339 timestamp (``2016-03-01T10:00:00Z``)."""
    if _RFC3339_RE.fullmatch(text) is None:
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def is_http_url(text: str) -> bool:
    """Whether ``text`` parses as an http or https URL (appc's ``NewURL``)."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https")


def check_os_arch(os_name: str | None, arch: str | None) -> str | None:
    """Why an ``os``/``arch`` label pair is invalid, or ``None`` when it is fine."""
    if os_name is None:
        return None
    if os_name not in VALID_OS_ARCH:
        return f"bad os {show(os_name)} (must be one of: {', '.join(VALID_OS_ARCH)})"
    archs = VALID_OS_ARCH[os_name]
    if arch is not None and arch not in archs:
        return f"bad arch {show(arch)} for {os_name} (must be one of: {', '.join(archs)})"
    return None


def _check_labels(labels: list[Label]) -> list[Label]:
    seen: dict[str, int] = {}
    for index, label in enumerate(labels):
        if label.name == "name":
            raise invalid('"name" is not allowed as a label name', index, "name")
        if label.name in seen:
            raise invalid(f"duplicate label {show(label.name)}", index, "name")
        seen[label.name] = index
    values = {label.name: label.value for label in labels}
    problem = check_os_arch(values.get("os"), values.get("arch"))
    if problem is not None:
        bad = "arch" if values.get("os") in VALID_OS_ARCH else "os"
        raise invalid(problem, seen[bad], "value")
    return labels


_TYPED_ANNOTATIONS = {
    "created": (is_rfc3339, "is not an RFC 3339 timestamp"),
    "homepage": (is_http_url, "is not an http(s) URL"),
    "documentation": (is_http_url, "is not an http(s) URL"),
}


def _check_annotations(annotations: list[Annotation]) -> list[Annotation]:
    seen: set[str] = set()
    for index, annotation in enumerate(annotations):
        if annotation.name in seen:
            raise invalid(f"duplicate annotation {show(annotation.name)}", index, "name")
        seen.add(annotation.name)
        typed = _TYPED_ANNOTATIONS.get(annotation.name)
        if typed is not None and not typed[0](annotation.value):
            raise invalid(f"{show(annotation.value)} {typed[1]}", index, "value")
    return annotations


Labels = Annotated[list[Label], AfterValidator(_check_labels)]
Annotations = Annotated[list[Annotation], AfterValidator(_check_annotations)]


def find_value(items: Sequence[Label | Annotation], name: str) -> str | None:
    """The value of the label/annotation called ``name``, if any."""
    for item in items:
        if item.name == name:
            return item.value
    return None
