"""Fixtures of the real-process tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.test_durability import Cluster


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A store process (``elicit store``) and a decide key in it; services start per test."""
    made = Cluster(tmp_path)
    made.start_store()
    made.create_key()
    try:
        yield made
    finally:
        made.close()
