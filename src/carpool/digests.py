"""SHA-256 and SHA-512 for start-up paths, without importing :mod:`hashlib`.

``carpool run`` hashes a few hundred bytes to resolve a rendered tree (the tree key,
the tree's fingerprint), ``carpool templater`` its cache entries; importing
:mod:`hashlib` initialises OpenSSL, which costs more than everything else the store
does on that path (~4-8 ms on a slow host).  CPython's own
SHA-2 modules (``_sha2`` since 3.12, ``_sha256``/``_sha512`` before) give the same
digests and load in a fraction of a millisecond; :mod:`hashlib` is the fallback for an
interpreter built without them.  Bulk hashing (image IDs, verify) keeps using
:mod:`hashlib`, whose OpenSSL code is faster on large inputs.
"""

from __future__ import annotations

__all__ = ["sha256", "sha512"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    class Digest(Protocol):
        def update(self, data: bytes, /) -> None: ...
        def hexdigest(self) -> str: ...


sha256: Callable[..., Digest]
sha512: Callable[..., Digest]
try:  # CPython 3.12+
    from _sha2 import sha256, sha512  # type: ignore[import-not-found,no-redef,unused-ignore]
except ImportError:
    try:  # CPython 3.11
        from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
        from _sha512 import sha512  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        from hashlib import sha256, sha512  # type: ignore[assignment,unused-ignore]
