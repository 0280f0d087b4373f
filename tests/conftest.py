"""Fixtures shared by the test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from digests.config import load_config
from digests.leaders import Registry

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The bundled config's leaders (a Registry never changes once built, so one serves all)."""
    return Registry(load_config(ROOT / "config").leaders)
