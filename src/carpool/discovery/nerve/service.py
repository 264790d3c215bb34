"""One watched service: checks → availability → warm-up weight → reports.

The state machine follows go-nerve (reference §1.4):

* nothing is reported until every check has a stable state;
* available = every check up (or force-enabled), and not disabled;
* on each transition to available, ``preAvailableCommand`` runs, then the weight climbs
  go-nerve's Fibonacci ladder one step per ``enableWarmupIntervalInMilli`` (the
  ``enableCheckStableCommand``, when given, is polled during the ramp and a failure puts
  the weight back to step 0; ``enableWarmupMaxDurationInMilli`` forces full weight);
* unavailable reports ``available:false, weight:0`` with the reason;
* a reporter whose report failed is replayed every ``reportReplayInMilli``;
* :meth:`Service.disable` runs the drain flow and returns only when it is safe to stop.

Flapping can be damped with Airbnb nerve's token bucket (``rate_limiting`` /
``rateLimiting``): check-driven state changes beyond the rate are deferred (or, in shadow
mode, the default as in Airbnb nerve, only logged); operator actions are never limited.

Deliberate differences: changing the weight through the API does **not** restart the
warm-up from step 0 (go-nerve did, briefly dropping a fully-warm instance to weight 1);
a ramp in progress continues at the new target and a warm instance gets it at once.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from carpool.discovery.nerve.checks import CheckRunner, make_check, run_command
from carpool.discovery.nerve.config import FIBONACCI_STEPS, ServiceConfig, warmup_weight
from carpool.discovery.nerve.reporters import Report, Reporter
from carpool.log import get_logger

log = get_logger(__name__)

DISABLED_REASON = "Service is disabled"
LAST_STEP = len(FIBONACCI_STEPS) - 1


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved; one per state change."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst if not math.isinf(burst) else max(1.0, rate)
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        if math.isinf(self.rate):
            self.tokens = self.burst
        else:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait_time(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class Service:
    def __init__(self, config: ServiceConfig, reporters: list[Reporter]) -> None:
        self.config = config
        self.reporters = reporters
        self.runners = [
            CheckRunner(
                make_check(c),
                self._on_check_change,
                first_result_decides=config.first_result_decides,
            )
            for c in config.checks
        ]
        self._cond = threading.Condition()
        self._pending = True
        self._stop = threading.Event()
        self._disabled = False
        self._forced = False
        self.max_weight = config.weight
        self._available = False
        self._warm_step: int | None = None
        self._warm_started = 0.0
        self._next_step_at = 0.0
        self._next_stable_check = 0.0
        self._last_report: Report | None = None
        self._failed: set[int] = set()
        self._next_replay = 0.0
        self._bucket = (
            TokenBucket(config.rate_limit.average_rate, config.rate_limit.max_burst)
            if config.rate_limit is not None
            else None
        )
        self.exec_failures_total = 0
        self.reporter_failures_total = 0
        self._thread = threading.Thread(
            target=self._loop, name=f"service-{config.name}", daemon=True
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        for runner in self.runners:
            runner.start()
        self._thread.start()
        self.wake()

    def stop_checks(self) -> None:
        for runner in self.runners:
            runner.stop()

    def stop(self) -> None:
        """Stop checks and the state machine (reports stay until :meth:`deregister`)."""
        self.stop_checks()
        self._stop.set()
        self.wake()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
        for runner in self.runners:
            runner.join(timeout=max(1.0, runner.config.timeout + 1))

    def deregister(self) -> None:
        for reporter in self.reporters:
            try:
                reporter.destroy()
            except Exception:
                log.exception("%s: deregistering from %s failed", self.config.name, reporter.type)

    def wait_first_report(self, timeout: float) -> bool:
        """Block until this service published its first report (or ``timeout``)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._last_report is not None, timeout)

    def wake(self) -> None:
        with self._cond:
            self._pending = True
            self._cond.notify_all()

    def _on_check_change(self, runner: CheckRunner) -> None:
        self.wake()

    # ------------------------------------------------------------------ operator actions

    def enable(self, force: bool = False) -> None:
        with self._cond:
            self._disabled = False
            self._forced = force
            self._pending = True
            self._cond.notify_all()
        log.info("%s: %s", self.config.name, "force-enabled" if force else "enabled")

    def disable(self, shutdown: bool = False) -> None:
        """go-nerve's disable flow; returns once the instance is drained (bounded)."""
        cfg = self.config
        started = time.monotonic()
        with self._cond:
            self._disabled = True
            self._forced = False
            self._pending = True
            self._cond.notify_all()
        log.info("%s: disabling%s", cfg.name, " for shutdown" if shutdown else "")
        # wait until the "disabled" report went out
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    self._stop.is_set()
                    or (
                        self._last_report is not None
                        and self._last_report.unavailable_reason == DISABLED_REASON
                    )
                ),
                timeout=5.0,
            )
        if (
            shutdown
            and cfg.disable_shutdown_command
            and run_command(
                cfg.disable_shutdown_command, cfg.disable_shutdown_max, "disableShutdownCommand"
            )
        ):
            self.exec_failures_total += 1
        if cfg.gracefully_done_command:
            deadline = started + cfg.disable_max
            while time.monotonic() < deadline:
                remaining = deadline - time.monotonic()
                error = run_command(
                    cfg.gracefully_done_command, max(0.1, remaining), "disableGracefullyDoneCommand"
                )
                if error is None:
                    break
                log.debug("%s: not drained yet: %s", cfg.name, error)
                time.sleep(min(cfg.gracefully_done_interval, max(0.0, deadline - time.monotonic())))
        remaining = cfg.disable_min - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        log.info("%s: disabled", cfg.name)

    def set_weight(self, weight: int) -> None:
        with self._cond:
            self.max_weight = weight
            self._pending = True
            self._cond.notify_all()
        log.info("%s: weight set to %d", self.config.name, weight)

    # ------------------------------------------------------------------ state

    @property
    def status(self) -> str:
        if self._disabled:
            return "disabled"
        return "forced" if self._forced else "enabled"

    @property
    def available(self) -> bool:
        return self._last_report is not None and self._last_report.available

    @property
    def current_weight(self) -> int:
        return self._last_report.weight if self._last_report is not None else 0

    def status_json(self) -> dict[str, Any]:
        """go-nerve's ``/status`` entry."""
        return {
            "Name": self.config.name,
            "Host": self.config.host,
            "Port": self.config.port,
            "Status": self.status,
            "MaxWeight": self.max_weight,
            "CurrentWeight": self.current_weight,
            "Available": self.available,
        }

    def _all_stable(self) -> bool:
        return all(r.state is not None for r in self.runners)

    def _checks_ok(self) -> tuple[bool, str]:
        for runner in self.runners:
            if not runner.state:
                return False, runner.last_error or "check failed"
        return True, ""

    # ------------------------------------------------------------------ loop

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                self._pending = False
            timeout = self._step()
            with self._cond:
                # a wake() during the step is not lost: it left _pending set
                if not self._stop.is_set() and not self._pending:
                    self._cond.wait(timeout)

    def _step(self) -> float:
        """Compute and publish the current report; return how long to sleep."""
        cfg = self.config
        now = time.monotonic()
        sleep = 60.0
        with self._cond:
            disabled, forced, max_weight = self._disabled, self._forced, self.max_weight
        if disabled:
            available, reason = False, DISABLED_REASON
        elif forced:
            available, reason = True, ""
        elif not self._all_stable():
            return 0.5 if self._failed else 60.0
        else:
            available, reason = self._checks_ok()

        if (
            self._bucket is not None
            and self._last_report is not None
            and not disabled
            and not forced
            and available != self._available
            and not self._bucket.take(now)
        ):
            assert cfg.rate_limit is not None
            if cfg.rate_limit.shadow:
                log.warning("%s: state change would be rate limited (shadow mode)", cfg.name)
            else:
                log.warning("%s: state change rate limited, deferred", cfg.name)
                available = self._available
                reason = self._last_report.unavailable_reason
                sleep = max(0.01, self._bucket.wait_time(now))

        if available and not self._available:
            if cfg.pre_available_command:
                error = run_command(
                    cfg.pre_available_command, cfg.pre_available_max, "preAvailableCommand"
                )
                if error:
                    self.exec_failures_total += 1
                    log.warning("%s: %s", cfg.name, error)
            self._start_warmup(time.monotonic())
        self._available = available
        if not available:
            self._warm_step = None

        if self._warm_step is not None:
            now = time.monotonic()
            if cfg.check_stable_command and now >= self._next_stable_check:
                if run_command(
                    cfg.check_stable_command, cfg.check_stable_max, "enableCheckStableCommand"
                ):
                    self.exec_failures_total += 1
                    log.info("%s: not stable yet, warm-up back to step 0", cfg.name)
                    self._warm_step = 0
                    self._next_step_at = now + cfg.warmup_interval
                self._next_stable_check = now + cfg.check_stable_interval
            if now - self._warm_started >= cfg.warmup_max:
                self._warm_step = None
            else:
                while self._warm_step is not None and now >= self._next_step_at:
                    self._warm_step += 1
                    self._next_step_at += cfg.warmup_interval
                    # the stability command keeps watching 10 steps past full weight
                    if self._warm_step >= LAST_STEP + (10 if cfg.check_stable_command else 0):
                        self._warm_step = None
            if self._warm_step is not None:
                sleep = min(sleep, max(0.01, self._next_step_at - now))
                if cfg.check_stable_command:
                    sleep = min(sleep, max(0.01, self._next_stable_check - now))

        if not available:
            weight = 0
        elif self._warm_step is not None:
            weight = warmup_weight(self._warm_step, max_weight)
        else:
            weight = max_weight
        report = Report(
            available=available,
            host=cfg.host,
            port=cfg.port,
            name=cfg.reporter_service_name,
            weight=weight,
            unavailable_reason=reason,
            haproxy_server_options=cfg.haproxy_server_options,
            labels=cfg.labels,
            max_weight=max_weight if available else 0,
        )
        self._publish(report, time.monotonic())
        if self._failed:
            sleep = min(sleep, cfg.report_replay)
        return sleep

    def _start_warmup(self, now: float) -> None:
        cfg = self.config
        if not cfg.warmup or self.max_weight <= 1:
            self._warm_step = None
            return
        self._warm_step = 0
        self._warm_started = now
        self._next_step_at = now + cfg.warmup_interval
        self._next_stable_check = now

    def _publish(self, report: Report, now: float) -> None:
        changed = report != self._last_report
        if not changed and not (self._failed and now >= self._next_replay):
            return
        targets = range(len(self.reporters)) if changed else sorted(self._failed)
        for index in targets:
            reporter = self.reporters[index]
            try:
                ok = reporter.report(report)
            except Exception:
                log.exception("%s: %s reporter failed", self.config.name, reporter.type)
                ok = False
            if ok:
                self._failed.discard(index)
            else:
                self.reporter_failures_total += 1
                self._failed.add(index)
        if changed:
            log.info(
                "%s: %s weight %d%s",
                self.config.name,
                "available" if report.available else "unavailable",
                report.weight,
                f" ({report.unavailable_reason})" if report.unavailable_reason else "",
            )
        with self._cond:
            self._last_report = report
            self._cond.notify_all()
        self._next_replay = now + self.config.report_replay
