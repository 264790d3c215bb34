"""Property: any valid document reads back to what was written, and parse(to_json(m)) == m."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carpool.appc import VALID_OS_ARCH, ImageManifest, PodManifest, Quantity
from carpool.errors import ValidationError

AC_NAME = st.from_regex(r"\A[a-z0-9]{1,6}(-[a-z0-9]{1,4}){0,2}\Z")
AC_IDENTIFIER = st.from_regex(r"\A[a-z0-9]{1,6}([-._~/][a-z0-9]{1,4}){0,3}\Z")
ENV_NAME = st.from_regex(r"\A[A-Za-z_][A-Za-z_0-9.-]{0,8}\Z")
TEXT = st.text(max_size=12)
IMAGE_ID = st.from_regex(r"\Asha512-[0-9a-f]{2,128}\Z")
PATH = st.from_regex(r"\A(/[a-z0-9._-]{1,6}){1,3}/?\Z")
QUANTITY = st.one_of(
    st.integers(0, 10**12),
    st.builds(
        lambda number, suffix: f"{number}{suffix}",
        st.integers(0, 4096),
        st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "Ti"]),
    ),
)
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts where each key is present or absent."""
    return st.fixed_dictionaries({}, optional=fields)


def named_list(
    item: st.SearchStrategy[dict[str, Any]], max_size: int = 3
) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(item, max_size=max_size, unique_by=lambda entry: entry["name"])


def pair(name: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"name": name, "value": TEXT})


@st.composite
def labels(draw: st.DrawFn) -> list[dict[str, Any]]:
    items = draw(named_list(pair(AC_IDENTIFIER.filter(lambda n: n not in ("name", "os", "arch")))))
    if draw(st.booleans()):
        os_name = draw(st.sampled_from(sorted(VALID_OS_ARCH)))
        items.append({"name": "os", "value": os_name})
        if draw(st.booleans()):
            items.append({"name": "arch", "value": draw(st.sampled_from(VALID_OS_ARCH[os_name]))})
    return draw(st.permutations(items))


ANNOTATIONS = named_list(
    st.one_of(
        pair(AC_IDENTIFIER.filter(lambda n: n not in ("created", "homepage", "documentation"))),
        st.just({"name": "created", "value": "2018-04-12T09:31:05+02:00"}),
        st.just({"name": "homepage", "value": "https://example.com/x"}),
    )
)


@st.composite
def resource(draw: st.DrawFn) -> dict[str, Any]:
    limit = draw(QUANTITY)
    value: dict[str, Any] = {"limit": limit}
    if draw(st.booleans()):
        value["request"] = limit
    return value


ISOLATORS = named_list(
    st.one_of(
        st.fixed_dictionaries({"name": st.just("resource/memory"), "value": resource()}),
        st.fixed_dictionaries({"name": st.just("resource/cpu"), "value": resource()}),
        st.fixed_dictionaries(
            {
                "name": st.just("resource/network-bandwidth"),
                "value": st.fixed_dictionaries({"default": st.just(True), "limit": QUANTITY}),
            }
        ),
        st.fixed_dictionaries(
            {"name": st.just("os/linux/oom-score-adj"), "value": st.integers(-1000, 1000)}
        ),
        st.fixed_dictionaries(
            {"name": st.just("os/linux/no-new-privileges"), "value": st.booleans()}
        ),
        st.fixed_dictionaries(
            {
                "name": st.just("os/linux/capabilities-retain-set"),
                "value": st.fixed_dictionaries(
                    {"set": st.lists(st.from_regex(r"\ACAP_[A-Z_]{1,8}\Z"), min_size=1, max_size=3)}
                ),
            }
        ),
        st.fixed_dictionaries(
            {
                "name": AC_IDENTIFIER.map(lambda n: "x.example/" + n),
                "value": st.recursive(
                    st.none() | st.booleans() | st.integers() | TEXT,
                    lambda inner: (
                        st.lists(inner, max_size=2) | st.dictionaries(TEXT, inner, max_size=2)
                    ),
                    max_leaves=4,
                ),
            }
        ),
    )
)

PORTS = st.lists(
    st.integers(1, 65535).flatmap(
        lambda port: st.fixed_dictionaries(
            {"name": AC_NAME, "protocol": st.sampled_from(["tcp", "udp"]), "port": st.just(port)},
            optional={
                "count": st.integers(1, 65536 - port),
                "socketActivated": st.booleans(),
            },
        )
    ),
    max_size=3,
)

APP = st.fixed_dictionaries(
    {"user": TEXT.filter(bool), "group": TEXT.filter(bool)},
    optional={
        "exec": st.lists(TEXT, max_size=3) | st.none(),
        "eventHandlers": st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["pre-start", "post-stop"]),
                    "exec": st.lists(TEXT, min_size=1, max_size=2),
                }
            ),
            max_size=2,
            unique_by=lambda handler: handler["name"],
        ),
        "supplementaryGIDs": st.lists(st.integers(0, 2**32 - 1), max_size=3),
        "workingDirectory": PATH,
        "environment": named_list(pair(ENV_NAME)) | st.none(),
        "isolators": ISOLATORS,
        "mountPoints": st.lists(
            st.fixed_dictionaries(
                {"name": AC_NAME, "path": PATH}, optional={"readOnly": st.booleans()}
            ),
            max_size=2,
        ),
        "ports": PORTS,
        "userAnnotations": st.dictionaries(TEXT, TEXT, max_size=2),
        "userLabels": st.dictionaries(TEXT, TEXT, max_size=2),
    },
)

DEPENDENCIES = st.lists(
    st.fixed_dictionaries(
        {"imageName": AC_IDENTIFIER},
        optional={"imageID": IMAGE_ID, "labels": labels(), "size": st.integers(0, 2**40)},
    ),
    max_size=3,
)

IMAGE = st.fixed_dictionaries(
    {
        "acKind": st.just("ImageManifest"),
        "acVersion": st.sampled_from(["0.8.11", "0.5.0", "0.8.11+git", "0.9.0-rc.1"]),
        "name": AC_IDENTIFIER,
    },
    optional={
        "labels": labels(),
        "app": APP,
        "annotations": ANNOTATIONS,
        "dependencies": DEPENDENCIES | st.none(),
        "pathWhitelist": st.lists(PATH, max_size=3),
        "x-unknown": TEXT,
    },
)

VOLUME = st.one_of(
    st.fixed_dictionaries(
        {"name": AC_NAME, "kind": st.just("host"), "source": PATH},
        optional={"readOnly": st.booleans(), "recursive": st.booleans()},
    ),
    st.fixed_dictionaries(
        {"name": AC_NAME, "kind": st.just("empty")},
        optional={
            "readOnly": st.booleans(),
            "mode": st.sampled_from(["0755", "0700", "1777"]),
            "uid": st.integers(0, 65535),
            "gid": st.integers(0, 65535),
        },
    ),
)

RUNTIME_APP = st.fixed_dictionaries(
    {
        "name": AC_NAME,
        "image": st.fixed_dictionaries(
            {"id": IMAGE_ID}, optional={"name": AC_IDENTIFIER, "labels": labels()}
        ),
    },
    optional={
        "app": APP,
        "readOnlyRootFS": st.booleans(),
        "mounts": st.lists(
            st.fixed_dictionaries(
                {"volume": AC_NAME, "path": PATH}, optional={"appVolume": VOLUME}
            ),
            max_size=2,
        ),
        "annotations": ANNOTATIONS,
    },
)

POD = st.fixed_dictionaries(
    {
        "acVersion": st.just("0.8.11"),
        "acKind": st.just("PodManifest"),
        "apps": named_list(RUNTIME_APP),
    },
    optional={
        "volumes": named_list(VOLUME) | st.none(),
        "isolators": ISOLATORS | st.none(),
        "annotations": ANNOTATIONS | st.none(),
        "ports": named_list(
            st.fixed_dictionaries(
                {"name": AC_NAME, "hostPort": st.integers(1, 65535)},
                optional={"hostIP": st.sampled_from(["127.0.0.1", "10.1.2.3", "::1"])},
            )
        )
        | st.none(),
        "userAnnotations": st.dictionaries(TEXT, TEXT, max_size=2),
        "userLabels": st.dictionaries(TEXT, TEXT, max_size=2),
    },
)


@SETTINGS
@given(IMAGE)
def test_image_manifest_round_trip(doc: dict[str, Any]) -> None:
    manifest = ImageManifest.from_json(doc)
    assert manifest.to_dict() == doc
    again = ImageManifest.from_json(manifest.to_json())
    assert again == manifest
    assert again.to_json() == manifest.to_json()


@SETTINGS
@given(POD)
def test_pod_manifest_round_trip(doc: dict[str, Any]) -> None:
    manifest = PodManifest.from_json(doc)
    assert manifest.to_dict() == doc
    again = PodManifest.from_json(manifest.to_json())
    assert again == manifest
    assert again.to_json() == manifest.to_json()


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2**50),
    st.sampled_from([("Ki", 2**10), ("Mi", 2**20), ("k", 10**3), ("G", 10**9)]),
)
def test_quantity_suffixes_scale(number: int, suffix: tuple[str, int]) -> None:
    text, factor = suffix
    quantity = Quantity(f"{number}{text}")
    assert quantity == Quantity(str(number * factor))
    assert quantity.value == number * factor
    assert quantity.milli_value == number * factor * 1000


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location inside a JSON document, the root excepted."""
    found: list[tuple[Any, ...]] = []
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, child in children:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


@st.composite
def damaged(draw: st.DrawFn, documents: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A valid document with one value somewhere replaced by arbitrary JSON."""
    doc = copy.deepcopy(draw(documents))  # st.just() values are shared between examples
    where = draw(st.sampled_from(paths(doc)))
    parent: Any = doc
    for key in where[:-1]:
        parent = parent[key]
    parent[where[-1]] = draw(JSON_VALUE)
    return doc


def check_damaged(cls: type[ImageManifest] | type[PodManifest], doc: dict[str, Any]) -> None:
    try:
        manifest = cls.from_json(json.dumps(doc), source="fuzz")
    except ValidationError as exc:
        assert exc.message.startswith("fuzz: ") and "\n" not in exc.message
        return
    assert cls.from_json(manifest.to_json()) == manifest


@SETTINGS
@given(damaged(IMAGE))
def test_damaged_image_manifests_fail_cleanly(doc: dict[str, Any]) -> None:
    check_damaged(ImageManifest, doc)


@SETTINGS
@given(damaged(POD))
def test_damaged_pod_manifests_fail_cleanly(doc: dict[str, Any]) -> None:
    check_damaged(PodManifest, doc)
