"""Fixtures shared by the mutation, transaction and error tests: one ``Club`` context per module
(schema created once), emptied before each test. A module that defines its own ``club`` or
``db`` fixture uses that one instead."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.integration.mutation_models import Club, open_club, reset


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
