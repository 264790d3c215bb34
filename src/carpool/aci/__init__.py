"""ACI archives: safe reading, deterministic writing, image IDs, compression.

* :func:`extract_image` -- unpack an archive into ``dest/manifest`` + ``dest/rootfs``,
  refusing anything hostile, with the image ID computed in the same pass;
* :func:`inspect_image` -- the same checks without writing (optionally copying the
  uncompressed tar elsewhere), :func:`read_manifest` and :func:`image_id_of`;
* :func:`write_aci` -- a byte-for-byte reproducible archive of a tree.

The package keeps no state: every call is given what it reads and where it writes.
"""

from carpool.aci.compression import Compression, sniff
from carpool.aci.extract import ExtractResult, extract_image
from carpool.aci.scan import ImageInfo, image_id_of, inspect_image, read_manifest
from carpool.aci.writer import write_aci

__all__ = [
    "Compression",
    "ExtractResult",
    "ImageInfo",
    "extract_image",
    "image_id_of",
    "inspect_image",
    "read_manifest",
    "sniff",
    "write_aci",
]
