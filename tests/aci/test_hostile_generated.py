"""Generated hostile archives: whatever mix of ``..``, absolute names, symlinks pointing out
(and files written through them), hardlinks and duplicates, nothing ever appears outside the
destination, and a refused archive leaves no destination at all."""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from carpool.aci import extract_image, inspect_image
from carpool.errors import ArchiveError
from tests.aci.archives import E, describe, listing, manifest, write_archive

ARENA = "@ARENA@"

# mostly harmless pieces, so that hostile ones meet extracted symlinks and directories
_components = st.sampled_from(["a", "b", "link", "a", "b", "link", "x", "..", "."])
_prefixes = st.sampled_from(
    [
        "rootfs/",
        "rootfs/",
        "rootfs/",
        "./rootfs/",
        "",
        "/",
        f"{ARENA}/outside/",
        "../",
        "rootfs/../",
    ]
)
_hostile_names = st.builds(
    lambda prefix, parts: prefix + "/".join(parts),
    _prefixes,
    st.lists(_components, min_size=0, max_size=4),
)
_benign_names = st.builds(
    lambda parts: "rootfs/" + "/".join(parts),
    st.lists(st.sampled_from(["a", "b", "link", "x"]), min_size=1, max_size=3),
)
_names = st.one_of(_benign_names, _hostile_names)
_symlink_targets = st.sampled_from(
    [
        f"{ARENA}/outside",
        f"{ARENA}/parent/sentinel",
        "/",
        "..",
        "../..",
        "../../../outside",
        "a",
        ".",
    ]
)
_hardlink_targets = st.one_of(
    _benign_names,
    _hostile_names,
    st.sampled_from([f"{ARENA}/parent/sentinel/secret", "rootfs/../parent/sentinel/secret"]),
)


@st.composite
def _entries(draw: st.DrawFn) -> list[E]:
    entries = []
    # half the archives have only names inside rootfs/, so that the symlinks, hardlinks and
    # duplicates among them decide; the other half mix in names aimed outside
    names = _names if draw(st.booleans()) else _benign_names
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        kind = draw(st.sampled_from(["file", "dir", "symlink", "hardlink"]))
        name = draw(names)
        if kind == "file":
            entries.append(E(name, data=draw(st.binary(max_size=40))))
        elif kind == "dir":
            entries.append(E(name, tarfile.DIRTYPE, mode=0o755))
        elif kind == "symlink":
            entries.append(E(name, tarfile.SYMTYPE, linkname=draw(_symlink_targets)))
        else:
            entries.append(E(name, tarfile.LNKTYPE, linkname=draw(_hardlink_targets)))
    if draw(st.integers(0, 4)):
        entries.insert(draw(st.integers(0, len(entries))), manifest())
    return entries


def _state(root: Path) -> dict[str, tuple[object, ...]]:
    state = describe(root)
    kind, mode, uid, gid, _mtime, *rest = state["parent"]
    state["parent"] = (kind, mode, uid, gid, *rest)
    return state


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_entries())
def test_nothing_escapes_the_destination(entries: list[E]) -> None:
    with tempfile.TemporaryDirectory(prefix="carpool-aci-") as tmp:
        arena = Path(tmp)
        (arena / "parent" / "sentinel").mkdir(parents=True)
        (arena / "parent" / "sentinel" / "secret").write_bytes(b"secret")
        (arena / "outside").mkdir()
        for entry in entries:
            entry.name = entry.name.replace(ARENA, tmp)
            entry.linkname = entry.linkname.replace(ARENA, tmp)
        archive = write_archive(arena / "image.aci", entries)
        dest = arena / "parent" / "dest"
        before = _state(arena)

        try:
            extract_image(archive, dest)
            extracted = True
        except ArchiveError:
            extracted = False
        try:
            inspect_image(archive)
            inspected = True
        except ArchiveError:
            inspected = False

        event("extracted" if extracted else "refused")
        after = _state(arena)
        outside_dest = {k: v for k, v in after.items() if not k.startswith("parent/dest")}
        assert outside_dest == {k: v for k, v in before.items() if k != "parent/dest"}
        assert extracted == inspected, "inspection and extraction judge archives alike"
        if extracted:
            assert sorted(p.name for p in dest.iterdir()) == ["manifest", "rootfs"]
            assert listing(arena / "parent") - {"dest"} == {
                "sentinel",
                "sentinel/secret",
            } | {f"dest/{p}" for p in listing(dest)}
        else:
            assert not dest.exists() and not dest.is_symlink()
            assert listing(arena / "parent") == {"sentinel", "sentinel/secret"}
