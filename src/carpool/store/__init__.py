"""The content-addressed image store (``carpool fetch``, ``carpool image …``).

Images are keyed by their full image ID (``sha512-`` + 128 hex digits).  The store
keeps each archive exactly as fetched, the image's own files extracted, an index of
names and labels, and a cache of rendered trees (an image with all its dependencies)
that the runtime uses as read-only lower dirs.  See :mod:`carpool.store.layout`.
"""

from __future__ import annotations

from carpool.store.store import (
    GcReport,
    ImageRecord,
    MissingDependencyError,
    Store,
    VerifyReport,
)

__all__ = ["GcReport", "ImageRecord", "MissingDependencyError", "Store", "VerifyReport"]
