"""Pod commands (rkt's names and flags): run, prepare, run-prepared, status, list,
enter, stop, rm, gc, cat-manifest, logs.

``run`` and ``prepare`` take ``[pod flags] IMAGE [app flags] [-- ARGS] [--- IMAGE …]``.
Library imports stay inside the commands so that ``carpool run`` starts fast.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import update_wrapper
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

import click

from carpool.cli.context import CliContext
from carpool.cli.output import format_option, print_json, print_rows

if TYPE_CHECKING:
    from carpool.runtime.options import AppOptions, PodOptions, RunOptions
    from carpool.runtime.pods import Pod

F = TypeVar("F", bound=Callable[..., Any])

APP_FLAGS = ("--exec", "--user", "--group", "--set-env", "--mount", "--name")


def _runtime_flags(f: F) -> F:
    """Flags that apply when a pod runs (also accepted by run-prepared)."""
    options = [
        click.option(
            "--net", multiple=True, help="host, none, or CNI networks (default: default)."
        ),
        click.option("--hostname", help="Pod hostname (default carpool-<uuid>)."),
        click.option(
            "--dns", multiple=True, help="Name server for /etc/resolv.conf (or host, none)."
        ),
        click.option("--dns-search", multiple=True, help="Search domain for /etc/resolv.conf."),
        click.option("--dns-opt", multiple=True, help="Option line entry for /etc/resolv.conf."),
        click.option("--interactive", is_flag=True, help="Give the (single) app this terminal."),
        click.option(
            "--insecure-options",
            multiple=True,
            help="Lift protections: capabilities,paths,seccomp (or all).",
        ),
        click.option(
            "--stop-timeout",
            type=float,
            default=10.0,
            show_default=True,
            help="Seconds between SIGTERM and SIGKILL when the pod stops.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


class PodFlags(NamedTuple):
    """The pod flags of ``run`` and ``prepare``, as given."""

    set_env: tuple[str, ...]
    set_env_file: tuple[Path, ...]
    volume: tuple[str, ...]
    port: tuple[str, ...]
    pod_manifest: Path | None
    uuid_file_save: Path | None


def _pod_flags(f: F) -> F:
    """The pod flags, handed to the command as one ``pod_flags: PodFlags`` argument."""

    def with_pod_flags(*args: Any, **kwargs: Any) -> Any:
        flags = PodFlags(**{name: kwargs.pop(name) for name in PodFlags._fields})
        return f(*args, pod_flags=flags, **kwargs)

    command = update_wrapper(with_pod_flags, f)
    options = [
        click.option("--set-env", multiple=True, help="NAME=VALUE for every app."),
        click.option(
            "--set-env-file",
            multiple=True,
            type=click.Path(path_type=Path),
            help="File of NAME=VALUE lines for every app.",
        ),
        click.option(
            "--volume",
            multiple=True,
            help="NAME,kind=host,source=PATH[,readOnly=true] or NAME,kind=empty[,mode=,uid=,gid=].",
        ),
        click.option(
            "--port", multiple=True, help="NAME:[HOSTIP:]HOSTPORT (needs CNI networking)."
        ),
        click.option(
            "--pod-manifest", type=click.Path(path_type=Path), help="Run this pod manifest."
        ),
        click.option(
            "--uuid-file-save", type=click.Path(path_type=Path), help="Write the pod UUID here."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return cast(F, command)


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


def _pod_options(images: tuple[str, ...], flags: PodFlags) -> PodOptions:
    from carpool.errors import UsageError
    from carpool.runtime.options import PodOptions, parse_env, parse_volume, read_env_file

    options = PodOptions(pod_manifest=flags.pod_manifest, ports=list(flags.port))
    if flags.pod_manifest is not None:
        if images or flags.set_env or flags.set_env_file or flags.volume or flags.port:
            raise UsageError("--pod-manifest: images, --set-env, --volume and --port do not apply")
        return options
    for path in flags.set_env_file:
        options.env += read_env_file(path)
    options.env += [parse_env(item, "--set-env") for item in flags.set_env]
    options.volumes = [parse_volume(v) for v in flags.volume]
    options.apps = _parse_apps(list(images))
    if not options.apps:
        raise UsageError("no IMAGE given (or use --pod-manifest)")
    return options


def _run_options(
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


RUN_SETTINGS = {"ignore_unknown_options": True, "allow_interspersed_args": False}


@click.command(context_settings=RUN_SETTINGS)
@_pod_flags
@_runtime_flags
@click.argument("images", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def run(
    ctx: CliContext,
    /,
    images: tuple[str, ...],
    pod_flags: PodFlags,
    **runtime: Any,
) -> int:
    """Run a pod in the foreground: IMAGE [app flags] [-- ARGS] [--- IMAGE …].

    App flags: --exec, --user, --group, --set-env, --mount volume=NAME,target=PATH, --name.
    Exits with the status of the first app that failed, 0 if all succeeded, 254 if
    carpool itself failed.
    """
    from carpool.runtime import lifecycle

    with _rkt_exit_status():
        options = _pod_options(images, pod_flags)
        return lifecycle.run(
            ctx.data_dir,
            options,
            _run_options(**runtime),
            on_started=_save_uuid(pod_flags.uuid_file_save),
        )


@click.command(context_settings=RUN_SETTINGS)
@_pod_flags
@click.option("--quiet", is_flag=True, help="Print only the UUID.")
@click.argument("images", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def prepare(ctx: CliContext, /, images: tuple[str, ...], pod_flags: PodFlags, quiet: bool) -> None:
    """Resolve images and write a pod, ready for run-prepared; prints its UUID."""
    from carpool.runtime import lifecycle

    pod = lifecycle.prepare(ctx.data_dir, _pod_options(images, pod_flags))
    _save_uuid(pod_flags.uuid_file_save)(pod)
    print(pod.uuid)


@click.command("run-prepared")
@_runtime_flags
@click.argument("uuid")
@click.pass_obj
def run_prepared(ctx: CliContext, /, uuid: str, **runtime: Any) -> int:
    """Run a prepared pod in the foreground."""
    from carpool.runtime import lifecycle

    with _rkt_exit_status():
        return lifecycle.run_prepared(ctx.data_dir, uuid, _run_options(**runtime))


uuid_file_option = click.option(
    "--uuid-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the pod UUID from this file (as written by --uuid-file-save).",
)


def _uuids(uuids: tuple[str, ...], uuid_file: Path | None) -> list[str]:
    from carpool.errors import UsageError

    found = list(uuids)
    if uuid_file is not None:
        try:
            found.append(uuid_file.read_text().strip())
        except OSError as exc:
            raise UsageError(f"--uuid-file {uuid_file}: {exc.strerror}") from None
    if not found:
        raise UsageError("give a pod UUID (or --uuid-file)")
    return found


def _find(ctx: CliContext, uuid: str) -> Pod:
    from carpool.runtime.pods import PodStore

    return PodStore(ctx.data_dir).find(uuid)


def _time(value: float | None) -> str | None:
    if value is None:
        return None
    local = time.localtime(value)
    millis = int((value % 1) * 1000)
    return (
        time.strftime("%Y-%m-%d %H:%M:%S", local)
        + f".{millis:03d} "
        + time.strftime("%z %Z", local)
    )


@click.command()
@click.option("--wait", is_flag=True, help="Wait until the pod has exited.")
@format_option
@uuid_file_option
@click.argument("uuid", required=False)
@click.pass_obj
def status(
    ctx: CliContext, uuid: str | None, wait: bool, output_format: str, uuid_file: Path | None
) -> None:
    """Show a pod's state and its apps' exit codes."""
    from carpool.runtime import lifecycle

    pod = _find(ctx, _uuids((uuid,) if uuid else (), uuid_file)[0])
    if wait:
        lifecycle.wait_exited(pod)
    info = lifecycle.pod_info(pod)
    if output_format == "json":
        print_json(info)
        return
    print(f"state={info['state']}")
    print(f"created={_time(info['created_at']) or ''}")
    if info["started_at"]:
        print(f"started={_time(info['started_at'])}")
    if info["networks"]:
        from carpool.runtime.network import describe_text

        print(f"networks={describe_text(info['networks'])}")
    running = info["state"] == "running"
    print(f"exited={'false' if running else 'true'}")
    for app in info["apps"]:
        if app["exit_code"] is not None:
            print(f"app-{app['name']}={app['exit_code']}")


@click.command("list")
@click.option("--full", is_flag=True, help="Full UUIDs and image IDs.")
@format_option
@click.pass_obj
def list_pods(ctx: CliContext, full: bool, output_format: str) -> None:
    """List pods and their states."""
    from carpool.runtime import lifecycle
    from carpool.runtime.network import describe_text
    from carpool.runtime.pods import PodStore

    infos = [lifecycle.pod_info(p) for p in PodStore(ctx.data_dir).all()]
    if output_format == "json":
        print_json(infos)
        return
    rows = [
        {
            "uuid": info["name"] if full else info["name"][:8],
            "apps": info["app_names"],
            "images": [a["image_name"] for a in info["apps"]],
            "state": info["state"],
            "created": _time(info["created_at"]),
            "started": _time(info["started_at"]),
            "networks": describe_text(info["networks"]),
        }
        for info in infos
    ]
    columns = [
        ("uuid", "UUID"),
        ("apps", "APP"),
        ("images", "IMAGE NAME"),
        ("state", "STATE"),
        ("created", "CREATED"),
        ("started", "STARTED"),
        ("networks", "NETWORKS"),
    ]
    print_rows(rows, columns, output_format)


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--app", "app_name", help="The app to enter (needed when the pod has several).")
@click.argument("uuid")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def enter(ctx: CliContext, app_name: str | None, uuid: str, command: tuple[str, ...]) -> int:
    """Run a command (default /bin/sh) inside a running app."""
    import os

    from carpool.runtime import lifecycle

    return lifecycle.enter(ctx.data_dir, uuid, list(command), app=app_name, tty=os.isatty(0))


def _each_pod(uuids: list[str], action: Callable[[str], Pod]) -> int:
    """``action`` on every pod, printing each UUID done (rkt's quoted form) and each
    error; the exit status is the last error's (0 if none), as rkt's stop and rm."""
    from carpool.errors import CarpoolError

    failed = 0
    for uuid in uuids:
        try:
            pod = action(uuid)
        except CarpoolError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed = exc.exit_code
            continue
        print(f'"{pod.uuid}"')
    return failed


@click.command()
@click.option("--force", is_flag=True, help="SIGKILL instead of SIGTERM.")
@click.option(
    "--timeout", type=float, default=10.0, show_default=True, help="Seconds before SIGKILL."
)
@uuid_file_option
@click.argument("uuids", nargs=-1)
@click.pass_obj
def stop(
    ctx: CliContext, force: bool, timeout: float, uuids: tuple[str, ...], uuid_file: Path | None
) -> int:
    """Stop running pods (and release their mounts, namespaces and cgroups)."""
    from carpool.runtime import lifecycle

    return _each_pod(
        _uuids(uuids, uuid_file),
        lambda uuid: lifecycle.stop(ctx.data_dir, uuid, force=force, timeout=timeout),
    )


@click.command()
@uuid_file_option
@click.argument("uuids", nargs=-1)
@click.pass_obj
def rm(ctx: CliContext, uuids: tuple[str, ...], uuid_file: Path | None) -> int:
    """Remove exited or prepared pods now."""
    from carpool.runtime import lifecycle

    return _each_pod(_uuids(uuids, uuid_file), lambda uuid: lifecycle.rm(ctx.data_dir, uuid))


@click.command()
@click.option(
    "--grace",
    "--grace-period",
    "grace",
    default="30m",
    show_default=True,
    help="Keep exited pods this long after marking them (Go duration).",
)
@click.option(
    "--expire-prepared",
    default="24h",
    show_default=True,
    help="Remove prepared pods older than this.",
)
@click.option("--mark-only", is_flag=True, help="Only mark exited pods.")
@click.pass_obj
def gc(ctx: CliContext, grace: str, expire_prepared: str, mark_only: bool) -> None:
    """Garbage-collect exited and expired pods (and what killed builds left behind)."""
    from carpool.builder.sessions import recover_builds
    from carpool.runtime import lifecycle
    from carpool.store.duration import parse_duration

    for leftover in recover_builds(ctx.data_dir):
        print(f"Removed the leftovers of {leftover}")
    removed = lifecycle.gc(
        ctx.data_dir,
        grace=parse_duration(grace, flag="--grace"),
        expire_prepared=parse_duration(expire_prepared, flag="--expire-prepared"),
        mark_only=mark_only,
    )
    for uuid in removed:
        print(f"Garbage collecting pod {uuid}")


@click.command("cat-manifest")
@uuid_file_option
@click.argument("uuid", required=False)
@click.pass_obj
def cat_manifest(ctx: CliContext, uuid: str | None, uuid_file: Path | None) -> None:
    """Print a pod's manifest."""
    pod = _find(ctx, _uuids((uuid,) if uuid else (), uuid_file)[0])
    print(json.dumps(pod.manifest(), indent=2))


@click.command()
@click.option("--app", "app_name", help="Only this app's log.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the pod exits.")
@click.argument("uuid")
@click.pass_obj
def logs(ctx: CliContext, app_name: str | None, follow: bool, uuid: str) -> None:
    """Print the output of a pod's apps."""
    from carpool.runtime.logs import print_logs

    pod = _find(ctx, uuid)
    names = [pod.pick_app(app_name)] if app_name else pod.app_names()
    print_logs(pod, names, follow=follow)
