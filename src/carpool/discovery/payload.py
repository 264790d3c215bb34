"""The registration payloads nerve writes and synapse reads, in both dialects.

Two producers exist in the field and carpool must read both and write either:

* **Airbnb nerve** (``reporter/base.rb``): only configured keys appear, in the order
  ``host, port, name, weight, haproxy_server_options, labels``; there is no
  ``available`` field because the node only exists while the instance is up.  Nodes are
  named ``<instance_id>_<seq>`` or, with path encoding,
  ``base64_<len>_<urlsafe-b64(payload)>_<seq>``.
* **go-nerve** (``report.go``, Go's ``encoding/json``): the ``Report`` struct in field
  order ``available, unavailable_reason, host, port, name, haproxy_server_options,
  weight, labels``; ``available`` and ``weight`` always present, the others omitted when
  empty.  Nodes are named ``<name>_<host>_c_<32 hex guid><seq>``.

Reading is deliberately lenient (like go-nerve's ``UnmarshalJSON``): ``port`` may be a
numeric string, ``name``/``weight``/``available`` may be missing, and a node with
``available: false`` has weight 0.  It is strict where silently guessing would route
traffic to the wrong place: ``host`` and ``port`` must be present and valid.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from carpool.errors import DiscoveryError

PayloadFormat = Literal["go-nerve", "airbnb"]

#: go-nerve's weight is a Go ``uint8``; HAProxy accepts 0..256.
MAX_WEIGHT = 255
#: ZooKeeper's sequential suffix: ten zero-padded digits.
SEQUENCE_DIGITS = 10
_SEQUENCE_RE = re.compile(r"(\d{10})$")
_GO_NERVE_NAME_RE = re.compile(r"^(?P<prefix>.*)_c_(?P<guid>[0-9a-f]{32})(?P<seq>\d{10})?$")
_BASE64_PREFIX = "base64_"
#: The fields both formats define; anything else lands in ``Backend.extra``.
KNOWN_FIELDS = frozenset(
    {
        "host",
        "port",
        "name",
        "weight",
        "available",
        "unavailable_reason",
        "haproxy_server_options",
        "labels",
    }
)


class PayloadError(DiscoveryError):
    """A registration's data cannot be understood (the message names the node)."""


@dataclass(frozen=True)
class Backend:
    """One registered service instance, as read from (or written to) a registry.

    ``weight`` is ``None`` when the producer did not say (Airbnb nerve without a
    configured weight); consumers then use their own default.  ``node_name`` is the
    registry's child name (empty when the backend was built locally).  ``extra`` holds
    any fields neither format defines, unchanged, so nothing a producer wrote is lost.
    """

    host: str
    port: int
    name: str = ""
    weight: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    available: bool = True
    haproxy_server_options: str = ""
    unavailable_reason: str = ""
    node_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sequence(self) -> int | None:
        """The ZooKeeper sequence number of the node (None when not sequential)."""
        return node_sequence(self.node_name)

    @property
    def address(self) -> str:
        """``host:port``, bracketing IPv6 hosts."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def effective_weight(self) -> int | None:
        """The weight to route with: 0 when unavailable, else the declared weight."""
        return 0 if not self.available else self.weight

    def encode(self, fmt: PayloadFormat = "go-nerve") -> bytes:
        """Serialize in one of the two dialects (see :func:`encode_go_nerve`)."""
        if fmt == "airbnb":
            return encode_airbnb(
                host=self.host,
                port=self.port,
                name=self.name,
                weight=self.weight,
                haproxy_server_options=self.haproxy_server_options or None,
                labels=self.labels or None,
            )
        return encode_go_nerve(
            host=self.host,
            port=self.port,
            name=self.name,
            weight=self.weight if self.weight is not None else MAX_WEIGHT,
            available=self.available,
            unavailable_reason=self.unavailable_reason,
            haproxy_server_options=self.haproxy_server_options,
            labels=self.labels,
        )


#: The brief's other name for the same thing.
Instance = Backend


# --------------------------------------------------------------------------- reading


def parse_payload(node_name: str, data: bytes) -> Backend:
    """Decode one registry child in either format.

    An empty ``data`` with a path-encoded name (``base64_…``) is decoded from the name,
    as Airbnb synapse does.  Raises :class:`PayloadError` naming the node.
    """
    raw: Any
    if not data.strip() and node_name.startswith(_BASE64_PREFIX):
        decoded = decode_path_encoded_name(node_name)
        if decoded is None:
            raise PayloadError(f"{node_name}: empty data and an unreadable base64_ name")
        data = decoded
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"{node_name}: payload is not UTF-8 JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise PayloadError(f"{node_name}: payload is not a JSON object")
    return backend_from_mapping(node_name, raw)


def backend_from_mapping(node_name: str, raw: dict[str, Any]) -> Backend:
    """Validate an already-decoded payload object (shared by file-based registries)."""
    host = raw.get("host")
    if not isinstance(host, str) or not host:
        raise PayloadError(f"{node_name}: host: missing or not a non-empty string")
    port = _parse_port(node_name, raw.get("port"))
    name = raw.get("name", "")
    if name is None:
        name = ""
    if not isinstance(name, str):
        raise PayloadError(f"{node_name}: name: not a string")
    available = raw.get("available", True)
    if available is None:
        available = True
    if not isinstance(available, bool):
        raise PayloadError(f"{node_name}: available: not a boolean")
    weight = _parse_weight(node_name, raw.get("weight"))
    if not available:
        weight = 0
    options = raw.get("haproxy_server_options", "")
    if options is None:
        options = ""
    if not isinstance(options, str):
        raise PayloadError(f"{node_name}: haproxy_server_options: not a string")
    reason = raw.get("unavailable_reason", "")
    labels = _parse_labels(node_name, raw.get("labels"))
    return Backend(
        host=host,
        port=port,
        name=name,
        weight=weight,
        labels=labels,
        available=available,
        haproxy_server_options=options,
        unavailable_reason=reason if isinstance(reason, str) else str(reason),
        node_name=node_name,
        extra={k: v for k, v in raw.items() if k not in KNOWN_FIELDS},
    )


def _parse_port(node_name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise PayloadError(f"{node_name}: port: not a number")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise PayloadError(f"{node_name}: port: missing or not a number")
    if not 0 < value < 65536:
        raise PayloadError(f"{node_name}: port: {value} is not a port")
    return value


def _parse_weight(node_name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError(f"{node_name}: weight: {value!r} is not a non-negative integer")
    # HAProxy's own ceiling is 256; larger values are clamped rather than dropped
    # (go-synapse drops the node, which turns a typo into an outage).
    return min(value, 256)


def _parse_labels(node_name: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{node_name}: labels: not an object")
    labels: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, str):
            labels[str(key)] = item
        elif isinstance(item, bool):
            labels[str(key)] = "true" if item else "false"
        elif isinstance(item, int | float):
            labels[str(key)] = str(item)
        elif item is None:
            labels[str(key)] = ""
        else:
            raise PayloadError(f"{node_name}: labels.{key}: not a scalar")
    return labels


# --------------------------------------------------------------------------- writing


def _go_json(obj: Any) -> bytes:
    """Bytes exactly as Go's ``json.Marshal`` writes them (compact, HTML-escaped)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text.encode("utf-8")


def encode_go_nerve(
    *,
    host: str,
    port: int,
    name: str,
    weight: int = MAX_WEIGHT,
    available: bool = True,
    unavailable_reason: str = "",
    haproxy_server_options: str = "",
    labels: dict[str, str] | None = None,
) -> bytes:
    """go-nerve's ``Report`` JSON, byte for byte (field order and omitempty rules).

    Go sorts map keys when marshalling, so labels are written sorted.
    """
    if not 0 <= weight <= MAX_WEIGHT:
        raise PayloadError(f"weight: {weight} is outside 0..{MAX_WEIGHT}")
    report: dict[str, Any] = {"available": available}
    if unavailable_reason:
        report["unavailable_reason"] = unavailable_reason
    if host:
        report["host"] = host
    if port:
        report["port"] = port
    if name:
        report["name"] = name
    if haproxy_server_options:
        report["haproxy_server_options"] = haproxy_server_options
    report["weight"] = weight
    if labels:
        report["labels"] = dict(sorted(labels.items()))
    return _go_json(report)


def encode_airbnb(
    *,
    host: str,
    port: int,
    name: str,
    weight: int | None = None,
    haproxy_server_options: str | None = None,
    labels: dict[str, str] | None = None,
) -> bytes:
    """Airbnb nerve's payload: only configured keys, in ``get_service_data`` order.

    Ruby's ``to_json`` is compact and does not escape non-ASCII or HTML characters.
    """
    data: dict[str, Any] = {"host": host, "port": port, "name": name}
    if weight is not None:
        data["weight"] = weight
    if haproxy_server_options is not None:
        data["haproxy_server_options"] = haproxy_server_options
    if labels is not None:
        data["labels"] = labels
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------- node names


def validate_node_component(value: str, what: str) -> str:
    """ZooKeeper child names cannot contain ``/`` nor be ``.``/``..``."""
    if not value or "/" in value or value in (".", "..") or "\x00" in value:
        raise PayloadError(f"{what}: {value!r} cannot be used in a ZooKeeper node name")
    return value


def new_guid() -> str:
    """32 lowercase hex characters, as go-nerve's protected-create GUID."""
    return uuid.uuid4().hex


def go_nerve_node_prefix(name: str, host: str, guid: str | None = None) -> str:
    """``<name>_<host>_c_<guid>``: ZooKeeper appends the sequence without a separator."""
    validate_node_component(name, "name")
    validate_node_component(host, "host")
    return f"{name}_{host}_c_{guid or new_guid()}"


def airbnb_node_prefix(instance_id: str) -> str:
    """``<instance_id>_``: ZooKeeper appends the 10-digit sequence."""
    validate_node_component(instance_id, "instance_id")
    return f"{instance_id}_"


def airbnb_path_encoded_prefix(payload: bytes) -> str:
    """``base64_<len>_<urlsafe-b64(payload)>_`` (Airbnb nerve ``use_path_encoding``)."""
    encoded = base64.urlsafe_b64encode(payload).decode("ascii")
    return f"{_BASE64_PREFIX}{len(encoded)}_{encoded}_"


def decode_path_encoded_name(node_name: str) -> bytes | None:
    """The payload carried in a ``base64_<len>_<b64>_<seq>`` name, or None."""
    if not node_name.startswith(_BASE64_PREFIX):
        return None
    rest = node_name[len(_BASE64_PREFIX) :]
    length_text, sep, rest = rest.partition("_")
    if not sep or not length_text.isdigit():
        return None
    length = int(length_text)
    encoded = rest[:length]
    if len(encoded) != length:
        return None
    try:
        return base64.urlsafe_b64decode(encoded.encode("ascii"))
    except (binascii.Error, ValueError):
        return None


def node_sequence(node_name: str) -> int | None:
    """The trailing 10-digit ZooKeeper sequence of a child name, if any."""
    match = _SEQUENCE_RE.search(node_name)
    return int(match.group(1)) if match else None


def go_nerve_guid(node_name: str) -> str | None:
    """The protected-create GUID in a go-nerve style child name, if any."""
    match = _GO_NERVE_NAME_RE.match(node_name)
    return match.group("guid") if match else None


def node_format(node_name: str) -> PayloadFormat:
    """Guess which nerve wrote a node from its name (go-nerve names carry ``_c_<guid>``)."""
    return "go-nerve" if go_nerve_guid(node_name) else "airbnb"
