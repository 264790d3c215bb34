"""The one exception hierarchy of carpool.

Every error carpool detects itself is a :class:`CarpoolError` whose message is
meant for the user: the CLI prints it as a single ``error: …`` line and exits
with :attr:`CarpoolError.exit_code`.  Anything else escaping the library is a
bug and shows a traceback (always with ``--debug``).

Packages define their own children next to the code that raises them, but the
broad families live here so that callers can catch them without importing the
package that raises them.
"""

from __future__ import annotations


class CarpoolError(Exception):
    """An error with a user-facing, one-line message."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(CarpoolError):
    """A flag or argument the user gave cannot be used."""

    exit_code = 2


class ValidationError(CarpoolError):
    """A manifest, configuration or other document breaks its schema.

    The message starts with the path of the offending field, e.g.
    ``app.ports[0].port: 70000 is not a port``.
    """


class ArchiveError(CarpoolError):
    """An image archive is unreadable, corrupt or hostile."""


class StoreError(CarpoolError):
    """The image store cannot do what was asked."""


class ImageNotFoundError(StoreError):
    """No image in the store matches a reference."""


class AmbiguousImageError(StoreError):
    """An image ID prefix matches more than one image."""


class TemplateError(CarpoolError):
    """A template failed to parse or execute (Go-style ``template: NAME:LINE:COL: …``)."""


class AttributesError(CarpoolError):
    """Attribute files or overrides cannot be read or merged."""


class RuntimeFailure(CarpoolError):
    """carpool itself failed to run a pod (rkt's convention: exit status 254)."""

    exit_code = 254


class NetworkError(RuntimeFailure):
    """Setting up or tearing down pod networking failed."""


class BuildError(CarpoolError):
    """A dgr project could not be built or tested."""


class DiscoveryError(CarpoolError):
    """nerve or synapse cannot start or keep going."""


class DeployError(CarpoolError):
    """An environment could not be rendered or rolled out."""
