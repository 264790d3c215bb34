"""``carpool sign``: a detached armored gpg signature next to the image (dgr's ``sign``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from carpool.errors import BuildError


def sign_image(aci: Path, *, keyring: Path | None = None, key_id: str | None = None) -> Path:
    """``gpg --armor --detach-sig`` → ``image.aci.asc``; returns its path."""
    if not aci.is_file():
        raise BuildError(f"{aci}: not built (run carpool build)")
    signature = aci.with_name(aci.name + ".asc")
    argv = ["gpg", "--batch", "--yes", "--armor", "--output", str(signature)]
    if keyring is not None:
        argv += ["--no-default-keyring", "--keyring", str(keyring.resolve())]
    if key_id:
        argv += ["--local-user", key_id]
    argv += ["--detach-sig", str(aci)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    except OSError as exc:
        raise BuildError(f"gpg: cannot run: {exc.strerror} (install gnupg)") from None
    if proc.returncode != 0:
        signature.unlink(missing_ok=True)
        detail = proc.stderr.strip().splitlines()
        raise BuildError(f"gpg could not sign {aci}: {detail[-1] if detail else proc.returncode}")
    return signature
