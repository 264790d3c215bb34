"""The templater's persistent cache (``cache_dir=``): hits, misses, damage, bounds.

A second run of an unchanged dir must neither parse a template nor import ``yaml``
(checked in a fresh process); any changed input must miss; a damaged or unusable cache
must only cost the parse.  Outputs are always compared with a run without the cache.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from carpool.templater import cache, render_dir, resolve_attributes, run_templater
from carpool.templater.cache import MAGIC, compute_version, prune

RUN = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from carpool.templater import run_templater
    report = run_templater(
        Path(sys.argv[1]), Path(sys.argv[2]), cache_dir=Path(sys.argv[3]),
        exact_numbers=sys.argv[4] == "exact",
    )
    print(json.dumps({
        "rendered": len(report.rendered),
        "yaml": "yaml" in sys.modules,
        "parser": "carpool.templater.engine.parser" in sys.modules,
        "lexer": "carpool.templater.engine.lexer" in sys.modules,
    }))
    """
)


def run_fresh(project: Path, out: Path, cache_dir: Path, *, exact: bool = False) -> dict[str, Any]:
    """One templater run in a new process: what it rendered and imported."""
    proc = subprocess.run(
        [sys.executable, "-c", RUN, str(project), str(out), str(cache_dir), str(exact and "exact")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def make_project(root: Path) -> Path:
    files = {
        "attributes/base/00-defaults.yml": (
            "default:\n  port: 1000000\n  name: web\n  zeta: 1\n  alpha: 2\n"
            "  label: '{{.name}}-{{.port}}'\n  count: '{{len .hosts}}'\n"
            "  hosts: [a.example, b.example]\n"
        ),
        "attributes/zz.yml": "override:\n  name: api\n",
        "templates/header.partial": '{{define "header"}}# {{.}} generated{{end}}\n',
        "templates/etc/app.conf.tmpl": (
            '{{template "header" "app"}}\nport {{.port}}\nlabel {{.label}} count {{.count}}\n'
            "{{range .hosts}}host {{.}}\n{{end -}}\n{{ upper .name }}"
        ),
        "templates/etc/app.conf.tmpl.cfg": "mode: 0640\n",
        "templates/etc/keys.tmpl": "{{range $k, $v := .}}{{$k}} {{end}}",
        "templates/opt/run.tmpl.sh": "#!/bin/sh\nexec {{.name}} --port {{.port}}\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def tree_of(root: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_text(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def reference(project: Path, tmp_path: Path, *, exact: bool = False) -> dict[str, tuple[str, int]]:
    """The rendering without any persistent cache."""
    out = tmp_path / f"reference-{exact}"
    shutil.rmtree(out, ignore_errors=True)
    run_templater(project, out, exact_numbers=exact)
    return tree_of(out)


def bundles(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("*.cache"))


def test_second_run_parses_nothing_and_never_imports_yaml(tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    cache_dir = tmp_path / "data" / "cache" / "templater"
    expected = reference(project, tmp_path)
    assert expected["etc/app.conf"] == (
        "# app generated\nport 1e+06\nlabel api-1e+06 count 2\n"
        "host a.example\nhost b.example\nAPI\n",
        0o640,
    )

    first = run_fresh(project, tmp_path / "out1", cache_dir)
    assert first == {"rendered": 3, "yaml": True, "parser": True, "lexer": True}
    assert tree_of(tmp_path / "out1") == expected
    assert len(bundles(cache_dir)) == 2  # one for the attributes, one for the templates

    second = run_fresh(project, tmp_path / "out2", cache_dir)
    assert second == {"rendered": 3, "yaml": False, "parser": False, "lexer": False}
    assert tree_of(tmp_path / "out2") == expected

    # the dir and its parents are private, the bundles too
    for path in (cache_dir, cache_dir.parent, cache_dir.parent.parent):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    for bundle in bundles(cache_dir):
        assert stat.S_IMODE(bundle.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("change", "imports"),
    [
        (("templates/etc/keys.tmpl", "{{range $k, $v := .}}{{$k}}={{$v}} {{end}}"), "parser"),
        (("templates/header.partial", '{{define "header"}}## {{.}}{{end}}'), "parser"),
        (("attributes/zz.yml", "override:\n  name: db\n"), "yaml"),
        (
            (
                "attributes/base/00-defaults.yml",
                "default: {port: 80, label: l, count: 0, hosts: []}",
            ),
            "yaml",
        ),
        (("templates/etc/app.conf.tmpl.cfg", "mode: 0600\n"), "yaml"),
    ],
)
def test_a_changed_input_misses(tmp_path: Path, change: tuple[str, str], imports: str) -> None:
    project = make_project(tmp_path / "dgr")
    cache_dir = tmp_path / "cache"
    run_fresh(project, tmp_path / "out1", cache_dir)
    rel, text = change
    (project / rel).write_text(text)
    expected = reference(project, tmp_path)
    result = run_fresh(project, tmp_path / "out2", cache_dir)
    assert result[imports] is True
    assert tree_of(tmp_path / "out2") == expected
    # and the run after that is warm again
    assert run_fresh(project, tmp_path / "out3", cache_dir)[imports] is False
    assert tree_of(tmp_path / "out3") == expected


def test_exact_numbers_and_cache_version_are_part_of_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "dgr")
    cache_dir = tmp_path / "cache"
    run_fresh(project, tmp_path / "floats", cache_dir)
    exact = run_fresh(project, tmp_path / "ints", cache_dir, exact=True)
    assert exact["yaml"] is True
    assert tree_of(tmp_path / "ints") == reference(project, tmp_path, exact=True)
    assert "port 1000000\n" in (tmp_path / "ints/etc/app.conf").read_text()
    assert "port 1e+06\n" in (tmp_path / "floats/etc/app.conf").read_text()

    # another cache version (another parser, codec or YAML loader) finds nothing
    before = {p.name for p in bundles(cache_dir)}
    monkeypatch.setattr(cache, "_version", "0" * 64)
    resolved = resolve_attributes(project / "attributes", cache_dir=cache_dir)
    assert resolved["port"] == 1e6
    assert {p.name for p in bundles(cache_dir)} - before  # a new bundle, none reused


def test_cache_version_follows_the_sources(tmp_path: Path) -> None:
    package = Path(cache.__file__).parent
    copy = tmp_path / "templater"
    for rel in cache.VERSION_SOURCES:
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(package / rel, copy / rel)
    base = compute_version(str(copy), b"yaml 1")
    assert base == compute_version(str(package), b"yaml 1")
    assert compute_version(str(copy), b"yaml 2") != base
    for rel in cache.VERSION_SOURCES:
        original = (copy / rel).read_bytes()
        (copy / rel).write_bytes(original + b"\n")
        assert compute_version(str(copy), b"yaml 1") != base, rel
        (copy / rel).write_bytes(original)


# modules the parse path imports that do not shape what is cached (execution only)
NOT_SHAPING_CACHED_RESULTS = {
    "__init__.py",  # lazy API wrappers
    "engine/__init__.py",  # re-exports
    "engine/builtins.py",
    "engine/executor.py",
    "engine/values.py",
    "gotypes.py",  # Go value model of execution and formatting
}


def test_every_module_on_the_parse_path_is_part_of_the_cache_version() -> None:
    """A module the parser, the tree codec or the YAML loader starts to use must be listed."""
    code = textwrap.dedent(
        """
        import sys
        import carpool.templater.engine.parser, carpool.templater.engine.treecodec
        import carpool.templater.yamlgo, carpool.templater.cache
        print("\\n".join(m.__file__ for n, m in sys.modules.items()
                         if n.startswith("carpool.templater") and m.__file__))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    package = Path(cache.__file__).parent
    used = {Path(f).relative_to(package).as_posix() for f in proc.stdout.split()}
    assert used - set(cache.VERSION_SOURCES) - NOT_SHAPING_CACHED_RESULTS == set()


def rewrite_entries(path: Path, change: Any) -> None:
    """Re-write a bundle with ``change(value)`` applied to each entry, with a valid header.

    A well-formed bundle is taken as carpool wrote it (the checksum guards against
    damage, the private dir against others): what the cache must survive is values of
    the wrong shape — trees that are no trees, data that is no map — not forged ones.
    """
    header, body = path.read_bytes().split(b"\n", 1)
    lines = []
    for line in body.decode().splitlines():
        key, value = line.split(" ", 1)
        lines.append(f"{key} {json.dumps(change(json.loads(value)))}\n")
    new_body = "".join(lines).encode()
    fields = header.split(b" ")
    digest = cache.sha256(new_body).hexdigest().encode()
    path.write_bytes(b" ".join([fields[0], fields[1], digest]) + b"\n" + new_body)


def break_positions(value: Any) -> Any:
    """Tree entries with a string where a node position (an int) belongs."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], list):
        used, trees = value
        return [used, [[name, [0, "0", root[2]]] for name, root in trees]]
    return value


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(b"\x00garbage\xff" * 100), id="garbage"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), id="cut"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(
            lambda p: p.write_bytes(p.read_bytes().replace(b"[", b"{", 1)), id="bad-checksum"
        ),
        pytest.param(lambda p: rewrite_entries(p, break_positions), id="bad-tree-fields"),
        pytest.param(lambda p: p.write_bytes(b"other-cache v1 0\n{}\n"), id="foreign-file"),
        pytest.param(
            lambda p: rewrite_entries(p, lambda v: {"trees": v} if isinstance(v, list) else v),
            id="foreign-shape",
        ),
        pytest.param(
            lambda p: rewrite_entries(p, lambda v: "x" if isinstance(v, list | dict) else v),
            id="wrong-type",
        ),
        pytest.param(lambda p: (p.unlink(), p.mkdir()), id="a-dir-instead"),
        pytest.param(lambda p: (p.unlink(), os.mkfifo(p)), id="a-fifo-instead"),
    ],
)
def test_a_damaged_cache_falls_back_to_parsing(tmp_path: Path, damage: Any) -> None:
    project = make_project(tmp_path / "dgr")
    cache_dir = tmp_path / "cache"
    expected = reference(project, tmp_path)
    run_fresh(project, tmp_path / "out1", cache_dir)
    for bundle in [*bundles(cache_dir), cache_dir / cache.VERSION_MEMO]:
        damage(bundle)
    result = run_fresh(project, tmp_path / "out2", cache_dir)  # no error, no traceback
    assert result["parser"] is True
    assert tree_of(tmp_path / "out2") == expected
    if all(p.is_file() for p in bundles(cache_dir)):
        # repaired by that run: the next one is warm again
        assert run_fresh(project, tmp_path / "out3", cache_dir)["parser"] is False
        assert tree_of(tmp_path / "out3") == expected


def test_an_unusable_cache_dir_is_ignored(tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    expected = reference(project, tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    for cache_dir in (blocker / "cache", blocker):
        shutil.rmtree(tmp_path / "out", ignore_errors=True)
        run_templater(project, tmp_path / "out", cache_dir=cache_dir)
        assert tree_of(tmp_path / "out") == expected
    assert blocker.read_text() == "not a dir"


def test_concurrent_runs_share_the_cache_safely(tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    cache_dir = tmp_path / "cache"
    expected = reference(project, tmp_path)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RUN,
                str(project),
                str(tmp_path / f"o{i}"),
                str(cache_dir),
                "",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(4)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    for i in range(4):
        assert tree_of(tmp_path / f"o{i}") == expected
    assert len(bundles(cache_dir)) == 2
    left = [p.name for p in cache_dir.iterdir() if not p.name.endswith(".cache")]
    assert left == [cache.VERSION_MEMO]
    assert run_fresh(project, tmp_path / "again", cache_dir)["parser"] is False


def test_a_bundle_holds_only_what_the_last_run_used(tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    cache_dir = tmp_path / "cache"
    templates = project / "templates"
    render_dir(templates, project / "attributes", tmp_path / "out", cache_dir=cache_dir)
    (bundle,) = [p for p in bundles(cache_dir) if b'"header"' in p.read_bytes()]
    # the partial, three templates and one .cfg
    assert len(bundle.read_bytes().splitlines()) == 1 + 5
    assert bundle.read_bytes().startswith(MAGIC + b" " + cache.cache_version().encode())


def test_prune_keeps_the_most_recently_used_bundles(tmp_path: Path) -> None:
    now = time.time()
    for i in range(6):
        path = tmp_path / f"{i}.cache"
        path.write_text("x")
        os.utime(path, (now - 100 + i, now - 100 + i))
    stale, fresh = tmp_path / ".a.cache.tmp-1", tmp_path / ".b.cache.tmp-2"
    stale.write_text("")
    fresh.write_text("")
    os.utime(stale, (now - 7200, now - 7200))
    prune(tmp_path, keep=tmp_path / "0.cache", max_bundles=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".b.cache.tmp-2",
        "0.cache",
        "4.cache",
        "5.cache",
    ]


def test_attribute_data_keeps_types_and_key_order_and_odd_data_is_not_cached(
    tmp_path: Path,
) -> None:
    attributes = tmp_path / "attributes"
    attributes.mkdir()
    (attributes / "a.yml").write_text(
        "default:\n  zeta: 1\n  alpha: [1.5, true, null, '2', 3]\n  mid: {yy: 1, b: 2}\n"
    )
    (attributes / "b.yml").write_text("default:\n  odd: .nan\n")
    cache_dir = tmp_path / "cache"
    for exact in (False, True):
        plain = resolve_attributes(attributes, exact_numbers=exact)
        for _ in range(2):  # cold, then from the cache
            cached = resolve_attributes(attributes, exact_numbers=exact, cache_dir=cache_dir)
            assert list(cached) == list(plain) == ["zeta", "alpha", "mid", "odd"]
            assert list(cached["mid"]) == ["yy", "b"]
            assert [type(v) for v in cached["alpha"]] == [type(v) for v in plain["alpha"]]
            assert cached["zeta"] == plain["zeta"] and type(cached["zeta"]) is type(plain["zeta"])
            assert cached["odd"] != cached["odd"]  # NaN, read again from YAML each time
    texts = b"".join(p.read_bytes() for p in bundles(cache_dir))
    assert b"zeta" in texts and b"odd" not in texts


def test_the_cache_version_is_remembered_per_source_stamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = cache.cache_version()
    monkeypatch.setattr(cache, "_version", None)
    cache_dir = tmp_path / "cache"
    assert cache.cache_version(cache_dir) == real
    stamp, remembered = (cache_dir / cache.VERSION_MEMO).read_text().split()
    assert remembered == real

    # the memo is what a later process reads instead of hashing the sources...
    monkeypatch.setattr(cache, "_version", None)
    (cache_dir / cache.VERSION_MEMO).write_text(f"{stamp} {'f' * 64}\n")
    assert cache.cache_version(cache_dir) == "f" * 64
    # ...only while the stamp matches, and only if it is a digest
    for memo in (f"{'0' * 64} {'f' * 64}\n", f"{stamp} not-a-digest\n", "garbage"):
        monkeypatch.setattr(cache, "_version", None)
        (cache_dir / cache.VERSION_MEMO).write_text(memo)
        assert cache.cache_version(cache_dir) == real

    # any write to a source changes its stamp (ctime), even with size and mtime kept
    source = tmp_path / "source.py"
    source.write_text("a = 1\n")
    before = cache._stamp([str(source)])
    st = source.stat()
    time.sleep(0.01)
    source.write_text("a = 2\n")
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert source.stat().st_size == st.st_size
    assert cache._stamp([str(source)]) != before
