"""``carpool test``: the project's ``tests/`` run with bats in a test image (dgr §5).

The test image ``test/<name>:<version>`` is built like any project (from a staging
project in ``target/tests-project``): its dependencies are ``tester.aci.dependencies``
plus the image under test, ``tests/{attributes,templates,files,runlevels}`` work as in
a project, and carpool adds bats (Debian's, with bash and its libraries when the image
has no ``/bin/bash``), the top-level files of ``tests/`` at ``/dgr/tests`` and the
``/test`` driver.  The pod runs with ``TESTER=TRUE``: ``/test`` starts the app in the
background, waits for ``tests/wait.sh`` to succeed (up to 60 tries, a second apart;
unlike dgr a wait that never succeeds fails the tests), runs ``bats -t`` on every file
but ``wait.sh`` writing TAP to ``/tests-result/<file>`` and the status to
``<file>_status``, then touches ``end-of-tests``.  The results stay in
``target/tests-result``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from carpool.builder.build import BuildOptions, build_project, target_dir
from carpool.builder.project import AciProject, parse_manifest
from carpool.builder.sessions import project_lock
from carpool.errors import BuildError, CarpoolError
from carpool.store import ImageRecord, Store

BATS = Path("/usr/bin/bats")
BATS_DIRS = (Path("/usr/libexec/bats-core"), Path("/usr/lib/bats-core"))
WAIT_TRIES = 60

_TEST_SCRIPT = r"""#!/dgr/bin/busybox sh
export PATH=/dgr/bats/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
results=/tests-result
cd /
{app} &
app=$!
if [ -f /dgr/tests/wait.sh ]; then
    chmod +x /dgr/tests/wait.sh
    tries=0
    until /dgr/tests/wait.sh > "$results/wait.sh.log" 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge "${{CARPOOL_WAIT_TRIES:-{tries}}}" ]; then
            echo "wait.sh did not succeed after $tries tries" >> "$results/wait.sh.log"
            echo 1 > "$results/wait.sh_status"
            touch "$results/end-of-tests"
            kill "$app" 2> /dev/null
            exit 0
        fi
        sleep 1
    done
fi
for f in /dgr/tests/*; do
    name=${{f##*/}}
    [ -f "$f" ] || continue
    [ "$name" = wait.sh ] && continue
    bats -t "$f" > "$results/$name" 2>&1
    echo $? > "$results/${{name}}_status"
done
touch "$results/end-of-tests"
kill "$app" 2> /dev/null
exit 0
"""


def _shell_words(args: list[str]) -> str:
    return " ".join("'" + a.replace("'", "'\\''") + "'" for a in args)


def _host_libraries(binary: Path) -> list[Path]:
    proc = subprocess.run(
        ["ldd", str(binary)], capture_output=True, text=True, check=False, timeout=30
    )
    found = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        for part in parts:
            if part.startswith("/"):
                found.append(Path(part))
                break
    return found


def _copy_host_file(path: Path, files: Path) -> None:
    dest = files / str(path.resolve()).lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path.resolve(), dest)
    if path.resolve() != path:  # keep the name the loader looks for
        link = files / str(path).lstrip("/")
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            shutil.copy2(path.resolve(), link)


def _stage_bats(files: Path, need_bash: bool) -> None:
    if not BATS.is_file():
        raise BuildError(f"{BATS}: not found (install the bats package)")
    root = files / "dgr/bats"
    (root / "bin").mkdir(parents=True)
    shutil.copy2(BATS, root / "bin/bats")
    for directory in BATS_DIRS:
        if directory.is_dir():
            shutil.copytree(directory, root / directory.parent.name / directory.name)
    if need_bash:
        bash = Path("/bin/bash")
        (files / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(bash, files / "bin/bash")
        for library in _host_libraries(bash):
            _copy_host_file(library, files)


def _test_manifest(
    name: str, version: str, image_ref: str, project: Any, tested_app: dict[str, Any]
) -> dict[str, Any]:
    env: dict[str, str] = {}
    for item in tested_app.get("environment") or []:
        env[str(item["name"])] = str(item.get("value", ""))
    for item in project.tester_aci.app.get("environment") or []:
        env[str(item["name"])] = str(item.get("value", ""))
    app: dict[str, Any] = {
        "exec": ["/test"],
        "user": "0",
        "group": "0",
        "environment": [{"name": k, "value": v} for k, v in env.items()],
        "mountPoints": [{"name": "test-result", "path": "/tests-result"}],
    }
    isolators = project.tester_aci.app.get("isolators") or tested_app.get("isolators")
    if isolators:
        app["isolators"] = isolators
    return {
        "name": f"test/{name}:{version}",
        "aci": {
            "dependencies": [*project.tester_aci.dependencies, image_ref],
            "app": app,
        },
        "builder": {
            "dependencies": project.tester_builder.dependencies,
            "environment": [
                {"name": k, "value": v} for k, v in project.tester_builder.environment.items()
            ],
        },
    }


def test_project(
    store: Store,
    data_dir: Path,
    project_dir: Path,
    options: BuildOptions,
    *,
    fail_without_tests: bool = False,
) -> dict[str, str]:
    """Run the project's tests against its built image; the TAP output per test file."""
    project_dir = project_dir.resolve()
    project = parse_manifest(project_dir)
    target = target_dir(project_dir, options)
    aci = target / "image.aci"
    if not aci.is_file():
        raise BuildError(f"{aci}: not built (run carpool build)")
    tests = project_dir / "tests"
    test_files = (
        sorted(p for p in tests.iterdir() if p.is_file() and p.name != "wait.sh")
        if tests.is_dir()
        else []
    )
    if not test_files:
        if fail_without_tests:
            raise BuildError(f"{project_dir}: no test in tests/")
        options.progress.step("no tests")
        return {}
    with project_lock(data_dir, target, options.progress):
        return _test_locked(store, data_dir, project, target, options, fail_without_tests)


def _test_locked(
    store: Store,
    data_dir: Path,
    project: AciProject,
    target: Path,
    options: BuildOptions,
    fail_without_tests: bool,
) -> dict[str, str]:
    aci = target / "image.aci"
    if not aci.is_file():
        raise BuildError(f"{aci}: not built (run carpool build)")
    options.progress.step("installing the image under test")
    known = {record.id for record in store.images()}
    image = store.import_aci(aci, progress=options.progress)
    imported = [image.id]
    try:
        return _build_and_run(store, data_dir, project, image, target, options, imported,
                              fail_without_tests)  # fmt: skip
    except BaseException:
        # failed tests leave the store as it was: dgr's "install" would have kept them
        fresh = [i for i in imported if i not in known]
        if fresh:
            with contextlib.suppress(CarpoolError):
                store.remove(fresh)
        raise


def _build_and_run(
    store: Store,
    data_dir: Path,
    project: AciProject,
    image: ImageRecord,
    target: Path,
    options: BuildOptions,
    imported: list[str],
    fail_without_tests: bool,
) -> dict[str, str]:
    tests = project.directory / "tests"
    version = image.version or "0"
    staging = target / "tests-project"
    shutil.rmtree(staging, ignore_errors=True)
    files = staging / "files"
    files.mkdir(parents=True)
    for sub in ("attributes", "templates", "runlevels"):
        if (tests / sub).is_dir():
            shutil.copytree(tests / sub, staging / sub, symlinks=True)
    if (tests / "files").is_dir():
        shutil.copytree(tests / "files", files, symlinks=True, dirs_exist_ok=True)
    tree = store.render_tree(image.id, progress=options.progress)
    _stage_bats(files, need_bash=not os.path.lexists(tree / "bin/bash"))
    (files / "dgr/tests").mkdir(parents=True)
    for path in sorted(tests.iterdir()):
        if path.is_file():
            shutil.copy2(path, files / "dgr/tests" / path.name)
            os.chmod(files / "dgr/tests" / path.name, 0o755)
    app = image.manifest.app
    tested_app: dict[str, Any] = (
        app.model_dump(mode="json", by_alias=True, exclude_none=True) if app else {}
    )
    script = _TEST_SCRIPT.format(
        app=_shell_words(tested_app.get("exec") or ["true"]), tries=WAIT_TRIES
    )
    (files / "test").write_text(script)
    os.chmod(files / "test", 0o755)
    manifest = _test_manifest(project.name, version, image.id, project, tested_app)
    (staging / "aci-manifest.yml").write_text(
        "# generated by carpool test\n" + yaml.safe_dump(manifest, sort_keys=False)
    )
    test_options = BuildOptions(
        set_env=options.set_env,
        log_level=options.log_level,
        environ=options.environ,
        target=target / "tests-target",
        use_cache=options.use_cache,
        progress=options.progress,
        on_output=options.on_output,
    )
    result = build_project(store, data_dir, staging, test_options)
    test_image = store.import_aci(result.aci, progress=options.progress)
    imported.append(test_image.id)
    results = target / "tests-result"
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir(parents=True)
    options.progress.step("running the tests")
    _run_test_pod(data_dir, test_image.id, results, options)
    return check_results(results, fail_without_tests)


def _run_test_pod(data_dir: Path, image_id: str, results: Path, options: BuildOptions) -> None:
    from carpool.runtime import lifecycle
    from carpool.runtime.options import AppOptions, PodOptions, RunOptions, parse_volume

    started: list[Any] = []
    pod_options = PodOptions(
        apps=[AppOptions(image=image_id)],
        env=[("TESTER", "TRUE"), *options.set_env.items()],
        volumes=[parse_volume(f"test-result,kind=host,source={results}")],
    )
    try:
        lifecycle.run(data_dir, pod_options, RunOptions(net=["none"]), on_started=started.append)
    finally:
        for pod in started:
            with contextlib.suppress(Exception):
                lifecycle.rm(data_dir, pod.uuid)


def check_results(results: Path, fail_without_tests: bool) -> dict[str, str]:
    """dgr's ``checkResult``: every ``*_status`` 0, ``end-of-tests`` present."""
    if not (results / "end-of-tests").exists():
        raise BuildError(f"{results}: the tests did not finish (no end-of-tests)")
    report: dict[str, str] = {}
    failed: list[str] = []
    for status_file in sorted(results.glob("*_status")):
        name = status_file.name[: -len("_status")]
        tap_file = results / name
        if name == "wait.sh":
            tap_file = results / "wait.sh.log"
        tap = tap_file.read_text(errors="replace") if tap_file.exists() else ""
        report[name] = tap
        if status_file.read_text().strip() != "0":
            failed.append(name)
    if failed:
        details = "\n".join(
            f"  | {line}" for name in failed for line in report[name].splitlines()[-30:]
        )
        raise BuildError(f"failed tests: {', '.join(failed)} (TAP in {results})\n{details}")
    if fail_without_tests and all(t.strip().startswith("1..0") for t in report.values()):
        raise BuildError(f"{results}: no test was run")
    return report
