"""``acVersion``: Semantic Versioning 2.0.0, and the spec version carpool implements."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

from carpool.appc._model import invalid, show

#: The appc spec version carpool implements and writes (rkt's vendored appc).
APPC_SPEC_VERSION = "0.8.11"

_SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


@dataclass(frozen=True)
class SemVer:
    """A parsed SemVer 2.0.0 version."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> SemVer:
        match = _SEMVER_RE.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a semantic version")
        major, minor, patch, pre, build = match.groups()
        return cls(int(major), int(minor), int(patch), pre or "", build or "")

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += f"-{self.prerelease}"
        if self.build:
            text += f"+{self.build}"
        return text


SUPPORTED_MAJOR = SemVer.parse(APPC_SPEC_VERSION).major


def _check_ac_version(value: str) -> str:
    try:
        version = SemVer.parse(value)
    except ValueError:
        raise invalid(f"{show(value)} is not a semantic version") from None
    if (version.major, version.minor, version.patch) == (0, 0, 0) and not version.prerelease:
        raise invalid("0.0.0 is not a valid appc version")
    if version.major != SUPPORTED_MAJOR:
        raise invalid(
            f"{show(value)} is not in the supported appc series "
            f"{SUPPORTED_MAJOR}.x (carpool implements {APPC_SPEC_VERSION})"
        )
    return value


ACVersion = Annotated[str, AfterValidator(_check_ac_version)]
