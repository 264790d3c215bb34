"""What every command receives from the global options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CliContext:
    data_dir: Path
    config_dir: Path
    debug: bool
