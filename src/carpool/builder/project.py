"""A dgr project directory: ``aci-manifest.yml`` (or ``pod-manifest.yml``) and its parts.

The manifest is a Go template first (dgr's clean-up, the template functions), rendered
with the project's own attributes (dgr used no data on the host; a version that renders
``<no value>`` is dropped as dgr did), then YAML.  Keys match case-insensitively as with
dgr's YAML→JSON→Go decoding; unknown keys are warned about instead of silently ignored.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from carpool.errors import BuildError, CarpoolError, ValidationError
from carpool.log import get_logger

log = get_logger(__name__)

ACI_MANIFEST = "aci-manifest.yml"
POD_MANIFEST = "pod-manifest.yml"
DEFAULT_BUILDER_IMAGE = "blablacar.github.io/dgr/aci-builder:1"
DEFAULT_TESTER_IMAGE = "blablacar.github.io/dgr/aci-tester:1"
NO_VALUE = "<no value>"

# canonical spelling of every key dgr reads, per section (matched case-insensitively)
_SCHEMA: dict[str, tuple[str, ...]] = {
    "": ("name", "aci", "builder", "build", "tester"),
    "aci": ("dependencies", "app", "annotations", "pathWhitelist"),
    "app": (
        "exec",
        "user",
        "group",
        "supplementaryGIDs",
        "workingDirectory",
        "environment",
        "mountPoints",
        "ports",
        "isolators",
    ),
    "builder": ("image", "dependencies", "environment", "mountPoints"),
    "build": ("mountPoints",),
    "tester": ("builder", "aci"),
    "pod": ("apps", "volumes", "isolators", "annotations", "ports"),
    "podapp": (
        "name",
        "dependencies",
        "inheritDependencyPolicy",
        "app",
        "mounts",
        "annotations",
    ),
}


@dataclass(frozen=True)
class MountFrom:
    """``{from, to}`` of ``builder.mountPoints`` / ``build.mountPoints``."""

    source: Path
    to: str


@dataclass
class BuilderDefinition:
    image: str = DEFAULT_BUILDER_IMAGE
    dependencies: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    mount_points: list[MountFrom] = field(default_factory=list)


@dataclass
class AciDefinition:
    dependencies: list[str] = field(default_factory=list)
    app: dict[str, Any] = field(default_factory=dict)
    annotations: list[dict[str, str]] = field(default_factory=list)
    path_whitelist: list[str] = field(default_factory=list)


@dataclass
class AciProject:
    """A parsed ``aci-manifest.yml`` and where it lives."""

    directory: Path
    manifest_path: Path
    raw_text: str
    name: str  # without version
    version: str | None  # None: to be generated
    aci: AciDefinition
    builder: BuilderDefinition
    build_mount_points: list[MountFrom]
    tester_builder: BuilderDefinition
    tester_aci: AciDefinition

    @property
    def tiny_name(self) -> str:
        return tiny_name(self.name)

    @property
    def full_name(self) -> str:
        return f"{self.name}:{self.version}" if self.version else self.name


def split_name(full: str) -> tuple[str, str | None]:
    """``domain/name:version`` split on the first ``:`` (dgr's ``ACFullname``)."""
    name, sep, version = full.partition(":")
    return name, (version if sep and version else None)


def tiny_name(name: str) -> str:
    """The last path element: dgr's ``ACI_NAME`` and attribute dir name."""
    return name.rsplit("/", 1)[-1]


def _canonical(section: str, data: Any, where: str, source: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: {where or 'document'}: must be a map")
    known = {k.lower(): k for k in _SCHEMA[section]}
    out: dict[str, Any] = {}
    for key, value in data.items():
        canonical = known.get(str(key).lower())
        path = f"{where}.{key}" if where else str(key)
        if canonical is None:
            log.warning("%s: unknown key %s ignored", source, path)
            continue
        out[canonical] = value
    return out


def _string_list(value: Any, where: str, source: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise ValidationError(f"{source}: {where}: must be a list of strings")
    return [str(v) for v in value]


def _env(value: Any, where: str, source: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise ValidationError(f"{source}: {where}: must be a list of {{name, value}}")
    out: dict[str, str] = {}
    for i, item in enumerate(value):
        if not isinstance(item, dict) or "name" not in item:
            raise ValidationError(f"{source}: {where}[{i}]: must be {{name, value}}")
        out[str(item["name"])] = "" if item.get("value") is None else str(item["value"])
    return out


def _mounts(value: Any, where: str, source: str, directory: Path) -> list[MountFrom]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"{source}: {where}: must be a list of {{from, to}}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not item.get("from") or not item.get("to"):
            raise ValidationError(f"{source}: {where}[{i}]: must be {{from, to}}")
        src = Path(str(item["from"])).expanduser()
        to = str(item["to"])
        if not to.startswith("/"):
            raise ValidationError(f"{source}: {where}[{i}].to: {to!r} must be an absolute path")
        out.append(MountFrom(src if src.is_absolute() else directory / src, to))
    return out


def _builder(value: Any, where: str, source: str, directory: Path, image: str) -> BuilderDefinition:
    data = _canonical("builder", value, where, source)
    return BuilderDefinition(
        image=str(data.get("image") or image),
        dependencies=_string_list(data.get("dependencies"), f"{where}.dependencies", source),
        environment=_env(data.get("environment"), f"{where}.environment", source),
        mount_points=_mounts(data.get("mountPoints"), f"{where}.mountPoints", source, directory),
    )


def _aci(value: Any, where: str, source: str) -> AciDefinition:
    data = _canonical("aci", value, where, source)
    app = _canonical("app", data.get("app"), f"{where}.app", source)
    annotations = data.get("annotations") or []
    if not isinstance(annotations, list):
        raise ValidationError(f"{source}: {where}.annotations: must be a list of {{name, value}}")
    return AciDefinition(
        dependencies=_string_list(data.get("dependencies"), f"{where}.dependencies", source),
        app=app,
        annotations=[
            {"name": str(a.get("name")), "value": str(a.get("value", ""))}
            for a in annotations
            if isinstance(a, dict)
        ],
        path_whitelist=_string_list(data.get("pathWhitelist"), f"{where}.pathWhitelist", source),
    )


def render_manifest_text(text: str, attributes: dict[str, Any], source: str) -> str:
    """The manifest after Go templating (dgr's clean-up and template functions)."""
    from carpool import templater

    try:
        return templater.render_string(text, attributes, name=source)
    except CarpoolError as exc:
        raise BuildError(f"{source}: {exc}") from None


def project_attributes(directory: Path) -> dict[str, Any]:
    """The project's own attributes (its ``*.yml``/``*.yaml``, as the image gets them)."""
    import shutil
    import tempfile

    from carpool import templater

    attributes = directory / "attributes"
    if not attributes.is_dir():
        return {}
    with tempfile.TemporaryDirectory(prefix="carpool-attributes-") as staging:
        for path in sorted(attributes.rglob("*")):
            if path.is_file() and path.suffix in (".yml", ".yaml"):
                shutil.copyfile(path, Path(staging) / path.name)
        return templater.resolve_attributes(Path(staging), override_var=None, environ={})


def parse_manifest(
    directory: Path,
    *,
    text: str | None = None,
    extra_attributes: dict[str, Any] | None = None,
    strict: bool = False,
) -> AciProject:
    """Parse ``directory/aci-manifest.yml``.

    ``extra_attributes`` (what build scripts wrote to ``/dgr/builder/attributes``) are
    merged over the project's for the second, post-build pass; with ``strict`` any
    ``<no value>`` left in the manifest is an error, as in dgr's second pass.
    """
    path = directory / ACI_MANIFEST
    source = str(path)
    if text is None:
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise BuildError(f"{directory}: no {ACI_MANIFEST} (nor {POD_MANIFEST})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise BuildError(f"{source}: cannot read: {exc}") from None
    from carpool import templater

    attrs = project_attributes(directory)
    if extra_attributes:
        attrs = templater.merge_attributes(attrs, extra_attributes)
    rendered = render_manifest_text(text, attrs, source)
    if strict and NO_VALUE in rendered:
        line = next(
            i for i, text_line in enumerate(rendered.splitlines(), 1) if NO_VALUE in text_line
        )
        raise BuildError(f"{source}: line {line}: templating left {NO_VALUE}")
    try:
        data = yaml.safe_load(rendered)
    except yaml.YAMLError as exc:
        raise BuildError(f"{source}: not valid YAML: {str(exc).splitlines()[0]}") from None
    top = _canonical("", data if data is not None else {}, "", source)
    raw_name = top.get("name")
    if not raw_name or not str(raw_name).strip():
        raise BuildError(f"{source}: name: is mandatory in manifest")
    name, version = split_name(str(raw_name).strip())
    if version is not None and NO_VALUE in version:
        version = None
    from carpool.appc import is_ac_identifier

    if not is_ac_identifier(name):
        raise ValidationError(f"{source}: name: {name!r} is not an ACI name")
    tester = _canonical("tester", top.get("tester"), "tester", source)
    build = _canonical("build", top.get("build"), "build", source)
    return AciProject(
        directory=directory,
        manifest_path=path,
        raw_text=text,
        name=name,
        version=version,
        aci=_aci(top.get("aci"), "aci", source),
        builder=_builder(top.get("builder"), "builder", source, directory, DEFAULT_BUILDER_IMAGE),
        build_mount_points=_mounts(
            build.get("mountPoints"), "build.mountPoints", source, directory
        ),
        tester_builder=_builder(
            tester.get("builder"), "tester.builder", source, directory, DEFAULT_TESTER_IMAGE
        ),
        tester_aci=_aci(tester.get("aci"), "tester.aci", source),
    )


def generated_version(directory: Path, when: float | None = None) -> str:
    """dgr's ``YYYYMMDD.HHMMSS[-v<git short hash>]`` (UTC)."""
    stamp = time.strftime("%Y%m%d.%H%M%S", time.gmtime(time.time() if when is None else when))
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return stamp
    commit = proc.stdout.strip()
    if proc.returncode == 0 and re.fullmatch(r"[0-9a-f]{4,40}", commit):
        return f"{stamp}-v{commit}"
    return stamp


def find_project(directory: Path) -> Path:
    """Which manifest the directory holds (aci first, then pod), as dgr's ``NewAciOrPod``."""
    for candidate in (ACI_MANIFEST, POD_MANIFEST):
        if (directory / candidate).is_file():
            return directory / candidate
    raise BuildError(f"{directory}: no {ACI_MANIFEST} nor {POD_MANIFEST}")
