"""Name syntax of the App Container spec (``spec/types.md``) and the sanitisers rkt uses.

* **AC Identifier** - image names, label and annotation names, isolator names:
  lowercase URI-unreserved characters plus ``/``, alphanumeric at both ends.
* **AC Name** - app, volume, mount point and port names: DNS-label-like, ``-`` only.
* **Environment variable names** - POSIX plus ``.`` and ``-``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from carpool.appc._model import invalid, show

AC_IDENTIFIER_RE = re.compile(r"^[a-z0-9]+(?:[-._~/][a-z0-9]+)*$")
AC_NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
AC_KIND_RE = re.compile(r"^[A-Za-z0-9]+$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z_0-9.-]*$")

_NOT_AC_NAME_CHARS = re.compile(r"[^a-z0-9-]+")
_DASH_RUNS = re.compile(r"-{2,}")


def is_ac_identifier(value: str) -> bool:
    """Whether ``value`` is a valid AC Identifier (e.g. ``example.com/reduce-worker``)."""
    return AC_IDENTIFIER_RE.fullmatch(value) is not None


def is_ac_name(value: str) -> bool:
    """Whether ``value`` is a valid AC Name (e.g. ``reduce-worker``)."""
    return AC_NAME_RE.fullmatch(value) is not None


def is_env_name(value: str) -> bool:
    """Whether ``value`` may name an environment variable of an app."""
    return ENV_NAME_RE.fullmatch(value) is not None


def sanitize_ac_name(value: str) -> str:
    """Turn any string into an AC Name: lowercase, invalid runs -> ``-``, edges trimmed.

    Like appc's ``SanitizeACName`` except that runs of dashes collapse into one, so the
    result is always a valid AC Name (Go can return ``a--b``, which its own regexp
    rejects).  Raises ``ValueError`` when nothing valid is left.
    """
    name = _NOT_AC_NAME_CHARS.sub("-", value.lower())
    name = _DASH_RUNS.sub("-", name).strip("-")
    if not name:
        raise ValueError(f"{value!r} has no character valid in an AC Name")
    return name


def app_name_from_image_name(image_name: str) -> str:
    """rkt's default app name: the sanitised last path part (``coreos.com/etcd`` -> ``etcd``)."""
    return sanitize_ac_name(image_name.rstrip("/").rsplit("/", 1)[-1])


def _check_ac_identifier(value: str) -> str:
    if not is_ac_identifier(value):
        raise invalid(
            f"{show(value)} is not an AC Identifier (lowercase letters, digits and -._~/"
            ", alphanumeric at both ends)"
        )
    return value


def _check_ac_name(value: str) -> str:
    if not is_ac_name(value):
        raise invalid(
            f"{show(value)} is not an AC Name (lowercase letters, digits and single dashes)"
        )
    return value


def _check_env_name(value: str) -> str:
    if not is_env_name(value):
        raise invalid(f"{show(value)} is not a valid environment variable name")
    return value


def _check_absolute_path(value: str) -> str:
    if not value.startswith("/"):
        raise invalid(f"{show(value)} is not an absolute path")
    return value


def _check_non_empty(value: str) -> str:
    if not value:
        raise invalid("must not be empty")
    return value


ACIdentifier = Annotated[str, AfterValidator(_check_ac_identifier)]
ACName = Annotated[str, AfterValidator(_check_ac_name)]
EnvName = Annotated[str, AfterValidator(_check_env_name)]
AbsolutePath = Annotated[str, AfterValidator(_check_absolute_path)]
NonEmptyStr = Annotated[str, AfterValidator(_check_non_empty)]
