"""The App Container (appc) spec as data: names, labels, quantities, manifests.

Pure: nothing here touches the disk or runs processes.  Every model parses with
``Model.from_json(data, source=...)`` and writes with ``.to_json()``/``.to_dict()``;
invalid input raises :class:`carpool.errors.ValidationError` naming the field, e.g.
``manifest: app.ports[0].port: 70000 is not a port``.
"""

from carpool.appc.app import App, EnvironmentVariable, EventHandler, MountPoint, Port
from carpool.appc.image import IMAGE_MANIFEST_KIND, Dependency, ImageManifest
from carpool.appc.imageid import ImageID, image_id_prefix, is_image_id_prefix
from carpool.appc.isolators import (
    DEFAULT_CAPABILITIES,
    KNOWN_ISOLATORS,
    AppArmorProfile,
    CapabilitiesRemoveSet,
    CapabilitiesRetainSet,
    CPUShares,
    Isolator,
    IsolatorValue,
    NoNewPrivileges,
    OOMScoreAdj,
    ResourceBlockBandwidth,
    ResourceBlockIOPS,
    ResourceCPU,
    ResourceMemory,
    ResourceNetworkBandwidth,
    SeccompRemoveSet,
    SeccompRetainSet,
    SELinuxContext,
    Sysctl,
)
from carpool.appc.labels import VALID_OS_ARCH, Annotation, Label
from carpool.appc.names import (
    app_name_from_image_name,
    is_ac_identifier,
    is_ac_name,
    is_env_name,
    sanitize_ac_name,
)
from carpool.appc.pod import (
    POD_MANIFEST_KIND,
    ExposedPort,
    Mount,
    PodManifest,
    RuntimeApp,
    RuntimeImage,
    Volume,
)
from carpool.appc.quantity import Quantity
from carpool.appc.version import APPC_SPEC_VERSION, SemVer

__all__ = [
    "APPC_SPEC_VERSION",
    "DEFAULT_CAPABILITIES",
    "IMAGE_MANIFEST_KIND",
    "KNOWN_ISOLATORS",
    "POD_MANIFEST_KIND",
    "VALID_OS_ARCH",
    "Annotation",
    "App",
    "AppArmorProfile",
    "CPUShares",
    "CapabilitiesRemoveSet",
    "CapabilitiesRetainSet",
    "Dependency",
    "EnvironmentVariable",
    "EventHandler",
    "ExposedPort",
    "ImageID",
    "ImageManifest",
    "Isolator",
    "IsolatorValue",
    "Label",
    "Mount",
    "MountPoint",
    "NoNewPrivileges",
    "OOMScoreAdj",
    "PodManifest",
    "Port",
    "Quantity",
    "ResourceBlockBandwidth",
    "ResourceBlockIOPS",
    "ResourceCPU",
    "ResourceMemory",
    "ResourceNetworkBandwidth",
    "RuntimeApp",
    "RuntimeImage",
    "SELinuxContext",
    "SeccompRemoveSet",
    "SeccompRetainSet",
    "SemVer",
    "Sysctl",
    "Volume",
    "app_name_from_image_name",
    "image_id_prefix",
    "is_ac_identifier",
    "is_ac_name",
    "is_env_name",
    "is_image_id_prefix",
    "sanitize_ac_name",
]
