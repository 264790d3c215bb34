"""The commands that start pods: run, prepare, run-prepared (rkt's names and flags).

``run`` and ``prepare`` take ``[pod flags] IMAGE [app flags] [-- ARGS] [--- IMAGE …]``.
Declared as :class:`~carpool.cli.spec.CommandSpec`: ``carpool run`` is on the path of
every container start, so it starts without click, and library imports stay inside
the functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carpool.cli.context import CliContext
from carpool.cli.spec import FLAG, MULTIPLE, Argument, CommandSpec, Option

if TYPE_CHECKING:
    from carpool.runtime.options import AppOptions, PodOptions, RunOptions
    from carpool.runtime.pods import Pod

APP_FLAGS = ("--exec", "--user", "--group", "--set-env", "--mount", "--name")

# flags that apply when a pod runs (run and run-prepared)
RUNTIME_OPTIONS = (
    Option(("--net",), "net", "host, none, or CNI networks (default: default).", kind=MULTIPLE),
    Option(("--hostname",), "hostname", "Pod hostname (default carpool-<uuid>)."),
    Option(("--dns",), "dns", "Name server for /etc/resolv.conf (or host, none).", kind=MULTIPLE),
    Option(("--dns-search",), "dns_search", "Search domain for /etc/resolv.conf.", kind=MULTIPLE),
    Option(("--dns-opt",), "dns_opt", "Option line entry for /etc/resolv.conf.", kind=MULTIPLE),
    Option(("--interactive",), "interactive", "Give the (single) app this terminal.", kind=FLAG),
    Option(
        ("--insecure-options",),
        "insecure_options",
        "Lift protections: capabilities,paths,seccomp (or all).",
        kind=MULTIPLE,
    ),
    Option(
        ("--stop-timeout",),
        "stop_timeout",
        "Seconds between SIGTERM and SIGKILL when the pod stops.",
        type=float,
        default=10.0,
        show_default=True,
    ),
)

# flags that make a pod (run and prepare)
POD_OPTIONS = (
    Option(("--set-env",), "set_env", "NAME=VALUE for every app.", kind=MULTIPLE),
    Option(
        ("--set-env-file",),
        "set_env_file",
        "File of NAME=VALUE lines for every app.",
        kind=MULTIPLE,
        type=Path,
    ),
    Option(
        ("--volume",),
        "volume",
        "NAME,kind=host,source=PATH[,readOnly=true] or NAME,kind=empty[,mode=,uid=,gid=].",
        kind=MULTIPLE,
    ),
    Option(("--port",), "port", "NAME:[HOSTIP:]HOSTPORT (needs CNI networking).", kind=MULTIPLE),
    Option(("--pod-manifest",), "pod_manifest", "Run this pod manifest.", type=Path),
    Option(("--uuid-file-save",), "uuid_file_save", "Write the pod UUID here.", type=Path),
)

IMAGES = Argument("images", rest=True, metavar="IMAGE [APP FLAGS] [--- IMAGE ...]")


def _parse_apps(tokens: list[str]) -> list[AppOptions]:
    from carpool.errors import UsageError
    from carpool.runtime.options import AppOptions, parse_env, parse_mount

    apps: list[AppOptions] = []
    i = 0
    current: AppOptions | None = None
    while i < len(tokens):
        token = tokens[i]
        if token == "---":
            if current is None:
                raise UsageError("--- must follow an IMAGE")
            current = None
            i += 1
            continue
        if token == "--":
            if current is None:
                raise UsageError("-- must follow an IMAGE")
            i += 1
            args = []
            while i < len(tokens) and tokens[i] != "---":
                args.append(tokens[i])
                i += 1
            current.args = args
            continue
        if token.startswith("--") and current is not None:
            flag, eq, value = token.partition("=")
            if flag not in APP_FLAGS:
                raise UsageError(f"{flag}: not an app flag (app flags: {', '.join(APP_FLAGS)})")
            if not eq:
                if i + 1 >= len(tokens):
                    raise UsageError(f"{flag} needs a value")
                value = tokens[i + 1]
                i += 2
            else:
                i += 1
            if flag == "--exec":
                current.exec = value
            elif flag == "--user":
                current.user = value
            elif flag == "--group":
                current.group = value
            elif flag == "--name":
                current.name = value
            elif flag == "--set-env":
                current.env.append(parse_env(value, "--set-env"))
            elif flag == "--mount":
                current.mounts.append(parse_mount(value))
            continue
        if token.startswith("-"):
            raise UsageError(f"{token}: pod flags go before the first IMAGE")
        current = AppOptions(image=token)
        apps.append(current)
        i += 1
    return apps


def _pod_options(
    images: tuple[str, ...],
    *,
    set_env: tuple[str, ...],
    set_env_file: tuple[Path, ...],
    volume: tuple[str, ...],
    port: tuple[str, ...],
    pod_manifest: Path | None,
) -> PodOptions:
    from carpool.errors import UsageError
    from carpool.runtime.options import PodOptions, parse_env, parse_volume, read_env_file

    options = PodOptions(pod_manifest=pod_manifest, ports=list(port))
    if pod_manifest is not None:
        if images or set_env or set_env_file or volume or port:
            raise UsageError("--pod-manifest: images, --set-env, --volume and --port do not apply")
        return options
    for path in set_env_file:
        options.env += read_env_file(path)
    options.env += [parse_env(item, "--set-env") for item in set_env]
    options.volumes = [parse_volume(v) for v in volume]
    options.apps = _parse_apps(list(images))
    if not options.apps:
        raise UsageError("no IMAGE given (or use --pod-manifest)")
    return options


def _run_options(
    *,
    net: tuple[str, ...],
    hostname: str | None,
    dns: tuple[str, ...],
    dns_search: tuple[str, ...],
    dns_opt: tuple[str, ...],
    interactive: bool,
    insecure_options: tuple[str, ...],
    stop_timeout: float,
) -> RunOptions:
    from carpool.runtime.options import RunOptions, parse_dns, parse_insecure, parse_net

    servers, search = parse_dns(list(dns), list(dns_search))
    return RunOptions(
        net=parse_net(list(net)),
        hostname=hostname,
        dns=servers,
        dns_search=search,
        dns_opt=list(dns_opt),
        interactive=interactive,
        insecure=parse_insecure(list(insecure_options)),
        stop_timeout=stop_timeout,
    )


def _save_uuid(path: Path | None) -> Callable[[Pod], None]:
    def save(pod: Pod) -> None:
        if path is None:
            return
        try:
            path.write_text(pod.uuid + "\n")
        except OSError as exc:
            from carpool.errors import UsageError

            raise UsageError(f"--uuid-file-save {path}: {exc.strerror or exc}") from None

    return save


@contextmanager
def _rkt_exit_status() -> Iterator[None]:
    """rkt's convention: ``run`` exits 254 for its own failures, so that they cannot be
    mistaken for an app's exit status."""
    from carpool.errors import CarpoolError, RuntimeFailure

    try:
        yield
    except CarpoolError as exc:
        if exc.exit_code == 254:
            raise
        raise RuntimeFailure(exc.message) from exc


def _split(params: dict[str, Any], options: tuple[Option, ...]) -> dict[str, Any]:
    """Take the parameters of ``options`` out of ``params``."""
    return {option.dest: params.pop(option.dest) for option in options}


def run_command(ctx: CliContext, /, **params: Any) -> int:
    from carpool.runtime import lifecycle

    run_flags = _split(params, RUNTIME_OPTIONS)
    uuid_file_save = params.pop("uuid_file_save")
    with _rkt_exit_status():
        options = _pod_options(**params)
        return lifecycle.run(
            ctx.data_dir,
            options,
            _run_options(**run_flags),
            on_started=_save_uuid(uuid_file_save),
        )


def prepare_command(ctx: CliContext, /, quiet: bool, **params: Any) -> None:
    from carpool.runtime import lifecycle

    uuid_file_save = params.pop("uuid_file_save")
    pod = lifecycle.prepare(ctx.data_dir, _pod_options(**params))
    try:
        _save_uuid(uuid_file_save)(pod)
    except BaseException:
        lifecycle.rm(ctx.data_dir, pod.uuid)  # a pod nobody can name is not left behind
        raise
    print(pod.uuid)


def run_prepared_command(ctx: CliContext, /, uuid: str, **run_flags: Any) -> int:
    from carpool.runtime import lifecycle

    with _rkt_exit_status():
        return lifecycle.run_prepared(ctx.data_dir, uuid, _run_options(**run_flags))


run = CommandSpec(
    name="run",
    help=(
        "Run a pod in the foreground: IMAGE [app flags] [-- ARGS] [--- IMAGE …].\n\n"
        "App flags: --exec, --user, --group, --set-env, --mount volume=NAME,target=PATH, "
        "--name. Exits with the status of the first app that failed, 0 if all succeeded, "
        "254 if carpool itself failed."
    ),
    options=(*POD_OPTIONS, *RUNTIME_OPTIONS),
    arguments=(IMAGES,),
    run=run_command,
    stop_at_argument=True,
)

prepare = CommandSpec(
    name="prepare",
    help="Resolve images and write a pod, ready for run-prepared; prints its UUID.",
    options=(*POD_OPTIONS, Option(("--quiet",), "quiet", "Print only the UUID.", kind=FLAG)),
    arguments=(IMAGES,),
    run=prepare_command,
    stop_at_argument=True,
)

run_prepared = CommandSpec(
    name="run-prepared",
    help="Run a prepared pod in the foreground.",
    options=RUNTIME_OPTIONS,
    arguments=(Argument("uuid"),),
    run=run_prepared_command,
)
