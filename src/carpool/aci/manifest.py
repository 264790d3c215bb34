"""Reading the ``manifest`` entry of an archive, the one place aci/ depends on appc/."""

from __future__ import annotations

from carpool.appc import ImageManifest
from carpool.errors import ArchiveError, ValidationError

#: Largest manifest accepted; it is held in memory (rkt manifests are a few KiB).
MAX_MANIFEST_SIZE = 16 << 20


def parse_manifest(data: bytes, source: str) -> ImageManifest:
    """The validated image manifest; an invalid one makes the archive invalid."""
    try:
        return ImageManifest.from_json(data, source=f"{source}: manifest")
    except ValidationError as e:
        raise ArchiveError(f"invalid image manifest: {e.message}") from e
