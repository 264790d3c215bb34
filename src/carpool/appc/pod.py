"""The pod manifest (``schema/pod.go``): apps reified by image ID, volumes, exposed ports.

rkt writes ``null`` for the pod's empty ``volumes``/``isolators``/``annotations``/``ports``;
those read as empty lists and are written back as ``null``.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from carpool.appc._model import AppcModel, invalid, require_document_keys, show
from carpool.appc.app import MAX_ID, MAX_PORT, App, Port
from carpool.appc.image import ImageManifest, kind_check
from carpool.appc.imageid import ImageID
from carpool.appc.isolators import Isolator, Isolators, find_isolator, unknown_isolators
from carpool.appc.labels import Annotations, Labels, find_value
from carpool.appc.names import ACIdentifier, ACName, NonEmptyStr
from carpool.appc.version import APPC_SPEC_VERSION, ACVersion

POD_MANIFEST_KIND = "PodManifest"
DEFAULT_EMPTY_VOLUME_MODE = "0755"

VolumeKind = Literal["host", "empty"]


def _check_kind(value: str) -> str:
    if value not in ("host", "empty"):
        raise invalid(f'{show(value)} is not a volume kind ("host" or "empty")')
    return value


def _check_mode(value: str) -> str:
    try:
        bits = int(value, 8)
    except ValueError:
        bits = -1
    if not value or not 0 <= bits <= 0o7777:
        raise invalid(f"{show(value)} is not an octal file mode")
    return value


def _check_id(value: int) -> int:
    if not 0 <= value <= MAX_ID:
        raise invalid(f"{value} is not a user or group ID")
    return value


class Volume(AppcModel):
    """A host directory (``host``) or a fresh per-pod directory (``empty``)."""

    name: ACName
    kind: Annotated[str, AfterValidator(_check_kind)]
    source: str = ""
    read_only: bool | None = Field(default=None, alias="readOnly")
    recursive: bool | None = None
    mode: Annotated[str, AfterValidator(_check_mode)] | None = None
    uid: Annotated[int, AfterValidator(_check_id)] | None = None
    gid: Annotated[int, AfterValidator(_check_id)] | None = None

    @model_validator(mode="after")
    def _kind_rules(self) -> Volume:
        if self.kind == "host":
            if not self.source:
                raise invalid("is required for a host volume", "source")
            if not self.source.startswith("/"):
                raise invalid(f"{show(self.source)} is not an absolute path", "source")
            for key in ("mode", "uid", "gid"):
                if getattr(self, key) is not None:
                    raise invalid("is not allowed for a host volume", key)
        elif self.source:
            raise invalid("must be empty for an empty volume", "source")
        return self

    @property
    def is_read_only(self) -> bool:
        return bool(self.read_only)

    @property
    def mode_bits(self) -> int:
        """Permission bits of an ``empty`` volume (default 0755)."""
        return int(self.mode or DEFAULT_EMPTY_VOLUME_MODE, 8)

    @property
    def owner(self) -> tuple[int, int]:
        """``(uid, gid)`` owning an ``empty`` volume (default root)."""
        return (self.uid or 0, self.gid or 0)


class Mount(AppcModel):
    """Volume :attr:`volume` mounted at :attr:`path` in an app (``appVolume``: inline volume)."""

    volume: ACName
    path: NonEmptyStr
    app_volume: Volume | None = Field(default=None, alias="appVolume")


class RuntimeImage(AppcModel):
    """The image of a pod app: fully reified, so :attr:`id` is required."""

    name: ACIdentifier | None = None
    id: ImageID
    labels: Labels = Field(default_factory=list)

    def label(self, name: str) -> str | None:
        return find_value(self.labels, name)


class RuntimeApp(AppcModel):
    """One app of a pod; :attr:`app`, when given, replaces the image's ``app`` entirely."""

    name: ACName
    image: RuntimeImage
    app: App | None = None
    read_only_root_fs: bool = Field(default=False, alias="readOnlyRootFS")
    mounts: list[Mount] = Field(default_factory=list)
    annotations: Annotations = Field(default_factory=list)

    def annotation(self, name: str) -> str | None:
        return find_value(self.annotations, name)

    def effective_app(self, image: ImageManifest) -> App | None:
        """What to run: this pod app's ``app`` (it replaces, never merges), or the image's."""
        return self.app if self.app is not None else image.app

    def merged_annotations(self, image: ImageManifest) -> dict[str, str]:
        """Image annotations overlaid with this pod app's; pod values win (metadata service)."""
        merged = {annotation.name: annotation.value for annotation in image.annotations}
        merged.update((annotation.name, annotation.value) for annotation in self.annotations)
        return merged


def _check_host_port(value: int) -> int:
    if not 1 <= value <= MAX_PORT:
        raise invalid(f"{value} is not a port")
    return value


def _check_ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise invalid(f"{show(value)} is not an IP address") from None
    return value


class ExposedPort(AppcModel):
    """An app port (by name) forwarded from :attr:`host_port` on the host."""

    name: ACName
    host_port: Annotated[int, AfterValidator(_check_host_port)] = Field(alias="hostPort")
    host_ip: Annotated[str, AfterValidator(_check_ip)] | None = Field(default=None, alias="hostIP")
    pod_port: Port | None = Field(default=None, alias="podPort")


def _unique_names(what: str) -> Any:
    def check(items: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.name in seen:
                raise invalid(f"duplicate {what} name {show(item.name)}", index, "name")
            seen.add(item.name)
        return items

    return AfterValidator(check)


class PodManifest(AppcModel):
    """A pod's manifest.  Field order is Go's, so output matches what rkt writes."""

    ac_version: ACVersion = Field(default=APPC_SPEC_VERSION, alias="acVersion")
    ac_kind: Annotated[str, kind_check(POD_MANIFEST_KIND)] = Field(
        default=POD_MANIFEST_KIND, alias="acKind"
    )
    apps: Annotated[list[RuntimeApp], _unique_names("app")] = Field(default_factory=list)
    volumes: Annotated[list[Volume], _unique_names("volume")] = Field(default_factory=list)
    isolators: Isolators = Field(default_factory=list)
    annotations: Annotations = Field(default_factory=list)
    ports: Annotated[list[ExposedPort], _unique_names("exposed port")] = Field(default_factory=list)
    user_annotations: dict[str, str] = Field(default_factory=dict, alias="userAnnotations")
    user_labels: dict[str, str] = Field(default_factory=dict, alias="userLabels")

    @model_validator(mode="before")
    @classmethod
    def _kind_and_version_present(cls, data: Any, info: ValidationInfo) -> Any:
        require_document_keys(data, info, "acVersion", "acKind", "apps")
        return data

    def model_post_init(self, context: Any, /) -> None:
        # always written out, even when a Python caller left them to their defaults
        self.__pydantic_fields_set__.update(("ac_version", "ac_kind", "apps"))

    def app(self, name: str) -> RuntimeApp | None:
        """The pod app called ``name``, if any."""
        for app in self.apps:
            if app.name == name:
                return app
        return None

    def volume(self, name: str) -> Volume | None:
        """The pod volume called ``name``, if any."""
        for volume in self.volumes:
            if volume.name == name:
                return volume
        return None

    def annotation(self, name: str) -> str | None:
        return find_value(self.annotations, name)

    def isolator(self, name: str) -> Isolator | None:
        return find_isolator(self.isolators, name)

    def unknown_isolators(self) -> list[str]:
        """Names of pod isolators carpool does not understand (for the runtime to report)."""
        return unknown_isolators(self.isolators)
