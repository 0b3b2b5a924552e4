"""Fixtures shared by the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli_support import MODELS, Cli


@pytest.fixture
def cli(tmp_path: Path, linkgress_database: str) -> Cli:
    """A :class:`Cli` in a fresh directory holding ``models.py``, on a fresh database."""
    (tmp_path / "models.py").write_text(MODELS)
    return Cli(tmp_path, linkgress_database)
