"""How image references resolve: names with labels, newest import, ID prefixes."""

from __future__ import annotations

import pytest

from carpool.errors import AmbiguousImageError, ImageNotFoundError, UsageError
from carpool.store import Store
from tests.store.conftest import ImportFn


def test_name_with_version_shorthand_and_labels(add: ImportFn, store: Store) -> None:
    v1 = add("example.com/app", {"v": "1"}, labels={"version": "1.0", "os": "linux"})
    v2 = add("example.com/app", {"v": "2"}, labels={"version": "2.0", "os": "linux"})
    assert store.resolve("example.com/app:1.0").id == v1.id
    assert store.resolve("example.com/app,version=2.0").id == v2.id
    assert store.resolve("example.com/app:1.0,os=linux").id == v1.id
    with pytest.raises(ImageNotFoundError, match=r"example.com/app,version=1.0,os=freebsd"):
        store.resolve("example.com/app:1.0,os=freebsd")
    with pytest.raises(ImageNotFoundError, match=r"example\.com/other"):
        store.resolve("example.com/other")


def test_without_version_the_newest_import_wins(add: ImportFn, store: Store) -> None:
    add("example.com/app", {"v": "2"}, labels={"version": "2.0"})
    newest = add("example.com/app", {"v": "1"}, labels={"version": "1.0"})
    assert store.resolve("example.com/app").id == newest.id
    assert store.resolve("example.com/app").version == "1.0"


def test_id_prefixes_full_rkt_key_and_case(add: ImportFn, store: Store) -> None:
    record = add("example.com/app")
    assert len(record.id) == len("sha512-") + 128
    for ref in (record.id, record.id[:71], record.id[:9], record.id.upper().replace("SHA", "sha")):
        assert store.resolve(ref).id == record.id
    with pytest.raises(UsageError, match="too short"):
        store.resolve(record.id[:8])
    with pytest.raises(UsageError, match="hex"):
        store.resolve("sha512-zz")
    other = "0" if record.id[7] != "0" else "1"
    with pytest.raises(ImageNotFoundError):
        store.resolve("sha512-" + other * 10)


def test_ambiguous_prefix_is_an_error(add: ImportFn, store: Store) -> None:
    seen: dict[str, str] = {}
    for i in range(200):  # deterministic content: the same pair collides on every run
        image_id = add("example.com/app", {"n": str(i)}).id
        prefix = image_id[:9]
        if prefix in seen:
            break
        seen[prefix] = image_id
    else:
        pytest.fail("no two image IDs shared 2 hex digits")
    with pytest.raises(AmbiguousImageError, match="ambiguous"):
        store.resolve(prefix)
    assert store.resolve(image_id[:40]).id == image_id


@pytest.mark.parametrize(
    "ref", ["example.com/app:", "example.com/app,version", "example.com/app,name=x", ":1.0"]
)
def test_malformed_references(store: Store, ref: str) -> None:
    with pytest.raises(UsageError):
        store.resolve(ref)
