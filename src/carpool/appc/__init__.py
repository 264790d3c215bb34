"""The App Container (appc) spec as data: names, labels, quantities, manifests.

Pure: nothing here touches the disk or runs processes.

Reading and writing
    Every model parses a JSON document with ``Model.from_json(data, source=...)``
    (``bytes``, ``str`` or an already-decoded ``dict``; JSON camelCase keys only) and
    writes it with ``.to_dict()`` / ``.to_json()``.  Output keeps Go's field order, only
    the fields present in the input (or set in Python), unknown keys, and ``null`` where
    Go wrote ``null``; so ``Model.from_json(m.to_json()) == m`` and a manifest written by
    rkt comes back byte for byte.  Python code builds models with snake_case keyword
    arguments (``App(exec=[...], user="0", group="0", supplementary_gids=[4])``); such
    programming errors raise pydantic's ``ValidationError``, whereas documents raise
    :class:`carpool.errors.ValidationError` with one line naming the field, e.g.
    ``manifest: app.ports[0].port: 70000 is not a port``.

Deliberate differences from Go's appc library (``schema/``), each stricter or more lenient
only where Go's behaviour would hurt a user:
    * unknown isolators are kept and flagged (``Isolator.known``, ``App.unknown_isolators``)
      instead of failing the whole manifest, as the spec allows;
    * unknown JSON keys are kept and written back (Go drops them);
    * ``sanitize_ac_name`` collapses runs of dashes so its result is always a valid AC Name;
    * image IDs must be lowercase hex (Go accepts any non-empty value after ``sha512-``);
    * ``acVersion`` must be in carpool's major series 0.x (Go only rejects older majors);
    * resource isolators (and seccomp, SELinux, AppArmor, OOM score, CPU shares, sysctl)
      may appear once per app or pod; capability sets and no-new-privileges may repeat
      as in Go;
    * event handlers need a non-empty ``exec``; capability names must look like ``CAP_*``;
      resource quantities must not be negative and a ``request`` must not exceed its
      ``limit``;
    * ``empty`` volumes keep ``mode``/``uid``/``gid`` absent when absent (Go fills in
      ``0755``/0/0 and writes them back); :attr:`Volume.mode_bits` and
      :attr:`Volume.owner` apply those defaults;
    * giving both ``supplementaryGIDs`` and ``supplementaryGids`` is an error (Go keeps
      whichever comes last).
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carpool.appc.app import App, EnvironmentVariable, EventHandler, MountPoint, Port
    from carpool.appc.capabilities import DEFAULT_CAPABILITIES
    from carpool.appc.image import IMAGE_MANIFEST_KIND, Dependency, ImageManifest
    from carpool.appc.imageid import ImageID, image_id_prefix, is_image_id_prefix
    from carpool.appc.isolators import (
        ISOLATOR_SCOPES,
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

# The package's names are loaded on first use (PEP 562), so that pydantic-free parts
# such as :mod:`carpool.appc.capabilities` can be imported on ``carpool run``'s start-up
# path without building every model.
_EXPORTS: dict[str, str] = {
    "APPC_SPEC_VERSION": "carpool.appc.version",
    "Annotation": "carpool.appc.labels",
    "App": "carpool.appc.app",
    "AppArmorProfile": "carpool.appc.isolators",
    "CPUShares": "carpool.appc.isolators",
    "CapabilitiesRemoveSet": "carpool.appc.isolators",
    "CapabilitiesRetainSet": "carpool.appc.isolators",
    "DEFAULT_CAPABILITIES": "carpool.appc.capabilities",
    "Dependency": "carpool.appc.image",
    "EnvironmentVariable": "carpool.appc.app",
    "EventHandler": "carpool.appc.app",
    "ExposedPort": "carpool.appc.pod",
    "IMAGE_MANIFEST_KIND": "carpool.appc.image",
    "ISOLATOR_SCOPES": "carpool.appc.isolators",
    "ImageID": "carpool.appc.imageid",
    "ImageManifest": "carpool.appc.image",
    "Isolator": "carpool.appc.isolators",
    "IsolatorValue": "carpool.appc.isolators",
    "KNOWN_ISOLATORS": "carpool.appc.isolators",
    "Label": "carpool.appc.labels",
    "Mount": "carpool.appc.pod",
    "MountPoint": "carpool.appc.app",
    "NoNewPrivileges": "carpool.appc.isolators",
    "OOMScoreAdj": "carpool.appc.isolators",
    "POD_MANIFEST_KIND": "carpool.appc.pod",
    "PodManifest": "carpool.appc.pod",
    "Port": "carpool.appc.app",
    "Quantity": "carpool.appc.quantity",
    "ResourceBlockBandwidth": "carpool.appc.isolators",
    "ResourceBlockIOPS": "carpool.appc.isolators",
    "ResourceCPU": "carpool.appc.isolators",
    "ResourceMemory": "carpool.appc.isolators",
    "ResourceNetworkBandwidth": "carpool.appc.isolators",
    "RuntimeApp": "carpool.appc.pod",
    "RuntimeImage": "carpool.appc.pod",
    "SELinuxContext": "carpool.appc.isolators",
    "SeccompRemoveSet": "carpool.appc.isolators",
    "SeccompRetainSet": "carpool.appc.isolators",
    "SemVer": "carpool.appc.version",
    "Sysctl": "carpool.appc.isolators",
    "VALID_OS_ARCH": "carpool.appc.labels",
    "Volume": "carpool.appc.pod",
    "app_name_from_image_name": "carpool.appc.names",
    "image_id_prefix": "carpool.appc.imageid",
    "is_ac_identifier": "carpool.appc.names",
    "is_ac_name": "carpool.appc.names",
    "is_env_name": "carpool.appc.names",
    "is_image_id_prefix": "carpool.appc.imageid",
    "sanitize_ac_name": "carpool.appc.names",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'carpool.appc' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "APPC_SPEC_VERSION",
    "DEFAULT_CAPABILITIES",
    "IMAGE_MANIFEST_KIND",
    "ISOLATOR_SCOPES",
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
