"""Pod commands (rkt's names and flags): status, list, enter, stop, rm, gc,
cat-manifest, logs.  The commands that start pods are in :mod:`carpool.cli.podrun`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from carpool.cli.context import CliContext
from carpool.cli.output import format_option, print_json, print_rows

if TYPE_CHECKING:
    from carpool.runtime.pods import Pod

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
