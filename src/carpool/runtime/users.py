"""appc user and group: a name in the image's /etc/passwd or /etc/group, a number, or /path.

Resolution order follows appc: the image's own databases by name first, then a
number, then (for values starting with ``/``) the owner of that file in the image.
"""

from __future__ import annotations

import os
from pathlib import Path

from carpool.errors import RuntimeFailure
from carpool.runtime import rootpath


class Account:
    """One /etc/passwd entry.

    A plain class: no dataclasses on ``carpool run``'s path, and no forward reference
    compiled per field as a ``NamedTuple`` does with postponed annotations.
    """

    __slots__ = ("gid", "home", "name", "uid")

    def __init__(self, name: str, uid: int, gid: int, home: str) -> None:
        self.name = name
        self.uid = uid
        self.gid = gid
        self.home = home

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Account):
            return NotImplemented
        return (self.name, self.uid, self.gid, self.home) == (
            other.name,
            other.uid,
            other.gid,
            other.home,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.uid, self.gid, self.home))

    def __repr__(self) -> str:
        return f"Account({self.name!r}, {self.uid!r}, {self.gid!r}, {self.home!r})"


def _entries(root: Path, path: str) -> list[list[str]]:
    text = rootpath.read_text(root, path) or ""
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def passwd(root: Path) -> list[Account]:
    out = []
    for fields in _entries(root, "/etc/passwd"):
        if len(fields) >= 6 and fields[2].isdigit() and fields[3].isdigit():
            out.append(Account(fields[0], int(fields[2]), int(fields[3]), fields[5]))
    return out


def _owner(root: Path, value: str, app: str, what: str) -> os.stat_result:
    try:
        return rootpath.resolve(root, value).stat()
    except FileNotFoundError:
        raise RuntimeFailure(f"app {app}: {what} {value}: no such file in the image") from None


def resolve_user(root: Path, value: str, app: str) -> int:
    for account in passwd(root):
        if account.name == value:
            return account.uid
    if value.isdigit():
        return int(value)
    if value.startswith("/"):
        return _owner(root, value, app, "user").st_uid
    raise RuntimeFailure(f"app {app}: user {value!r} not found in the image's /etc/passwd")


def resolve_group(root: Path, value: str, app: str) -> int:
    for fields in _entries(root, "/etc/group"):
        if len(fields) >= 3 and fields[0] == value and fields[2].isdigit():
            return int(fields[2])
    if value.isdigit():
        return int(value)
    if value.startswith("/"):
        return _owner(root, value, app, "group").st_gid
    raise RuntimeFailure(f"app {app}: group {value!r} not found in the image's /etc/group")


def account_of(root: Path, uid: int) -> Account | None:
    for account in passwd(root):
        if account.uid == uid:
            return account
    return None
