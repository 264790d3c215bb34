"""Image IDs: syntax, the forms rkt prints and stores, user prefixes."""

from __future__ import annotations

import hashlib

import pytest

from carpool.appc import ImageID, ImageManifest, image_id_prefix, is_image_id_prefix

from .documents import image, image_error

DIGEST = hashlib.sha512(b"some image tar").hexdigest()
FULL = "sha512-" + DIGEST


def test_full_id_and_its_shorter_forms() -> None:
    image_id = ImageID(FULL)
    assert image_id == FULL  # it is a str
    assert image_id.algorithm == "sha512"
    assert image_id.digest == DIGEST
    assert image_id.is_full
    assert image_id.key == FULL[:71] and len(image_id.key) == 71
    assert image_id.short == FULL[:39]
    assert image_id.display == FULL[:19]


def test_from_hexdigest() -> None:
    assert ImageID.from_hexdigest(DIGEST.upper()) == FULL
    with pytest.raises(ValueError, match="128 digits"):
        ImageID.from_hexdigest(DIGEST[:64])


def test_rkt_store_key_is_a_valid_id() -> None:
    key = ImageID(FULL[:71])
    assert not key.is_full
    assert key.key == key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha512-",
        "sha512",
        "sha256-" + "a" * 64,
        "SHA512-abcd",
        "sha512-ABCD",
        "sha512-xyz",
        "sha512-" + "a" * 129,
        "sha512-ab-cd",
    ],
)
def test_invalid_ids(text: str) -> None:
    with pytest.raises(ValueError, match="is not an image ID"):
        ImageID(text)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("sha512-ab", True),
        ("sha512-a", False),
        ("sha512-", False),
        (FULL, True),
        (FULL + "0", False),
        ("sha512-AB", False),
        ("ab" * 10, False),
    ],
)
def test_prefix_validity(text: str, valid: bool) -> None:
    assert is_image_id_prefix(text) is valid


def test_prefix_is_cut_to_rkt_key_length() -> None:
    assert image_id_prefix(FULL) == FULL[:71]
    assert image_id_prefix("sha512-abc") == "sha512-abc"
    with pytest.raises(ValueError, match="not an image ID prefix"):
        image_id_prefix("sha512-a")


def test_matches_prefixes_and_keys() -> None:
    full = ImageID(FULL)
    assert full.matches(FULL[:9])
    assert full.matches(FULL[:71])
    assert full.matches(FULL)
    assert ImageID(FULL[:71]).matches(FULL)
    assert not full.matches("sha512-" + ("0" if DIGEST[0] != "0" else "1") * 4)


def test_dependency_image_id_in_a_manifest() -> None:
    manifest = ImageManifest.from_json(
        image(dependencies=[{"imageName": "example.com/base", "imageID": FULL}])
    )
    image_id = manifest.dependencies[0].image_id
    assert isinstance(image_id, ImageID) and image_id == FULL


def test_bad_dependency_image_id_names_the_field() -> None:
    doc = image(dependencies=[{"imageName": "example.com/base", "imageID": "sha256-abcd"}])
    assert image_error(doc) == (
        'manifest: dependencies[0].imageID: "sha256-abcd" is not an image ID '
        "(expected sha512- and lowercase hex digits)"
    )
    doc = image(dependencies=[{"imageName": "example.com/base", "imageID": 12}])
    assert image_error(doc) == (
        "manifest: dependencies[0].imageID: expected an image ID string, got 12"
    )
