"""nerve configuration: go-nerve's (reference §1.2) and Airbnb nerve's (§1.1), one model.

The format is recognised by shape: go-nerve has a *list* of ``services``; Airbnb nerve has
``instance_id`` and a *mapping* of ``services`` (and/or ``service_conf_dir``).  Both are
read as YAML (JSON is YAML).  go-nerve's config goes through Go templates with the
environment as data; carpool substitutes ``{{ .VAR }}`` / ``{{ env "VAR" }}`` the same way
(no other template syntax is needed in nerve configs).

Deliberate differences from the originals:

* unknown keys are reported as warnings instead of ignored silently;
* ``rise``/``fall``/``checkIntervalInMilli`` written at service level (as go-nerve's own
  example does, where they were silently ignored) become the default for its checks;
* ``path`` is honoured by ``http`` checks (go-nerve's struct tag bug ignored it);
* a bad value is an ``error:`` naming the file and field, before anything starts;
* go-nerve's ``connectionTimeoutInMilli`` was really the ZooKeeper *session* timeout, with
  a 2 s default that expires sessions on any hiccup; carpool reads it (or the clearer
  ``sessionTimeoutInMilli``) as the session timeout and defaults to 10 s;
* ``enableWarmupMaxDurationInMilli`` must cover the 12 steps of the ladder (go-nerve
  demanded 23 intervals, its README 27, neither matching the ladder);
* the default ZooKeeper refresh (re-check of the node) is 30 s instead of 5 min;
* Airbnb nerve configs support only ``ephemeral_sequential`` nodes (persistent nodes
  outlive a crashed nerve, the problem of airbnb/nerve#124), and their ``ttl_seconds``,
  ``statsd`` and ``load_test_concurrency`` are warned about and ignored;
  ``noop`` checks are supported, ``redis``/``rabbitmq`` checks are not.

carpool extensions (go-nerve style keys, also accepted in Airbnb service blocks):

* checks: ``hostHeader``, ``headers``, ``expectedStatus`` (``"200-399"``, ``404`` or a list),
  ``expect``/``bodyContains`` (a body substring), and ``tls`` for ``http``;
* zookeeper reporter: ``format: airbnb`` writes Airbnb nerve's payload and node names
  (default ``go-nerve``), ``sessionTimeoutInMilli``, ``auth: "user:password"`` (digest;
  the node is then writable by its creator only);
* ``embedded`` reporter: ``path`` (and optional ``dataDir``), the single-host registry;
* service: ``rateLimiting: {averageRate, maxBurst, shadowMode}``, Airbnb nerve's
  ``rate_limiting`` token bucket on check-driven transitions, offered to go-nerve configs;
* root: ``apiHost``/``apiPort`` (``apiPort: 0`` disables the API; Airbnb configs have no API
  unless ``api_port`` is given).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from carpool.discovery.fields import (
    Fields,
    embedded_registry_dir,
    millis,
    parse_yaml,
    read_config_text,
    registry_hosts,
    registry_path,
    warn_unsupported,
)
from carpool.discovery.payload import PayloadFormat
from carpool.errors import ValidationError

ConfigFormat = Literal["go-nerve", "airbnb"]
CHECK_TYPES = ("tcp", "http", "https", "exec")
REPORTER_TYPES = ("zookeeper", "file", "console", "embedded")
DEFAULT_API_PORT = 3454


@dataclass
class StatusRange:
    """Which HTTP statuses count as healthy: a union of inclusive ranges."""

    ranges: list[tuple[int, int]]

    def __contains__(self, status: object) -> bool:
        return isinstance(status, int) and any(lo <= status <= hi for lo, hi in self.ranges)

    def describe(self) -> str:
        return ",".join(f"{lo}-{hi}" if lo != hi else str(lo) for lo, hi in self.ranges)


@dataclass
class CheckConfig:
    type: str
    host: str
    port: int
    name: str
    timeout: float = 1.0
    interval: float = 1.0
    rise: int = 3
    fall: int = 2
    # http / https
    path: str = "/"
    host_header: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    statuses: StatusRange = field(default_factory=lambda: StatusRange([(100, 499)]))
    expect: str | None = None
    tls: bool = False
    # exec
    command: list[str] | str | None = None


@dataclass
class ReporterConfig:
    type: str
    # zookeeper / embedded
    hosts: tuple[str, ...] = ()
    path: str = ""
    session_timeout: float = 10.0
    refresh_interval: float = 30.0
    expose_on_unavailable: bool = False
    format: PayloadFormat = "go-nerve"
    use_path_encoding: bool = False
    auth: tuple[tuple[str, str], ...] = ()
    data_dir: Path | None = None
    # file
    file_path: Path = Path("/tmp/nerve.report")
    append: bool = False


@dataclass
class RateLimit:
    """Airbnb nerve's token bucket on check-driven state changes (``rate_limiting``)."""

    average_rate: float = math.inf  # transitions per second, refilled continuously
    max_burst: float = math.inf
    shadow: bool = True  # only log what would have been limited


@dataclass
class ServiceConfig:
    name: str
    host: str
    port: int
    reporter_service_name: str
    weight: int = 255
    weight_configured: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    haproxy_server_options: str = ""
    checks: list[CheckConfig] = field(default_factory=list)
    reporters: list[ReporterConfig] = field(default_factory=list)
    report_replay: float = 1.0
    set_down_on_shutdown: bool = True
    exclude_from_global_disable: bool = False
    pre_available_command: list[str] | None = None
    pre_available_max: float = 1.0
    warmup: bool = True
    warmup_interval: float = 2.0
    warmup_max: float = 60.0
    check_stable_command: list[str] | None = None
    check_stable_max: float = 2.0
    check_stable_interval: float = 1.0
    disable_shutdown_command: list[str] | None = None
    disable_shutdown_max: float = 30.0
    gracefully_done_command: list[str] | None = None
    gracefully_done_interval: float = 1.0
    disable_max: float = 60.0
    disable_min: float = 3.0
    first_result_decides: bool = False
    rate_limit: RateLimit | None = None


@dataclass
class NerveConfig:
    source: Path
    format: ConfigFormat
    services: list[ServiceConfig]
    api_host: str = ""
    api_port: int = DEFAULT_API_PORT
    #: Airbnb nerve's liveness file, touched on every main-loop pass
    heartbeat_path: Path | None = None


# --------------------------------------------------------------------------- loading


_TEMPLATE_RE = re.compile(r"\{\{-?\s*(?:\.(\w+)|env\s+\"(\w+)\")\s*-?\}\}")


def render_env_template(text: str, source: str, env: dict[str, str]) -> str:
    """go-nerve's ``{{ .VAR }}`` environment templating (applied twice, as go-nerve does)."""
    for _ in range(2):
        text = _TEMPLATE_RE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), text)
    if "{{" in text:
        line = text[: text.index("{{")].count("\n") + 1
        raise ValidationError(
            f"{source}:{line}: unsupported template action (only {{{{ .VAR }}}} is supported)"
        )
    return text


def load_config(
    path: Path,
    *,
    data_dir: Path | None = None,
    env: dict[str, str] | None = None,
    api_host: str | None = None,
    api_port: int | None = None,
) -> NerveConfig:
    """Read, template, parse and validate a nerve config file of either format.

    ``api_host``/``api_port`` override the file's (command-line flags), here rather than
    in the caller so that a reload on SIGHUP keeps them.
    """
    source = str(path)
    text = read_config_text(path)
    text = render_env_template(text, source, dict(os.environ) if env is None else env)
    raw = parse_yaml(text, source)
    root = Fields(raw, "", source)
    services = root.get("services")
    if isinstance(services, list) or (services is None and not root.has("instance_id")):
        config = _load_go_nerve(root, data_dir)
    else:
        config = _load_airbnb(root, path, data_dir)
    if api_host is not None:
        config.api_host = api_host
    if api_port is not None:
        config.api_port = api_port
    return config


def _argv(f: Fields, key: str) -> list[str] | None:
    value = f.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return ["/bin/sh", "-c", value]
    argv = f.text_list(key)
    if not argv:
        raise f.error(f.key_name(key), "must not be empty")
    return argv


# --------------------------------------------------------------------------- go-nerve


_GO_ROOT_KEYS = {"logLevel", "apiHost", "apiPort", "templatedConfigPath", "services"}
_GO_SERVICE_KEYS = {
    "name",
    "host",
    "port",
    "reporterServiceName",
    "preferIpv4",
    "weight",
    "checks",
    "reporters",
    "reportReplayInMilli",
    "haproxyServerOptions",
    "labels",
    "setServiceAsDownOnShutdown",
    "excludeFromGlobalDisable",
    "preAvailableCommand",
    "preAvailableMaxDurationInMilli",
    "enableWarmupIntervalInMilli",
    "enableWarmupMaxDurationInMilli",
    "enableCheckStableCommand",
    "enableCheckStableMaxDurationInMilli",
    "enableCheckStableIntervalInMilli",
    "disableShutdownCommand",
    "disableShutdownMaxDurationInMilli",
    "disableGracefullyDoneCommand",
    "disableGracefullyDoneIntervalInMilli",
    "disableMaxDurationInMilli",
    "disableMinDurationInMilli",
    "noMetrics",
    "rise",
    "fall",
    "checkIntervalInMilli",
    "timeoutInMilli",
    "warmup",
    "rateLimiting",
}


def _load_go_nerve(root: Fields, data_dir: Path | None) -> NerveConfig:
    services = [_go_service(s, data_dir) for s in root.items("services")]
    if not services:
        raise root.error("services", "at least one service is needed")
    names = [s.name for s in services]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise root.error(f"services[{i}].name", f"{name!r} is used by two services")
    api_port = root.integer("apiPort", default=DEFAULT_API_PORT, minimum=0, maximum=65535)
    root.warn_unknown(_GO_ROOT_KEYS)
    return NerveConfig(
        source=Path(root.source),
        format="go-nerve",
        services=services,
        api_host=root.text("apiHost", default="") or "",
        api_port=DEFAULT_API_PORT if api_port is None else api_port,
    )


def _go_service(f: Fields, data_dir: Path | None) -> ServiceConfig:
    port = f.integer("port", required=True, minimum=1, maximum=65535)
    assert port is not None
    host = f.text("host", default="127.0.0.1") or "127.0.0.1"
    name = f.text("name", default=f"{host}:{port}") or f"{host}:{port}"
    if "/" in name:
        raise f.error("name", f"{name!r} cannot contain '/'")
    weight = f.integer("weight", default=255, minimum=0, maximum=255)
    assert weight is not None
    warmup_interval = millis(f, "enableWarmupIntervalInMilli", 2000)
    warmup_max = millis(f, "enableWarmupMaxDurationInMilli", warmup_interval * 30 * 1000)
    if warmup_max < warmup_interval * 12:
        # the ladder has 12 steps after the first; fewer cannot reach full weight
        raise f.error(
            "enableWarmupMaxDurationInMilli",
            f"must be at least 12 x enableWarmupIntervalInMilli ({warmup_interval * 12000:.0f})",
        )
    defaults = {
        "rise": f.integer("rise", minimum=1),
        "fall": f.integer("fall", minimum=1),
        "interval": f.number("checkIntervalInMilli", minimum=1),
        "timeout": f.number("timeoutInMilli", minimum=1),
    }
    service = ServiceConfig(
        name=name,
        host=host,
        port=port,
        reporter_service_name=f.text("reporterServiceName", default=name) or name,
        weight=weight,
        labels=f.text_map("labels"),
        haproxy_server_options=f.text("haproxyServerOptions", default="") or "",
        report_replay=millis(f, "reportReplayInMilli", 1000),
        set_down_on_shutdown=f.flag("setServiceAsDownOnShutdown", default=True),
        exclude_from_global_disable=f.flag("excludeFromGlobalDisable"),
        pre_available_command=_argv(f, "preAvailableCommand"),
        pre_available_max=millis(f, "preAvailableMaxDurationInMilli", 1000),
        warmup=f.flag("warmup", default=True),
        warmup_interval=warmup_interval,
        warmup_max=warmup_max,
        check_stable_command=_argv(f, "enableCheckStableCommand"),
        check_stable_max=millis(f, "enableCheckStableMaxDurationInMilli", 2000),
        check_stable_interval=millis(f, "enableCheckStableIntervalInMilli", 1000),
        disable_shutdown_command=_argv(f, "disableShutdownCommand"),
        disable_shutdown_max=millis(f, "disableShutdownMaxDurationInMilli", 30000),
        gracefully_done_command=_argv(f, "disableGracefullyDoneCommand"),
        gracefully_done_interval=millis(f, "disableGracefullyDoneIntervalInMilli", 1000),
        disable_max=millis(f, "disableMaxDurationInMilli", 60000),
        disable_min=millis(f, "disableMinDurationInMilli", 3000),
    )
    service.rate_limit = _rate_limit(f, "rateLimiting", snake=False)
    checks = f.items("checks")
    service.checks = (
        [_go_check(c, service, defaults) for c in checks]
        if checks
        else [_default_tcp_check(service, defaults)]
    )
    _unique_check_names(service, f)
    reporters = f.items("reporters")
    service.reporters = (
        [_go_reporter(r, data_dir) for r in reporters] if reporters else [ReporterConfig("console")]
    )
    f.warn_unknown(_GO_SERVICE_KEYS)
    return service


def _rate_limit(f: Fields, key: str, snake: bool) -> RateLimit | None:
    if not f.has(key):
        return None
    sub = f.sub(key)
    names = (
        ("average_rate", "max_burst", "shadow_mode")
        if snake
        else ("averageRate", "maxBurst", "shadowMode")
    )
    limit = RateLimit(
        average_rate=sub.number(names[0], default=math.inf, minimum=0.000001) or math.inf,
        max_burst=sub.number(names[1], default=math.inf, minimum=1) or math.inf,
        shadow=sub.flag(names[2], default=True),
    )
    sub.warn_unknown(set(names))
    if math.isinf(limit.average_rate) and math.isinf(limit.max_burst):
        return None
    return limit


def _default_tcp_check(service: ServiceConfig, defaults: dict[str, Any]) -> CheckConfig:
    return CheckConfig(
        type="tcp",
        host=service.host,
        port=service.port,
        name=f"tcp_{service.host}:{service.port}",
        timeout=(defaults["timeout"] or 1000) / 1000,
        interval=(defaults["interval"] or 1000) / 1000,
        rise=defaults["rise"] or 3,
        fall=defaults["fall"] or 2,
    )


def _unique_check_names(service: ServiceConfig, f: Fields) -> None:
    seen: dict[str, int] = {}
    for check in service.checks:
        count = seen.get(check.name, 0)
        seen[check.name] = count + 1
        if count:
            check.name = f"{check.name}#{count}"


_GO_CHECK_KEYS = {
    "type",
    "name",
    "host",
    "port",
    "timeoutInMilli",
    "rise",
    "fall",
    "checkIntervalInMilli",
    "path",
    "uri",
    "hostHeader",
    "headers",
    "expectedStatus",
    "expect",
    "bodyContains",
    "tls",
    "command",
    "preferIpv4",
}


def _go_check(f: Fields, service: ServiceConfig, defaults: dict[str, Any]) -> CheckConfig:
    kind = (f.text("type", default="tcp") or "tcp").lower()
    if kind not in CHECK_TYPES:
        raise f.error("type", f"unknown check type {kind!r} (one of {', '.join(CHECK_TYPES)})")
    host = f.text("host", default=service.host) or service.host
    port = f.integer("port", default=service.port, minimum=1, maximum=65535)
    assert port is not None
    check = CheckConfig(
        type=kind,
        host=host,
        port=port,
        name=f.text("name", default=f"{kind}_{host}:{port}") or kind,
        timeout=millis(f, "timeoutInMilli", defaults["timeout"] or 1000),
        interval=millis(f, "checkIntervalInMilli", defaults["interval"] or 1000),
        rise=f.integer("rise", default=defaults["rise"] or 3, minimum=1) or 3,
        fall=f.integer("fall", default=defaults["fall"] or 2, minimum=1) or 2,
    )
    _http_and_exec_options(f, check, default_statuses=StatusRange([(100, 499)]))
    f.warn_unknown(_GO_CHECK_KEYS)
    return check


def _http_and_exec_options(f: Fields, check: CheckConfig, default_statuses: StatusRange) -> None:
    if check.type in ("http", "https"):
        check.path = f.text("path", "uri", default="/") or "/"
        if not check.path.startswith("/"):
            check.path = "/" + check.path
        check.headers = f.text_map("headers")
        check.host_header = f.text("hostHeader", "host_header")
        check.expect = f.text("expect", "bodyContains")
        check.tls = check.type == "https" or f.flag("tls", "ssl")
        check.statuses = _statuses(f, default_statuses)
        if check.type == "https":
            check.type = "http"
    elif check.type == "exec":
        command = f.get("command")
        if command is None:
            raise f.error("command", "is required for exec checks")
        if isinstance(command, str):
            if not command.strip():
                raise f.error("command", "must not be empty")
            check.command = command
        else:
            check.command = f.text_list("command")
            if not check.command:
                raise f.error("command", "must not be empty")


def _statuses(f: Fields, default: StatusRange) -> StatusRange:
    value = f.get("expectedStatus", "expected_status")
    if value is None:
        return default
    key = f.key_name("expectedStatus", "expected_status")
    items = value if isinstance(value, list) else [value]
    ranges: list[tuple[int, int]] = []
    for item in items:
        text = str(item).strip()
        match = re.fullmatch(r"(\d{3})(?:\s*-\s*(\d{3}))?", text)
        if match is None or isinstance(item, bool):
            raise f.error(key, f"{item!r} is not a status or a range like 200-399")
        lo = int(match.group(1))
        hi = int(match.group(2) or lo)
        if lo > hi:
            raise f.error(key, f"{text}: empty range")
        ranges.append((lo, hi))
    return StatusRange(ranges)


_GO_REPORTER_KEYS = {
    "type",
    "hosts",
    "path",
    "connectionTimeoutInMilli",
    "sessionTimeoutInMilli",
    "refreshIntervalInMilli",
    "exposeOnUnavailable",
    "format",
    "usePathEncoding",
    "auth",
    "dataDir",
    "append",
}


def _go_reporter(f: Fields, data_dir: Path | None) -> ReporterConfig:
    kind = (f.text("type", required=True) or "").lower()
    if kind not in REPORTER_TYPES:
        raise f.error(
            "type", f"unknown reporter type {kind!r} (one of {', '.join(REPORTER_TYPES)})"
        )
    reporter = ReporterConfig(type=kind)
    if kind == "file":
        reporter.file_path = Path(f.text("path", default="/tmp/nerve.report") or "")
        reporter.append = f.flag("append")
    elif kind in ("zookeeper", "embedded"):
        reporter.path = registry_path(f, "path")
        reporter.expose_on_unavailable = f.flag("exposeOnUnavailable")
        reporter.refresh_interval = millis(f, "refreshIntervalInMilli", 30000)
        fmt = (f.text("format", default="go-nerve") or "").lower()
        if fmt not in ("go-nerve", "airbnb"):
            raise f.error("format", f"{fmt!r} is not go-nerve or airbnb")
        reporter.format = "airbnb" if fmt == "airbnb" else "go-nerve"
        reporter.use_path_encoding = f.flag("usePathEncoding")
        if kind == "zookeeper":
            reporter.hosts = registry_hosts(f, "hosts")
            # go-nerve's connectionTimeoutInMilli really is the session timeout (§1.2);
            # its 2 s default is too short for real networks: carpool defaults to 10 s
            reporter.session_timeout = millis(
                f, "sessionTimeoutInMilli", f.number("connectionTimeoutInMilli") or 10000
            )
            reporter.auth = _zk_auth(f)
        else:
            reporter.data_dir = embedded_registry_dir(f, data_dir)
    return reporter


def _zk_auth(f: Fields) -> tuple[tuple[str, str], ...]:
    """``auth: "user:password"`` (digest) or ``auth: {scheme: digest, credential: "u:p"}``."""
    value = f.get("auth")
    if value is None:
        return ()
    if isinstance(value, str):
        scheme, credential = "digest", value
    else:
        sub = f.sub("auth")
        scheme = sub.text("scheme", default="digest") or "digest"
        credential = sub.text("credential", required=True) or ""
    if scheme == "digest" and ":" not in credential:
        raise f.error(f.key_name("auth"), "a digest credential is user:password")
    return ((scheme, credential),)


# --------------------------------------------------------------------------- Airbnb nerve


_AIRBNB_ROOT_KEYS = {
    "instance_id",
    "services",
    "service_conf_dir",
    "heartbeat_path",
    "max_repeated_report_failures",
    "statsd",
    "api_host",
    "api_port",
}
_AIRBNB_SERVICE_KEYS = {
    "host",
    "port",
    "reporter_type",
    "check_interval",
    "checks",
    "check_mocked",
    "load_test_concurrency",
    "weight",
    "haproxy_server_options",
    "labels",
    "rate_limiting",
    "zk_hosts",
    "zk_path",
    "node_type",
    "use_path_encoding",
    "ttl_seconds",
    "data_dir",
    "expose_on_unavailable",
}
_AIRBNB_CHECK_KEYS = {
    "type",
    "name",
    "host",
    "port",
    "timeout",
    "rise",
    "fall",
    "uri",
    "ssl",
    "read_timeout",
    "open_timeout",
    "ssl_timeout",
    "headers",
    "expect",
    "host_header",
    "expected_status",
    "command",
}


def _load_airbnb(root: Fields, path: Path, data_dir: Path | None) -> NerveConfig:
    instance_id = root.text("instance_id", required=True) or ""
    instance_id = os.environ.get("NERVE_INSTANCE_ID", instance_id)
    raw_services = root.get("services", default={})
    if not isinstance(raw_services, dict):
        raise root.error("services", "expected a mapping of service name to service")
    blocks: list[tuple[str, Fields]] = [
        (str(name), Fields(body, f"services.{name}", root.source))
        for name, body in raw_services.items()
    ]
    conf_dir = root.text("service_conf_dir")
    if conf_dir:
        directory = (path.parent / conf_dir) if not Path(conf_dir).is_absolute() else Path(conf_dir)
        if not directory.is_dir():
            raise root.error("service_conf_dir", f"{directory} is not a directory")
        for file in sorted(directory.iterdir()):
            if file.suffix not in (".json", ".yaml", ".yml"):
                continue
            body = parse_yaml(file.read_text(), str(file))
            blocks.append((file.stem, Fields(body, "", str(file))))
    if not blocks:
        raise root.error("services", "at least one service is needed")
    services = [_airbnb_service(name, f, instance_id, data_dir) for name, f in blocks]
    api_port = root.integer("api_port", default=0, minimum=0, maximum=65535) or 0
    heartbeat = root.text("heartbeat_path")
    warn_unsupported(root, "nerve", "max_repeated_report_failures", "statsd")
    root.warn_unknown(_AIRBNB_ROOT_KEYS)
    return NerveConfig(
        source=path,
        format="airbnb",
        services=services,
        api_host=root.text("api_host", default="") or "",
        api_port=api_port,
        heartbeat_path=Path(heartbeat) if heartbeat else None,
    )


def _airbnb_service(name: str, f: Fields, instance_id: str, data_dir: Path | None) -> ServiceConfig:
    host = f.text("host", required=True) or ""
    port = f.integer("port", required=True, minimum=1, maximum=65535)
    assert port is not None
    weight_configured = f.has("weight")
    weight = f.integer("weight", default=255, minimum=0, maximum=255)
    assert weight is not None
    interval = f.number("check_interval", default=0.5, minimum=0.01) or 0.5
    service = ServiceConfig(
        name=name,
        host=host,
        port=port,
        reporter_service_name=instance_id,
        weight=weight,
        weight_configured=weight_configured,
        labels=f.text_map("labels"),
        haproxy_server_options=f.text("haproxy_server_options", default="") or "",
        warmup=False,
        disable_min=0.0,
        first_result_decides=True,
        set_down_on_shutdown=True,
    )
    if f.flag("check_mocked"):
        service.checks = []
    else:
        service.checks = [_airbnb_check(c, service, interval) for c in f.items("checks")]
        if not service.checks:
            raise f.error("checks", "at least one check is needed (or check_mocked: true)")
    _unique_check_names(service, f)
    kind = (f.text("reporter_type", default="zookeeper") or "").lower()
    if kind not in ("zookeeper", "embedded"):
        raise f.error("reporter_type", f"{kind!r} is not supported (zookeeper or embedded)")
    node_type = f.text("node_type", default="ephemeral_sequential")
    if node_type != "ephemeral_sequential":
        raise f.error("node_type", f"{node_type!r} is not supported (ephemeral_sequential)")
    reporter = ReporterConfig(type=kind, format="airbnb")
    reporter.use_path_encoding = f.flag("use_path_encoding")
    reporter.expose_on_unavailable = f.flag("expose_on_unavailable")
    if kind == "zookeeper":
        reporter.hosts = registry_hosts(f, "zk_hosts")
        reporter.path = registry_path(f, "zk_path")
        reporter.session_timeout = 10.0
    else:
        reporter.path = registry_path(f, "zk_path")
        reporter.data_dir = embedded_registry_dir(f, data_dir)
    service.reporters = [reporter]
    service.rate_limit = _rate_limit(f, "rate_limiting", snake=True)
    warn_unsupported(f, "nerve", "ttl_seconds", "load_test_concurrency")
    f.warn_unknown(_AIRBNB_SERVICE_KEYS)
    return service


def _airbnb_check(f: Fields, service: ServiceConfig, interval: float) -> CheckConfig:
    kind = (f.text("type", required=True) or "").lower()
    if kind == "noop":
        kind = "exec"
    if kind not in CHECK_TYPES:
        raise f.error("type", f"unknown check type {kind!r} (one of {', '.join(CHECK_TYPES)})")
    host = f.text("host", default=service.host) or service.host
    port = f.integer("port", default=service.port, minimum=1, maximum=65535)
    assert port is not None
    timeout = f.number("timeout", default=0.1, minimum=0.001) or 0.1
    check = CheckConfig(
        type=kind,
        host=host,
        port=port,
        name=f.text("name", default=f"{kind}-{host}:{port}") or kind,
        timeout=max(timeout, f.number("read_timeout", default=0) or 0),
        interval=interval,
        rise=f.integer("rise", default=1, minimum=1) or 1,
        fall=f.integer("fall", default=1, minimum=1) or 1,
    )
    if (f.text("type") or "").lower() == "noop":
        check.command = ["true"]
    elif kind in ("http", "https") and not f.has("uri"):
        raise f.error("uri", "is required for http checks")
    if check.command is None:
        _http_and_exec_options(f, check, default_statuses=StatusRange([(200, 399)]))
    f.warn_unknown(_AIRBNB_CHECK_KEYS)
    return check


# --------------------------------------------------------------------------- warm-up


FIBONACCI_STEPS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233)


def warmup_weight(step: int, weight: int) -> int:
    """go-nerve's ladder: ``ceil(fib[step] * weight / 233)``, at least 1 (0 stays 0)."""
    if weight <= 0:
        return 0
    step = max(0, min(step, len(FIBONACCI_STEPS) - 1))
    return max(1, math.ceil(FIBONACCI_STEPS[step] * weight / FIBONACCI_STEPS[-1]))
