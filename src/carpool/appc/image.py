"""The image manifest (``schema/image.go``): what an ACI is and how to run it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from carpool.appc._model import AppcModel, invalid, require_document_keys, show
from carpool.appc.app import App
from carpool.appc.imageid import ImageID
from carpool.appc.labels import Annotations, Labels, find_value
from carpool.appc.names import AbsolutePath, ACIdentifier
from carpool.appc.version import APPC_SPEC_VERSION, ACVersion

IMAGE_MANIFEST_KIND = "ImageManifest"


def _check_size(value: int) -> int:
    if value < 0:
        raise invalid(f"{value} is not a size in bytes")
    return value


class Dependency(AppcModel):
    """An image whose rootfs lies under this one (resolved by name + labels, or by ID)."""

    image_name: ACIdentifier = Field(alias="imageName")
    image_id: ImageID | None = Field(default=None, alias="imageID")
    labels: Labels = Field(default_factory=list)
    size: Annotated[int, AfterValidator(_check_size)] | None = None

    def label(self, name: str) -> str | None:
        return find_value(self.labels, name)


def kind_check(expected: str) -> Any:
    """Validator of ``acKind``."""

    def check(value: str) -> str:
        if value != expected:
            raise invalid(f"must be {show(expected)}, got {show(value)}")
        return value

    return AfterValidator(check)


class ImageManifest(AppcModel):
    """An ACI's ``manifest``.  Field order is Go's, so output matches what rkt writes."""

    ac_kind: Annotated[str, kind_check(IMAGE_MANIFEST_KIND)] = Field(
        default=IMAGE_MANIFEST_KIND, alias="acKind"
    )
    ac_version: ACVersion = Field(default=APPC_SPEC_VERSION, alias="acVersion")
    name: ACIdentifier
    labels: Labels = Field(default_factory=list)
    app: App | None = None
    annotations: Annotations = Field(default_factory=list)
    dependencies: list[Dependency] = Field(default_factory=list)
    path_whitelist: list[AbsolutePath] = Field(default_factory=list, alias="pathWhitelist")

    @model_validator(mode="before")
    @classmethod
    def _kind_and_version_present(cls, data: Any, info: ValidationInfo) -> Any:
        require_document_keys(data, info, "acKind", "acVersion")
        return data

    def model_post_init(self, context: Any, /) -> None:
        # always written out, even when a Python caller left them to their defaults
        self.__pydantic_fields_set__.update(("ac_kind", "ac_version"))

    def label(self, name: str) -> str | None:
        """The value of label ``name`` (``version``, ``os``, ``arch``…), if any."""
        return find_value(self.labels, name)

    def annotation(self, name: str) -> str | None:
        """The value of annotation ``name``, if any."""
        return find_value(self.annotations, name)

    @property
    def version(self) -> str | None:
        """The ``version`` label."""
        return self.label("version")

    @property
    def os(self) -> str | None:
        """The ``os`` label (missing: OS-independent)."""
        return self.label("os")

    @property
    def arch(self) -> str | None:
        """The ``arch`` label (only meaningful with ``os``)."""
        return self.label("arch")
