"""``carpool run`` in the background, for the runtime's and the network's tests."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import tests.conftest
from tests.conftest import Cli


class Background:
    """``carpool run`` in the background; killed and reaped at the end of the test."""

    def __init__(self, cli: Cli, args: list[str], tmp: Path) -> None:
        self.uuid_file = tmp / f"uuid-{time.monotonic_ns()}"
        self.out = tmp / f"out-{time.monotonic_ns()}"
        self._out_file = open(self.out, "w")  # noqa: SIM115
        # looked up now: network tests point CARPOOL at a launcher with another subnet
        self.proc = subprocess.Popen(
            [*tests.conftest.CARPOOL, "run", "--uuid-file-save", str(self.uuid_file), *args],
            env=cli.env,
            stdout=self._out_file,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def uuid(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.uuid_file.exists() and self.uuid_file.read_text().strip():
                return self.uuid_file.read_text().strip()
            if self.proc.poll() is not None:
                raise AssertionError(f"carpool run exited early: {self.output()}")
            time.sleep(0.05)
        raise AssertionError("carpool run did not start a pod")

    def wait_output(self, text: str, timeout: float = 30, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while self.output().count(text) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never printed; output: {self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        return self.out.read_text()

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL ``carpool run`` (no teardown of its own) and reap it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def close(self) -> None:
        self.kill()
        self._out_file.close()
