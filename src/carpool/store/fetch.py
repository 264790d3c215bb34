"""``carpool fetch``: bring an image into the store from a file or an http(s) URL.

Trust follows rkt: a local file is trusted (the user chose it); an image downloaded
over the network must have its signature checked, and until carpool checks signatures
it is only accepted with ``--insecure-options=image``.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from carpool.errors import StoreError, UsageError
from carpool.progress import SILENT, Progress
from carpool.store.store import ImageRecord, Store

#: rkt's ``--insecure-options`` values.
INSECURE_OPTIONS = frozenset(
    {
        "none",
        "image",
        "tls",
        "http",
        "pubkey",
        "capabilities",
        "paths",
        "seccomp",
        "ondisk",
        "all-fetch",
        "all-run",
        "all",
    }
)
_IMPLIES = {
    "all-fetch": {"image", "tls", "http", "pubkey"},
    "all-run": {"capabilities", "paths", "seccomp"},
    "all": INSECURE_OPTIONS - {"none", "all", "all-fetch", "all-run"},
}

DOWNLOAD_TIMEOUT = 60.0


def parse_insecure_options(value: str | None) -> frozenset[str]:
    """``image,tls`` -> the set of security checks to skip (aliases expanded)."""
    if not value:
        return frozenset()
    options: set[str] = set()
    for item in value.split(","):
        item = item.strip()
        if item not in INSECURE_OPTIONS:
            allowed = ", ".join(sorted(INSECURE_OPTIONS))
            raise UsageError(f"--insecure-options: unknown value {item!r} (one of {allowed})")
        options.add(item)
        options.update(_IMPLIES.get(item, ()))
    options.discard("none")
    return frozenset(options)


def fetch(
    store: Store,
    location: str,
    *,
    insecure: frozenset[str] = frozenset(),
    progress: Progress = SILENT,
) -> ImageRecord:
    """Import the image at ``location``: a file path, ``file://`` or ``http(s)://`` URL."""
    parsed = urllib.parse.urlsplit(location)
    if parsed.scheme in ("http", "https"):
        if "image" not in insecure:
            raise UsageError(
                f"{location}: signature checking is not implemented yet; "
                "fetch remote images with --insecure-options=image"
            )
        return _fetch_url(store, location, progress)
    if parsed.scheme == "file":
        path = Path(urllib.parse.unquote(parsed.path))
    elif parsed.scheme and len(parsed.scheme) > 1:
        raise UsageError(
            f"{location}: unsupported transport {parsed.scheme}:// (file, http, https)"
        )
    else:
        path = Path(location)
    if not path.is_file():
        if not path.exists() and "/" in location and "." in location.split("/")[0]:
            raise StoreError(
                f"{location}: no such file (fetching by image name needs discovery, "
                "which carpool does not do yet)"
            )
        raise StoreError(f"{location}: no such file")
    return store.import_aci(path, progress=progress)


def _fetch_url(store: Store, url: str, progress: Progress) -> ImageRecord:
    progress.step(f"downloading {url}")
    with store.workspace("download-") as work:
        download = work / "image.aci"
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "carpool"})
            with (
                urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response,
                open(download, "wb") as out,
            ):
                length = response.headers.get("Content-Length")
                progress.total(int(length) if length and length.isdigit() else None)
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    progress.advance(len(chunk))
        except urllib.error.HTTPError as exc:
            raise StoreError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise StoreError(f"{url}: download failed: {reason}") from exc
        progress.step("importing")
        return store.import_downloaded(download, progress=progress)
