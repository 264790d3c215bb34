"""The CLI shell: version, help, error reporting, lean imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from carpool import __version__
from tests.conftest import Cli
from tests.imports import matching, run_and_list_modules


def test_version(carpool: Cli) -> None:
    proc = carpool("--version")
    assert proc.stdout.strip() == f"carpool, version {__version__}"


def test_python_dash_m_and_console_script_agree(carpool: Cli) -> None:
    script = subprocess.run(
        [sys.executable.replace("python", "carpool"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    if script.returncode == 0:  # running from the repo's .venv
        assert script.stdout == carpool("--version").stdout


def test_unknown_command_is_one_error_line(carpool: Cli) -> None:
    proc = carpool("no-such-command", check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")
    assert "no-such-command" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unknown_option_names_the_flag(carpool: Cli) -> None:
    proc = carpool("--frobnicate", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: No such option '--frobnicate'."]


def test_version_does_not_import_command_modules() -> None:
    code = (
        "import sys\n"
        "from carpool.cli.main import main\n"
        "try:\n    main(['--version'])\n"
        "except SystemExit:\n    pass\n"
        "prefixes = ('carpool.', 'pydantic', 'rich', 'yaml', 'kazoo')\n"
        "allowed = {'carpool.cli', 'carpool.cli.main', 'carpool.cli.lane', 'carpool.cli.spec',\n"
        "           'carpool.cli.commands', 'carpool.errors'}\n"
        "heavy = [m for m in sys.modules if m.startswith(prefixes) and m not in allowed]\n"
        "print('HEAVY=' + ','.join(sorted(heavy)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.splitlines()[-1] == "HEAVY=", proc.stdout


def test_run_help_does_not_import_the_runtime(tmp_path: Path) -> None:
    proc, modules = run_and_list_modules(["run", "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "--net" in proc.stdout
    heavy = matching(
        modules,
        (
            "pydantic",
            "yaml",
            "rich",
            "kazoo",
            "carpool.runtime",
            "carpool.store",
            "carpool.oci",
            "carpool.network",
            "carpool.appc",
            "carpool.aci",
            "carpool.templater",
        ),
    )
    assert heavy == []


def test_version_imports_neither_logging_nor_dataclasses(tmp_path: Path) -> None:
    proc, modules = run_and_list_modules(["--version"], tmp_path)
    assert proc.stdout.strip() == f"carpool, version {__version__}"
    assert matching(modules, ("logging", "dataclasses", "json", "subprocess")) == []
