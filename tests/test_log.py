"""carpool.log: records below the threshold cost nothing; the rest reach ``logging``."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return proc.stdout + proc.stderr


def test_records_below_the_threshold_do_not_import_logging() -> None:
    out = _run(
        "import sys\n"
        "from carpool import log\n"
        "log.set_threshold(log.INFO)\n"
        "log.before_first_record(lambda: print('HOOK'))\n"
        "log.get_logger('carpool.x').debug('quiet %s', 1)\n"
        "print('LOGGING', 'logging' in sys.modules)\n"
    )
    assert out.split() == ["LOGGING", "False"]


def test_the_first_record_through_runs_the_hook_once_then_logs() -> None:
    out = _run(
        "import sys, logging\n"
        "from carpool import log\n"
        "log.set_threshold(log.INFO)\n"
        "def hook():\n"
        "    print('HOOK')\n"
        "    logging.basicConfig(stream=sys.stdout, format='%(levelname)s %(name)s %(message)s')\n"
        "log.before_first_record(hook)\n"
        "log.get_logger('carpool.x').warning('first %s', 1)\n"
        "log.get_logger('carpool.y').error('second')\n"
    )
    assert out.splitlines() == ["HOOK", "WARNING carpool.x first 1", "ERROR carpool.y second"]


def test_library_use_forwards_everything(caplog: pytest.LogCaptureFixture) -> None:
    from carpool import log

    saved = log.threshold()
    log.set_threshold(0)
    try:
        with caplog.at_level(10, logger="carpool.test"):
            log.get_logger("carpool.test").debug("hello %s", "there")
            try:
                raise ValueError("boom")
            except ValueError:
                log.get_logger("carpool.test").exception("failed")
    finally:
        log.set_threshold(saved)
    assert [r.getMessage() for r in caplog.records] == ["hello there", "failed"]
    assert caplog.records[1].exc_info is not None
    assert caplog.records[0].funcName == "test_library_use_forwards_everything"


def test_loggers_are_shared_by_name() -> None:
    from carpool.log import get_logger

    assert get_logger("carpool.a") is get_logger("carpool.a")
    assert get_logger("carpool.a").isEnabledFor(50)
