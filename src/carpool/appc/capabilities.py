"""Capability sets the appc spec defines, kept free of pydantic for the runtime's start-up."""

from __future__ import annotations

#: The bounding set an app gets without a capabilities isolator (appc ace.md, rkt).
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_AUDIT_WRITE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_KILL",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETFCAP",
    "CAP_SYS_CHROOT",
)
