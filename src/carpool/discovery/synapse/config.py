"""synapse configuration: go-synapse's (reference §2.4) and Airbnb synapse's (§2.1), one model.

The format is recognised by shape: go-synapse has a list of ``routers``; Airbnb synapse has
a mapping of ``services`` (and/or ``service_conf_dir``) plus one top-level key per config
generator (``haproxy``, ``file_output``).  Both are read as YAML (JSON is YAML).

Deliberate differences from the originals (each one is a bug or a trap in them):

* unknown keys are warned about instead of ignored silently; bad values are an ``error:``
  naming the file and the field, before anything starts;
* go-synapse's ``serverOptions`` is honoured without ``routerOptions`` (it was silently
  ignored there);
* ``reloadCommand`` is optional: without it carpool runs HAProxy itself in master-worker
  mode and reloads it through the master socket;
* Airbnb ``listen`` lines are split between frontend and backend by keyword, but an
  unknown keyword goes to the backend instead of being dropped;
* HAProxy servers are pre-allocated *slots* named ``srv<n>`` with ``id <n>`` (so that
  instances come and go through the runtime API without reloads), not Airbnb's
  ``<name>_<host>:<port>`` nor go-synapse's ``<name>``; the API's ``/status`` maps slots
  to instances.  No ``cookie`` is added automatically (write ``cookie {{sha1String
  .Name}}`` or ``cookie %{name}`` in the server options, as go-synapse users did);
* nerve weights are always honoured (Airbnb needed ``use_nerve_weights`` and a reload);
  a payload without a weight gets 255, go-nerve's full weight, so mixed fleets balance;
* ``label_filters`` etc. of a service listed in several routers come from its first
  listing (one watcher feeds every router).

carpool extensions (accepted in both formats, go-synapse spelling shown):

* service ``watcher.type: embedded`` (the single-host registry, ``path``, optional
  ``dataDir``); ``watcher.sessionTimeoutInMilli``;
* service ``port``/``bindAddress``/``bindOptions`` (go-synapse users wrote ``bind`` lines
  themselves; both work), ``labelFilters``, ``defaultServers``, ``keepDefaultServers``,
  ``usePreviousBackends`` (default true), ``backendPortOverride``, ``backendName``,
  ``slots`` (minimum pre-allocated server slots), ``drainTimeoutInMilli``;
* HAProxy router ``socketPath``, ``masterSocketPath``, ``haproxyPath``, ``statePath`` (the
  last-known-backends file, read at a cold start while the registry is down).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

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
from carpool.discovery.payload import Backend
from carpool.discovery.registry import RegistrySpec
from carpool.errors import ValidationError
from carpool.log import get_logger

ConfigFormat = Literal["go-synapse", "airbnb"]
log = get_logger(__name__)

RouterType = Literal["haproxy", "template", "console"]
ROUTER_TYPES = ("haproxy", "template", "console")
DEFAULT_API_PORT = 3455
DEFAULT_SLOTS = 8


@dataclass(frozen=True)
class LabelFilter:
    """Airbnb's ``label_filters`` entry: keep backends whose label matches (or not)."""

    label: str
    value: str
    condition: Literal["equals", "not-equals"] = "equals"

    def accepts(self, labels: dict[str, str]) -> bool:
        equal = labels.get(self.label) == self.value
        return equal if self.condition == "equals" else not equal


@dataclass
class ServiceConfig:
    """One discovered service and how it is routed."""

    name: str
    registry: RegistrySpec
    path: str
    #: HAProxy
    frontend: list[str] = field(default_factory=list)
    backend: list[str] = field(default_factory=list)
    port: int | None = None
    bind_address: str = "127.0.0.1"
    bind_options: str = ""
    backend_name: str = ""
    #: a template for every server line; ``{{.Name}}``/``%{name}``, host, port expand
    server_options: str = ""
    slots: int = DEFAULT_SLOTS
    drain_timeout: float = 10.0
    #: discovery post-processing
    label_filters: list[LabelFilter] = field(default_factory=list)
    default_servers: list[Backend] = field(default_factory=list)
    keep_default_servers: bool = False
    use_previous_backends: bool = True
    backend_port_override: int | None = None
    server_sort: str = "name"

    @property
    def haproxy_backend(self) -> str:
        return self.backend_name or self.name


@dataclass
class HaproxyOptions:
    config_path: Path
    reload_command: list[str] | None = None
    reload_timeout: float = 10.0
    reload_min_interval: float = 0.5
    cleanup_command: list[str] | None = None
    global_lines: list[str] = field(default_factory=list)
    defaults_lines: list[str] = field(default_factory=list)
    #: ``listen``/extra sections: header -> lines (``listen stats`` -> [...])
    extra_sections: dict[str, list[str]] = field(default_factory=dict)
    socket_path: Path | None = None
    master_socket_path: Path | None = None
    haproxy_path: str = "/usr/sbin/haproxy"
    state_path: Path | None = None


@dataclass
class TemplateOptions:
    template: str
    template_name: str
    destination: Path
    mode: int = 0o644
    post_command: list[str] | None = None
    post_command_timeout: float = 2.0
    #: Airbnb's file_output: ``<service>.json`` per service in ``destination`` (a directory)
    #: instead of rendering ``template``
    json_per_service: bool = False


@dataclass
class RouterConfig:
    type: RouterType
    services: list[ServiceConfig]
    events_buffer: float = 0.5
    haproxy: HaproxyOptions | None = None
    template: TemplateOptions | None = None


@dataclass
class SynapseConfig:
    format: ConfigFormat
    routers: list[RouterConfig]
    api_host: str = "127.0.0.1"
    api_port: int = DEFAULT_API_PORT
    state_dir: Path | None = None
    source: str = ""

    @property
    def services(self) -> list[ServiceConfig]:
        return [s for r in self.routers for s in r.services]


# --------------------------------------------------------------------------- loading


def load_config(
    path: Path,
    *,
    data_dir: Path | None = None,
    api_host: str | None = None,
    api_port: int | None = None,
    state_dir: Path | None = None,
) -> SynapseConfig:
    """Read and validate a synapse config of either format; errors name file and field.

    ``api_host``, ``api_port`` and ``state_dir`` override the file's (command-line flags).
    """
    source = str(path)
    raw = parse_yaml(read_config_text(path), source)
    root = Fields(raw, "", source)
    if root.has("routers"):
        config = _load_go_synapse(root, data_dir)
    elif root.has("services", "service_conf_dir"):
        config = _load_airbnb(root, path, data_dir)
    else:
        raise ValidationError(
            f"{source}: routers: is required (go-synapse), or services: (Airbnb synapse)"
        )
    config.source = source
    _check_unique(config)
    if api_host is not None:
        config.api_host = api_host
    if api_port is not None:
        config.api_port = api_port
    if state_dir is not None:
        config.state_dir = state_dir
    return config


def default_state_dir(carpool_data_dir: Path) -> Path:
    """Where synapse keeps its state when neither the config nor a flag says."""
    return carpool_data_dir / "discovery" / "synapse"


def _check_unique(config: SynapseConfig) -> None:
    """Names are unique per router; across routers one name means one watched path."""
    watched: dict[str, tuple[RegistrySpec, str]] = {}
    for router in config.routers:
        names: set[str] = set()
        backends: set[str] = set()
        for service in router.services:
            if service.name in names:
                raise ValidationError(f"{config.source}: services: {service.name!r} is duplicated")
            names.add(service.name)
            spec = (service.registry, service.path)
            if watched.setdefault(service.name, spec) != spec:
                raise ValidationError(
                    f"{config.source}: services: {service.name!r} watches two different paths"
                )
            if router.type == "haproxy":
                if service.haproxy_backend in backends:
                    raise ValidationError(
                        f"{config.source}: services: backend {service.haproxy_backend!r} "
                        "is used twice"
                    )
                backends.add(service.haproxy_backend)


def _argv(f: Fields, key: str) -> list[str] | None:
    value = f.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return ["sh", "-c", value] if value.strip() else None
    argv = f.text_list(key)
    if not argv:
        raise f.error(f.key_name(key), "must not be empty")
    return argv


def _lines(f: Fields, *keys: str) -> list[str]:
    return f.text_list(*keys) or []


_GO_ROOT_KEYS = {"logLevel", "apiHost", "apiPort", "routers", "stateDir"}
_GO_ROUTER_KEYS = {
    "type",
    "eventsBufferDurationInMilli",
    "services",
    "configPath",
    "reloadCommand",
    "reloadTimeoutInMilli",
    "reloadMinIntervalInMilli",
    "cleanupCommand",
    "cleanupTimeoutInMilli",
    "statePath",
    "global",
    "defaults",
    "listen",
    "socketPath",
    "masterSocketPath",
    "haproxyPath",
    "template",
    "templateFile",
    "destinationFile",
    "destinationFileMode",
    "postTemplateCommand",
    "postTemplateCommandTimeoutInMilli",
}
_GO_SERVICE_KEYS = {
    "name",
    "watcher",
    "serverSort",
    "serverCorrelation",
    "routerOptions",
    "serverOptions",
    "port",
    "bindAddress",
    "bindOptions",
    "backendName",
    "labelFilters",
    "defaultServers",
    "keepDefaultServers",
    "usePreviousBackends",
    "backendPortOverride",
    "slots",
    "drainTimeoutInMilli",
}


def _load_go_synapse(root: Fields, data_dir: Path | None) -> SynapseConfig:
    routers = [_go_router(f, data_dir) for f in root.items("routers")]
    if not routers:
        raise root.error("routers", "at least one router is required")
    api_port = root.integer("apiPort", default=DEFAULT_API_PORT, minimum=0, maximum=65535)
    state_dir = root.text("stateDir")
    config = SynapseConfig(
        format="go-synapse",
        routers=routers,
        api_host=root.text("apiHost", default="127.0.0.1") or "127.0.0.1",
        api_port=DEFAULT_API_PORT if api_port is None else api_port,
        state_dir=Path(state_dir) if state_dir else None,
    )
    root.warn_unknown(_GO_ROOT_KEYS)
    return config


def _go_router(f: Fields, data_dir: Path | None) -> RouterConfig:
    kind = (f.text("type", required=True) or "").lower()
    if kind not in ROUTER_TYPES:
        raise f.error("type", f"unknown router type {kind!r} (one of {', '.join(ROUTER_TYPES)})")
    services = [_go_service(s, data_dir) for s in f.items("services")]
    router = RouterConfig(
        type=kind,  # type: ignore[arg-type]
        services=services,
        events_buffer=millis(f, "eventsBufferDurationInMilli", 500),
    )
    if kind == "haproxy":
        config_path = f.text("configPath", required=True) or ""
        listen = f.get("listen")
        extra: dict[str, list[str]] = {}
        if listen is not None:
            sub = f.sub("listen")
            for name in sub.raw:
                extra[f"listen {name}"] = _lines(sub, str(name))
        state = f.text("statePath")
        socket = f.text("socketPath")
        master = f.text("masterSocketPath")
        router.haproxy = HaproxyOptions(
            config_path=Path(config_path),
            reload_command=_argv(f, "reloadCommand"),
            reload_timeout=millis(f, "reloadTimeoutInMilli", 10000),
            reload_min_interval=millis(f, "reloadMinIntervalInMilli", 500),
            cleanup_command=_argv(f, "cleanupCommand"),
            global_lines=_lines(f, "global"),
            defaults_lines=_lines(f, "defaults"),
            extra_sections=extra,
            socket_path=Path(socket) if socket else None,
            master_socket_path=Path(master) if master else None,
            haproxy_path=f.text("haproxyPath", default="/usr/sbin/haproxy") or "",
            state_path=Path(state) if state else None,
        )
        _validate_haproxy(router.haproxy, f)
    elif kind == "template":
        router.template = _template_options(f)
    f.warn_unknown(_GO_ROUTER_KEYS)
    return router


def _template_options(f: Fields) -> TemplateOptions:
    inline = f.text("template")
    file = f.text("templateFile")
    if (inline is None) == (file is None):
        raise f.error("template", "exactly one of template and templateFile is required")
    if file is not None:
        try:
            inline = Path(file).read_text()
        except OSError as exc:
            raise f.error("templateFile", f"cannot read {file}: {exc.strerror}") from None
    destination = f.text("destinationFile", required=True) or ""
    mode_raw = f.get("destinationFileMode")
    mode = 0o644
    if mode_raw is not None:
        try:
            mode = int(str(mode_raw), 8) if isinstance(mode_raw, str) else int(mode_raw)
        except ValueError:
            raise f.error("destinationFileMode", f"{mode_raw!r} is not an octal mode") from None
    return TemplateOptions(
        template=inline or "",
        template_name=file or "template",
        destination=Path(destination),
        mode=mode,
        post_command=_argv(f, "postTemplateCommand"),
        post_command_timeout=millis(f, "postTemplateCommandTimeoutInMilli", 2000),
    )


def _validate_haproxy(options: HaproxyOptions, f: Fields) -> None:
    for line in options.global_lines:
        words = line.split()
        if words[:2] == ["stats", "socket"] and len(words) > 2 and options.socket_path is None:
            options.socket_path = Path(words[2])
    if options.socket_path is not None and not str(options.socket_path).startswith("/"):
        raise f.error("socketPath", f"{options.socket_path} is not an absolute unix socket path")


def _registry_from_watcher(w: Fields, data_dir: Path | None) -> tuple[RegistrySpec, str]:
    kind = (w.text("type", default="zookeeper") or "").lower()
    if kind not in ("zookeeper", "embedded"):
        raise w.error("type", f"unknown watcher type {kind!r} (zookeeper or embedded)")
    path = registry_path(w, "path")
    if kind == "zookeeper":
        hosts = registry_hosts(w, "hosts", comma_separated=True)
        # go-synapse's timeoutInMilli is the session timeout (2 s there: too short)
        timeout = millis(w, "sessionTimeoutInMilli", w.number("timeoutInMilli") or 10000)
        return RegistrySpec("zookeeper", hosts=hosts, session_timeout=max(timeout, 1.0)), path
    return RegistrySpec("embedded", data_dir=embedded_registry_dir(w, data_dir)), path


def _go_service(f: Fields, data_dir: Path | None) -> ServiceConfig:
    if not f.has("watcher"):
        raise f.error("watcher", "is required")
    w = f.sub("watcher")
    registry, path = _registry_from_watcher(w, data_dir)
    w.warn_unknown({"type", "hosts", "path", "timeoutInMilli", "sessionTimeoutInMilli", "dataDir"})
    default_name = path.strip("/").replace("/", "_")
    name = f.text("name", default=default_name) or default_name
    service = ServiceConfig(name=name, registry=registry, path=path)
    if f.has("routerOptions"):
        ro = f.sub("routerOptions")
        service.frontend = _lines(ro, "frontend")
        service.backend = _lines(ro, "backend")
        ro.warn_unknown({"frontend", "backend"})
    service.server_options = f.text("serverOptions", default="") or ""
    sort = (f.text("serverSort", default="name") or "name").lower()
    if sort not in ("random", "name", "date"):
        raise f.error("serverSort", f"{sort!r} is not random, name or date")
    service.server_sort = sort
    if f.has("serverCorrelation"):
        raise f.error("serverCorrelation", "is not supported by carpool synapse")
    _common_service_keys(f, service, go=True)
    f.warn_unknown(_GO_SERVICE_KEYS)
    return service


def _common_service_keys(f: Fields, service: ServiceConfig, *, go: bool) -> None:
    """Keys both formats share (go spelling, or Airbnb snake_case)."""

    def key(go_name: str, airbnb: str) -> str:
        return go_name if go else airbnb

    service.port = f.integer(key("port", "port"), minimum=1, maximum=65535)
    service.bind_address = (
        f.text(key("bindAddress", "bind_address"), default=service.bind_address)
        or service.bind_address
    )
    service.bind_options = f.text(key("bindOptions", "bind_options"), default="") or ""
    service.backend_name = f.text(key("backendName", "backend_name"), default="") or ""
    for i, lf in enumerate(f.items(key("labelFilters", "label_filters"))):
        condition = (lf.text("condition", default="equals") or "").lower()
        if condition not in ("equals", "not-equals"):
            raise lf.error("condition", f"{condition!r} is not equals or not-equals")
        service.label_filters.append(
            LabelFilter(
                label=lf.text("label", required=True) or "",
                value=lf.text("value", default="") or "",
                condition=condition,  # type: ignore[arg-type]
            )
        )
        del i
    for ds in f.items(key("defaultServers", "default_servers")):
        host = ds.text("host", required=True) or ""
        port = ds.integer("port", required=True, minimum=1, maximum=65535) or 0
        name = ds.text("name", default=f"{host}:{port}") or ""
        service.default_servers.append(Backend(host=host, port=port, name=name))
    service.keep_default_servers = f.flag(key("keepDefaultServers", "keep_default_servers"))
    service.use_previous_backends = f.flag(
        key("usePreviousBackends", "use_previous_backends"), default=True
    )
    service.backend_port_override = f.integer(
        key("backendPortOverride", "backend_port_override"), minimum=1, maximum=65535
    )
    slots = f.integer("slots", default=DEFAULT_SLOTS, minimum=1, maximum=4096)
    service.slots = slots or DEFAULT_SLOTS
    service.drain_timeout = millis(f, key("drainTimeoutInMilli", "drain_timeout_ms"), 10000)


# --------------------------------------------------------------------------- Airbnb


_AIRBNB_FRONTEND_KEYWORDS = (
    "bind",
    "default_backend",
    "use_backend",
    "capture",
    "monitor-uri",
    "monitor",
    "maxconn",
    "timeout client",
    "tcp-request connection",
    "tcp-request session",
    "http-request capture",
    "unique-id",
    "option accept-invalid-http-request",
    "option clitcpka",
    "option contstats",
    "option dontlog-normal",
    "option http-use-proxy-header",
    "option socket-stats",
    "option tcp-smart-accept",
    "rate-limit sessions",
)
_AIRBNB_BOTH_KEYWORDS = ("mode", "log", "option httplog", "option tcplog", "option dontlognull")
_AIRBNB_ROOT_KEYS = {"services", "service_conf_dir", "haproxy", "file_output", "statsd", "api"}
_AIRBNB_HAPROXY_KEYS = {
    "global",
    "defaults",
    "extra_sections",
    "do_writes",
    "do_reloads",
    "do_socket",
    "do_checks",
    "config_file_path",
    "reload_command",
    "socket_file_path",
    "check_command",
    "candidate_config_file_path",
    "bind_address",
    "shared_frontend",
    "restart_interval",
    "restart_jitter",
    "state_file_path",
    "state_file_ttl",
    "server_order_seed",
    "max_server_id",
    "master_socket_path",
    "haproxy_path",
    "events_buffer_ms",
}
_AIRBNB_SERVICE_KEYS = {
    "discovery",
    "default_servers",
    "keep_default_servers",
    "use_previous_backends",
    "backend_port_override",
    "haproxy",
    "leader_election",
    "label_filters",
}


def split_listen_lines(lines: list[str]) -> tuple[list[str], list[str]]:
    """Airbnb's ``listen`` lines sorted into (frontend, backend) by their keyword."""
    frontend: list[str] = []
    backend: list[str] = []
    for line in lines:
        text = " ".join(line.split())
        if text.startswith(_AIRBNB_BOTH_KEYWORDS):
            frontend.append(line)
            backend.append(line)
        elif text.startswith(_AIRBNB_FRONTEND_KEYWORDS):
            frontend.append(line)
        else:
            backend.append(line)
    return frontend, backend


def _load_airbnb(root: Fields, path: Path, data_dir: Path | None) -> SynapseConfig:
    source = root.source
    services_raw: dict[str, Fields] = {}
    if root.has("services"):
        sub = root.sub("services")
        for name in sub.raw:
            services_raw[str(name)] = sub.sub(str(name))
    conf_dir = root.text("service_conf_dir")
    if conf_dir:
        directory = Path(conf_dir)
        if not directory.is_absolute():
            directory = path.parent / directory
        if not directory.is_dir():
            raise root.error("service_conf_dir", f"{directory} is not a directory")
        for file in sorted(directory.iterdir()):
            if file.suffix in (".json", ".yaml", ".yml"):
                raw = parse_yaml(file.read_text(), str(file))
                services_raw[file.stem] = Fields(raw, "", str(file))
    if not root.has("haproxy"):
        raise root.error("haproxy", "is required (carpool reads Airbnb's haproxy generator)")
    h = root.sub("haproxy")
    if h.get("global") is None:
        raise h.error("global", "is required")
    if h.get("defaults") is None:
        raise h.error("defaults", "is required")
    config_path = h.text("config_file_path", required=True) or ""
    reload_command = _argv(h, "reload_command") if h.flag("do_reloads", default=True) else None
    extra: dict[str, list[str]] = {}
    if h.has("extra_sections"):
        es = h.sub("extra_sections")
        for header in es.raw:
            extra[str(header)] = _lines(es, str(header))
    if isinstance(h.get("socket_file_path"), list):
        socket: str | None = (h.text_list("socket_file_path") or [""])[0] or None
    else:
        socket = h.text("socket_file_path")
    state = h.text("state_file_path")
    master = h.text("master_socket_path")
    options = HaproxyOptions(
        config_path=Path(config_path),
        reload_command=reload_command,
        reload_min_interval=float(h.number("restart_interval", default=2.0) or 0) / 4.0,
        global_lines=_lines(h, "global"),
        defaults_lines=_lines(h, "defaults"),
        extra_sections=extra,
        socket_path=Path(socket) if socket and h.flag("do_socket", default=True) else None,
        master_socket_path=Path(master) if master else None,
        haproxy_path=h.text("haproxy_path", default="/usr/sbin/haproxy") or "",
        state_path=Path(state) if state else None,
    )
    f_dummy = h
    _validate_haproxy(options, f_dummy)
    bind_default = h.text("bind_address", default="localhost") or "localhost"
    services = [
        _airbnb_service(name, f, data_dir, bind_default) for name, f in services_raw.items()
    ]
    warn_unsupported(
        h,
        "synapse",
        "do_checks",
        "check_command",
        "candidate_config_file_path",
        "shared_frontend",
        "restart_jitter",
        "state_file_ttl",
        "server_order_seed",
        "max_server_id",
    )
    if not h.flag("do_writes", default=True):
        log.warning("%s: haproxy.do_writes: false is not supported, ignored", source)
    h.warn_unknown(_AIRBNB_HAPROXY_KEYS)
    router = RouterConfig(
        type="haproxy",
        services=services,
        events_buffer=millis(h, "events_buffer_ms", 500),
        haproxy=options,
    )
    routers = [router]
    if root.has("file_output"):
        fo = root.sub("file_output")
        output_dir = fo.text("output_directory", required=True) or ""
        routers.append(
            RouterConfig(
                type="template",
                services=[replace(s) for s in services],
                template=TemplateOptions(
                    template="",
                    template_name="file_output",
                    destination=Path(output_dir),
                    json_per_service=True,
                ),
            )
        )
    api = root.sub("api") if root.has("api") else None
    api_port = api.integer("port", default=0, minimum=0, maximum=65535) if api else 0
    warn_unsupported(root, "synapse", "statsd")
    root.warn_unknown(_AIRBNB_ROOT_KEYS)
    return SynapseConfig(
        format="airbnb",
        routers=routers,
        api_host=(api.text("host", default="127.0.0.1") if api else None) or "127.0.0.1",
        api_port=api_port or 0,
    )


def _airbnb_service(
    name: str, f: Fields, data_dir: Path | None, bind_default: str
) -> ServiceConfig:
    if not f.has("discovery"):
        raise f.error("discovery", "is required")
    d = f.sub("discovery")
    method = (d.text("method", required=True) or "").lower()
    if method not in ("zookeeper", "embedded"):
        raise d.error("method", f"{method!r} is not supported (zookeeper or embedded)")
    registry, path = _registry_from_watcher(_AirbnbWatcher(d, method), data_dir)
    service = ServiceConfig(name=name, registry=registry, path=path)
    _common_service_keys(f, service, go=False)
    if f.has("haproxy"):
        hp = f.sub("haproxy")
        listen_front, listen_back = split_listen_lines(_lines(hp, "listen"))
        service.frontend = _lines(hp, "frontend") + listen_front
        service.backend = _lines(hp, "backend") + listen_back
        service.port = hp.integer("port", minimum=1, maximum=65535)
        service.bind_address = hp.text("bind_address", default=bind_default) or bind_default
        service.bind_options = hp.text("bind_options", default="") or ""
        service.backend_name = hp.text("backend_name", default="") or ""
        service.server_options = hp.text("server_options", default="") or ""
        slots = hp.integer("slots", default=DEFAULT_SLOTS, minimum=1, maximum=4096)
        service.slots = slots or DEFAULT_SLOTS
        warn_unsupported(
            hp, "synapse", "backend_order", "shared_frontend", "cookie_value_method", "disabled"
        )
        hp.warn_unknown(
            {
                "port",
                "bind_address",
                "bind_options",
                "server_options",
                "frontend",
                "backend",
                "listen",
                "backend_name",
                "backend_order",
                "shared_frontend",
                "cookie_value_method",
                "use_nerve_weights",
                "disabled",
                "slots",
            }
        )
    warn_unsupported(f, "synapse", "leader_election")
    f.warn_unknown(_AIRBNB_SERVICE_KEYS | {"slots", "drain_timeout_ms", "port"})
    return service


class _AirbnbWatcher(Fields):
    """Airbnb's ``discovery`` block read through the go-synapse watcher reader."""

    def __init__(self, d: Fields, method: str) -> None:
        super().__init__(dict(d.raw), d.where, d.source)
        self._method = method

    def text(self, *keys: str, default: str | None = None, required: bool = False) -> str | None:
        if keys[0] == "type":
            return self._method
        return super().text(*keys, default=default, required=required)
