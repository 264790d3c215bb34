"""dgr's attribute model: files under ``attributes/``, merged, overridden, templated.

The steps follow dgr's ``bin-templater`` (``merger/merger.go`` and ``main.go``):

1. every file under the attributes dir, recursively, symlinks followed, in
   lexical order of each directory's entries (Kubernetes ConfigMap mounts, where
   ``name.yml -> ..data/name.yml`` and ``..data -> ..<timestamp>/``, are read
   once: a file reached again through another symlink is skipped);
2. each file is YAML (any extension; an empty file is skipped; a non-map is an
   error) deep-merged into an accumulator ``{"default": {}}`` with
   ``mergemap.Merge`` semantics — maps merge recursively, anything else (lists,
   scalars, ``null``) replaces;
3. the result is ``merge(default, override)``;
4. the override JSON object from the environment (``-o VAR``; ``base64,``
   prefix allowed) is merged on top;
5. one templating pass over every string value with the merged attributes as
   data (dgr's and gtf's functions, gtf winning); a string that changed is
   re-read as YAML, so ``"{{mul 3 3}}"`` becomes a number.

Numbers are ``float64`` as in dgr (``1000000`` prints ``1e+06``) unless
``exact_numbers`` is set, which keeps integers as integers.

Deliberate differences from dgr (which panics in these cases): a bare
``override:`` (``null``) counts as empty; unreadable or invalid files are
errors naming the file instead of a Go stack trace.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carpool.errors import AttributesError
from carpool.log import get_logger

if TYPE_CHECKING:
    from carpool.templater.cache import Bundle

log = get_logger(__name__)

MAX_MERGE_DEPTH = 32  # mergemap.MaxDepth


def list_attribute_files(directory: Path) -> list[Path]:
    """Every file under ``directory`` in dgr's order, each real file once.

    Entries are visited in byte order of their names, directories (and symlinks
    to directories) recursively where they appear.  A missing directory has no
    files, as in dgr.
    """
    files: list[Path] = []
    seen: set[str] = set()
    visiting: set[str] = set()

    def walk(path: Path) -> None:
        real = os.path.realpath(path)
        if real in visiting:  # a symlink loop
            return
        visiting.add(real)
        try:
            names = sorted(os.listdir(path), key=os.fsencode)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise AttributesError(f"{path}: cannot list attributes: {exc.strerror}") from exc
        for name in names:
            entry = path / name
            if entry.is_dir():
                walk(entry)
            elif entry.is_file():
                target = os.path.realpath(entry)
                if target not in seen:
                    seen.add(target)
                    files.append(entry)
            elif entry.is_symlink():
                log.warning("%s: dangling symlink in attributes, ignored", entry)
        visiting.discard(real)

    walk(directory)
    return files


def merge_maps(dst: dict[str, Any], src: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    """``mergemap.Merge``: merge ``src`` into ``dst`` (in place) and return ``dst``.

    Maps present on both sides merge recursively; any other value from ``src``
    (list, scalar, ``None``) replaces what ``dst`` had.
    """
    if depth > MAX_MERGE_DEPTH:
        raise AttributesError(f"attributes nested deeper than {MAX_MERGE_DEPTH} levels")
    for key, value in src.items():
        current = dst.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            value = merge_maps(current, value, depth + 1)
        dst[key] = value
    return dst


def read_attribute_file(
    path: Path,
    *,
    exact_numbers: bool = False,
    content: bytes | None = None,
    cache: Bundle | None = None,
) -> dict[str, Any] | None:
    """One attribute file as a map (``None`` for an empty file).

    ``content``: the file's bytes if already read.  ``cache``: a persistent cache
    bundle that may hold the file's data already (then ``yaml`` is not even imported).
    """
    if content is None:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise AttributesError(f"{path}: cannot read: {exc.strerror}") from exc
    data = _load_yaml_data(str(path), "attributes", content, exact_numbers, cache, maps_only=True)
    if data is None:
        return None
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise AttributesError(f"{path}: attributes must be a map of default:/override:, not {kind}")
    return data


def _load_yaml_data(
    source: str,
    kind: str,
    text: str | bytes,
    exact_numbers: bool,
    cache: Bundle | None,
    *,
    maps_only: bool = False,
) -> Any:
    """``load_yaml_as_json(text)``, from ``cache`` when it holds it (and stored there if not).

    Only data that survives the cache's JSON unchanged is stored (see
    :func:`carpool.templater.cache.json_exact`); the rest is parsed at every run.
    ``maps_only``: only a map (or nothing) is stored or taken from the cache, so that
    whatever the cache holds, an error about the file's shape comes from the file.
    """
    key = None
    if cache is not None:
        from carpool.templater.cache import MISS, entry_key

        key = entry_key(kind, exact_numbers, text)
        data = cache.get(key)
        if data is not MISS:
            if not maps_only or data is None or type(data) is dict:
                return data
            cache.forget(key)
    import yaml

    from carpool.templater.yamlgo import describe_yaml_error, load_yaml_as_json

    try:
        data = load_yaml_as_json(text, exact_numbers=exact_numbers)
    except yaml.YAMLError as exc:
        raise AttributesError(f"{source}: {describe_yaml_error(exc)}") from exc
    except ValueError as exc:
        raise AttributesError(f"{source}: {exc}") from exc
    if cache is not None and key is not None:
        from carpool.templater.cache import json_exact

        if (not maps_only or data is None or type(data) is dict) and json_exact(data):
            cache.put(key, data)
    return data


def _read_files(files: list[Path]) -> list[bytes | OSError]:
    contents: list[bytes | OSError] = []
    for path in files:
        try:
            contents.append(path.read_bytes())
        except OSError as exc:
            contents.append(exc)
    return contents


def merge_attribute_files(
    files: Iterable[Path],
    *,
    exact_numbers: bool = False,
    contents: list[bytes | OSError] | None = None,
    cache: Bundle | None = None,
) -> dict[str, Any]:
    """Merge attribute files in order and resolve ``default``/``override`` (steps 2-3).

    ``contents``: the files' bytes (or the error reading them), if already read.
    """
    files = list(files)
    if contents is None:
        contents = _read_files(files)
    accumulator: dict[str, Any] = {"default": {}}
    default_source = "attributes"
    for path, content in zip(files, contents, strict=True):
        if isinstance(content, OSError):
            raise AttributesError(f"{path}: cannot read: {content.strerror}") from content
        data = read_attribute_file(path, exact_numbers=exact_numbers, content=content, cache=cache)
        if data is None:
            continue
        if "default" in data:
            if data["default"] is None:
                log.warning("%s: empty 'default:' discards the defaults merged before it", path)
            default_source = str(path)
        merge_maps(accumulator, data)
    return resolve_sections(accumulator, default_source)


def resolve_sections(accumulator: dict[str, Any], source: str = "attributes") -> dict[str, Any]:
    """dgr's ``ProcessOverride``: every ``override`` beats every ``default``."""
    default = accumulator.get("default")
    if default is None:
        default = {}
    if not isinstance(default, dict):
        raise AttributesError(f"{source}: 'default' must be a map")
    override = accumulator.get("override")
    if override is None:
        return default
    if not isinstance(override, dict):
        raise AttributesError("attributes: 'override' must be a map")
    return merge_maps(default, override)


def load_attributes(
    directories: Path | Iterable[Path], *, exact_numbers: bool = False
) -> dict[str, Any]:
    """Merged attributes of one or more attribute dirs (files of all dirs, in order)."""
    return merge_attribute_files(_attribute_files(directories), exact_numbers=exact_numbers)


def _attribute_files(directories: Path | Iterable[Path]) -> list[Path]:
    dirs = [directories] if isinstance(directories, Path) else list(directories)
    files: list[Path] = []
    for directory in dirs:
        files.extend(list_attribute_files(directory))
    return files


def decode_override(name: str, value: str, *, exact_numbers: bool = False) -> dict[str, Any]:
    """The JSON object in an override variable (``base64,`` prefix allowed)."""
    import base64
    import binascii
    import json

    text = value
    if len(value) > 8 and value.startswith("base64,"):
        try:
            text = base64.b64decode(value[7:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise AttributesError(f"${name}: invalid base64 override: {exc}") from exc
    try:
        data = json.loads(text, parse_int=None if exact_numbers else float)
    except json.JSONDecodeError as exc:
        raise AttributesError(f"${name}: override is not valid JSON: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AttributesError(f"${name}: override must be a JSON object")
    return data


def apply_override(
    attributes: dict[str, Any],
    override_var: str | None,
    environ: Mapping[str, str],
    *,
    exact_numbers: bool = False,
) -> dict[str, Any]:
    """Merge the override variable's object on top, if the variable is set and non-empty."""
    if not override_var:
        return attributes
    value = environ.get(override_var, "")
    if not value:
        return attributes
    return merge_maps(attributes, decode_override(override_var, value, exact_numbers=exact_numbers))


def default_override_var(environ: Mapping[str, str]) -> str:
    """The variable dgr's prestart passes to ``-o``: the base64 one when it is set."""
    if environ.get("TEMPLATER_OVERRIDE_BASE64"):
        return "TEMPLATER_OVERRIDE_BASE64"
    return "TEMPLATER_OVERRIDE"


def template_attributes(
    attributes: dict[str, Any], *, exact_numbers: bool = False, cache: Bundle | None = None
) -> Any:
    """One templating pass over every string value (step 5); returns a new structure.

    ``cache``: a persistent cache bundle for the parses of the values and the YAML
    reading of what they render to.
    """
    from carpool.templater.functions import attribute_template

    def visit(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: visit(v) for k, v in value.items()}
        if isinstance(value, list):
            return [visit(v) for v in value]
        if isinstance(value, str) and "{{" in value:
            rendered = attribute_template(value, attributes, cache=cache)
            if rendered != value:
                return _reparse(value, rendered, exact_numbers=exact_numbers, cache=cache)
        return value

    return visit(attributes)


def _reparse(source: str, rendered: str, *, exact_numbers: bool, cache: Bundle | None) -> Any:
    try:
        return _load_yaml_data("", "rendered attribute", rendered, exact_numbers, cache)
    except AttributesError as exc:
        detail = str(exc).removeprefix(": ")
        raise AttributesError(
            f"attribute {source!r} rendered to {rendered!r}, which is not valid YAML: {detail}"
        ) from exc.__cause__


def resolve_attributes(
    directories: Path | Iterable[Path] | Mapping[str, Any],
    *,
    override_var: str | None = None,
    environ: Mapping[str, str] | None = None,
    exact_numbers: bool = False,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Attributes exactly as templates see them: merged, overridden, templated.

    With ``cache_dir`` the files' data, the parses of templated values and the YAML
    they render to come from (and go to) the persistent cache (see
    :mod:`carpool.templater.cache`), in a bundle named after the files' contents.
    Already merged attributes (a mapping) are not cached across runs.
    """
    cache: Bundle | None = None
    if isinstance(directories, Mapping):
        import copy

        merged: dict[str, Any] = copy.deepcopy(dict(directories))
    else:
        files = _attribute_files(directories)
        contents = _read_files(files)
        if cache_dir is not None:
            from carpool.templater.cache import Bundle

            inputs: list[bytes | bool | None] = [exact_numbers]
            inputs += [c if isinstance(c, bytes) else None for c in contents]
            cache = Bundle.open(cache_dir, "attributes", inputs)
        merged = merge_attribute_files(
            files, exact_numbers=exact_numbers, contents=contents, cache=cache
        )
    env = os.environ if environ is None else environ
    merged = apply_override(merged, override_var, env, exact_numbers=exact_numbers)
    result = template_attributes(merged, exact_numbers=exact_numbers, cache=cache)
    assert isinstance(result, dict)
    if cache is not None:
        cache.save()
    return result
