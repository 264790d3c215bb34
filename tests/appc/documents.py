"""Small builders of appc JSON documents for the tests, and a helper to see their errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from carpool.appc import ImageManifest, PodManifest
from carpool.errors import ValidationError

FIXTURES = Path(__file__).parent / "fixtures"
SOME_ID = "sha512-" + "ab" * 64


def image(**fields: Any) -> dict[str, Any]:
    """A minimal valid image manifest, with ``fields`` (JSON names) added or replaced."""
    doc: dict[str, Any] = {
        "acKind": "ImageManifest",
        "acVersion": "0.8.11",
        "name": "example.com/app",
    }
    doc.update(fields)
    return doc


def app(**fields: Any) -> dict[str, Any]:
    """A minimal valid ``app`` object."""
    doc: dict[str, Any] = {"exec": ["/bin/app"], "user": "0", "group": "0"}
    doc.update(fields)
    return doc


def image_with_app(**app_fields: Any) -> dict[str, Any]:
    return image(app=app(**app_fields))


def runtime_app(name: str = "web", **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": name, "image": {"id": SOME_ID}}
    doc.update(fields)
    return doc


def pod(**fields: Any) -> dict[str, Any]:
    """A minimal valid pod manifest (one app), with ``fields`` added or replaced."""
    doc: dict[str, Any] = {
        "acVersion": "0.8.11",
        "acKind": "PodManifest",
        "apps": [runtime_app()],
    }
    doc.update(fields)
    return doc


def image_error(doc: dict[str, Any], source: str = "manifest") -> str:
    """The one-line error an invalid image manifest gives (fails if it is accepted)."""
    with pytest.raises(ValidationError) as info:
        ImageManifest.from_json(json.dumps(doc), source=source)
    message = str(info.value)
    assert "\n" not in message
    return message


def pod_error(doc: dict[str, Any], source: str = "pod") -> str:
    with pytest.raises(ValidationError) as info:
        PodManifest.from_json(json.dumps(doc), source=source)
    message = str(info.value)
    assert "\n" not in message
    return message
