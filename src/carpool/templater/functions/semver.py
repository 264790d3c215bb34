"""sprig's ``semver`` and ``semverCompare`` (Masterminds/semver v1 semantics)."""

from __future__ import annotations

import functools
import re

from carpool.templater.gotypes import GoError, Int64, go_signature


@functools.cache
def _version_re() -> re.Pattern[str]:
    """Compiled on first use: module-level compiles cost start-up time."""
    return re.compile(
        r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?"
        r"(?:-([0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?"
        r"(?:\+([0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?$"
    )


class Version:
    """A ``*semver.Version``: methods ``Major``, ``Minor``, ``Patch``, ``Prerelease``…"""

    __slots__ = ("major", "metadata", "minor", "original", "patch", "pre")
    go_type = "*semver.Version"

    def __init__(self, text: str) -> None:
        m = _version_re().match(text)
        if m is None:
            raise GoError("Invalid Semantic Version")
        self.original = text
        self.major = int(m.group(1))
        self.minor = int(m.group(2)[1:]) if m.group(2) else 0
        self.patch = int(m.group(3)[1:]) if m.group(3) else 0
        self.pre = m.group(4) or ""
        self.metadata = m.group(5) or ""

    def go_string(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + self.pre
        if self.metadata:
            text += "+" + self.metadata
        return text

    # Go methods, reachable from templates as ``(semver "1.2.3").Major``
    @go_signature(result="int64", returns_error=False)
    def Major(self) -> int:
        return Int64(self.major)

    @go_signature(result="int64", returns_error=False)
    def Minor(self) -> int:
        return Int64(self.minor)

    @go_signature(result="int64", returns_error=False)
    def Patch(self) -> int:
        return Int64(self.patch)

    @go_signature(result="string", returns_error=False)
    def Prerelease(self) -> str:
        return self.pre

    @go_signature(result="string", returns_error=False)
    def Metadata(self) -> str:
        return self.metadata

    @go_signature(result="string", returns_error=False)
    def Original(self) -> str:
        return self.original

    @go_signature(result="string", returns_error=False)
    def String(self) -> str:
        return self.go_string()

    def compare(self, other: Version) -> int:
        a = (self.major, self.minor, self.patch)
        b = (other.major, other.minor, other.patch)
        if a != b:
            return -1 if a < b else 1
        return _compare_pre(self.pre, other.pre)


def _compare_pre(a: str, b: str) -> int:
    if a == b:
        return 0
    if not a:
        return 1
    if not b:
        return -1
    pa, pb = a.split("."), b.split(".")
    for x, y in zip(pa, pb, strict=False):
        if x == y:
            continue
        xd, yd = x.isdigit(), y.isdigit()
        if xd and yd:
            return -1 if int(x) < int(y) else 1
        if xd != yd:
            return -1 if xd else 1
        return -1 if x < y else 1
    return (len(pa) > len(pb)) - (len(pa) < len(pb))


@functools.cache
def _constraint_re() -> re.Pattern[str]:
    """Compiled on first use: module-level compiles cost start-up time."""
    return re.compile(
        r"^\s*(=|!=|>=|=>|<=|=<|>|<|~>|~|\^)?\s*"
        r"v?([0-9]+|[xX*])(\.(?:[0-9]+|[xX*]))?(\.(?:[0-9]+|[xX*]))?"
        r"(?:-([0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?"
        r"(?:\+([0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?\s*$"
    )


@functools.cache
def _hyphen_re() -> re.Pattern[str]:
    """Compiled on first use: module-level compiles cost start-up time."""
    return re.compile(r"^\s*(\S+)\s+-\s+(\S+)\s*$")


class _Constraint:
    def __init__(self, text: str) -> None:
        m = _constraint_re().match(text)
        if m is None:
            raise GoError(f"improper constraint: {text}")
        self.op = {"=>": ">=", "=<": "<=", "~>": "~"}.get(m.group(1) or "=", m.group(1) or "=")
        parts = [m.group(2), (m.group(3) or "")[1:], (m.group(4) or "")[1:]]
        wild = [p in ("x", "X", "*") for p in parts]
        self.major_dirty = wild[0]
        self.minor_dirty = wild[0] or wild[1] or not parts[1]
        self.patch_dirty = self.minor_dirty or wild[2] or not parts[2]
        nums = [0 if (w or not p) else int(p) for p, w in zip(parts, wild, strict=True)]
        version = f"{nums[0]}.{nums[1]}.{nums[2]}"
        if m.group(5):
            version += "-" + m.group(5)
        self.con = Version(version)
        self.dirty = self.minor_dirty or self.patch_dirty
        self.explicit_minor = bool(parts[1]) and not wild[1]

    def check(self, v: Version) -> bool:
        c = self.con
        if v.pre and not c.pre:
            return False
        op = self.op
        if op == "=":
            if self.major_dirty:
                return True
            if self.minor_dirty:
                return v.major == c.major
            if self.patch_dirty:
                return v.major == c.major and v.minor == c.minor
            return v.compare(c) == 0
        if op == "!=":
            if self.major_dirty:
                return False
            if self.minor_dirty:
                return v.major != c.major
            if self.patch_dirty:
                return not (v.major == c.major and v.minor == c.minor)
            return v.compare(c) != 0
        if op == ">":
            if self.major_dirty:
                return False
            if self.minor_dirty:
                return v.major > c.major
            if self.patch_dirty:
                return v.major > c.major or (v.major == c.major and v.minor > c.minor)
            return v.compare(c) > 0
        if op == "<":
            return v.compare(c) < 0
        if op == ">=":
            return v.compare(c) >= 0
        if op == "<=":
            if self.major_dirty:
                return True
            if self.minor_dirty:
                return v.major <= c.major
            if self.patch_dirty:
                return v.major < c.major or (v.major == c.major and v.minor <= c.minor)
            return v.compare(c) <= 0
        if op == "~":
            if v.compare(c) < 0:
                return False
            if c.major == 0 and c.minor == 0 and c.patch == 0 and not self.explicit_minor:
                return True
            if v.major != c.major:
                return False
            return not (v.minor != c.minor and self.explicit_minor)
        # caret
        if v.compare(c) < 0:
            return False
        if c.major > 0 or self.minor_dirty:
            return v.major == c.major
        if v.major > 0:
            return False
        if c.minor > 0 or self.patch_dirty:
            return v.minor == c.minor
        return v.patch == c.patch


def _parse_constraints(text: str) -> list[list[_Constraint]]:
    groups: list[list[_Constraint]] = []
    for alternative in text.split("||"):
        group: list[_Constraint] = []
        for piece in alternative.split(","):
            hyphen = _hyphen_re().match(piece)
            if hyphen:
                group.append(_Constraint(">= " + hyphen.group(1)))
                group.append(_Constraint("<= " + hyphen.group(2)))
            else:
                group.append(_Constraint(piece))
        groups.append(group)
    return groups


@go_signature("string", result="*semver.Version")
def semver(version: str) -> Version:
    return Version(version)


@go_signature("string", "string", result="bool")
def semver_compare(constraint: str, version: str) -> bool:
    groups = _parse_constraints(constraint)
    v = Version(version)
    return any(all(c.check(v) for c in group) for group in groups)
