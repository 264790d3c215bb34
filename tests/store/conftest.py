from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from carpool.store import ImageRecord, Store
from tests.store.acis import build_aci


@pytest.fixture
def store(data_dir: Path) -> Store:
    return Store(data_dir)


ImportFn = Callable[..., ImageRecord]


@pytest.fixture
def add(store: Store, tmp_path: Path) -> ImportFn:
    """Build an ACI from the arguments of :func:`build_aci` and import it."""
    counter = iter(range(1_000_000))

    def add(name: str, files: dict[str, Any] | None = None, **kwargs: Any) -> ImageRecord:
        path = build_aci(tmp_path / f"image-{next(counter)}.aci", name, files, **kwargs)
        return store.import_aci(path)

    return add
