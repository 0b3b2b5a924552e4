"""Fixtures shared by the integration tests: ``cli`` (a project directory on a fresh database),
and for the mutation, transaction and error tests one ``Club`` context per module (schema
created once) emptied before each test (``club``, ``db``). A module that defines its own
fixture of one of these names uses that one instead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.integration.cli_support import MODELS, Cli
from tests.integration.mutation_models import Club, open_club, reset


@pytest.fixture
def cli(tmp_path: Path, linkgress_database: str) -> Cli:
    """A :class:`Cli` in a fresh directory holding ``models.py``, on a fresh database."""
    (tmp_path / "models.py").write_text(MODELS)
    return Cli(tmp_path, linkgress_database)


@pytest_asyncio.fixture(scope="module")
async def club(linkgress_module_database: str) -> AsyncIterator[Club]:
    db = await open_club(linkgress_module_database)
    try:
        yield db
    finally:
        await db.dispose()


@pytest_asyncio.fixture
async def db(club: Club) -> Club:
    await reset(club)
    return club
