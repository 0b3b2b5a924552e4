"""Fixtures shared by the integration tests: ``cli`` (a project directory on a fresh database),
and for the mutation, transaction and error tests one ``Club`` context per module (schema
created once) emptied before each test (``club``, ``db``). A module that defines its own
fixture of one of these names uses that one instead.

**The PgBouncer pass.** ``route`` is parametrised: every test that reaches its database through
``routed_module_database`` or ``routed_database`` (the ``club`` context here, and the query
modules' own contexts) runs twice — once straight to the server, once through a real PgBouncer
in transaction pooling mode with ``pgbouncer=True``, which creates the schema through it too.
A module whose tests cannot pass through PgBouncer (they kill server connections, read
server-side session state, or start their own servers) overrides ``route`` with a fixture
that returns ``"direct"``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from linkgress.dsn import parse_dsn
from linkgress.testing import temporary_database
from tests.integration.cli_support import MODELS, Cli
from tests.integration.mutation_models import Club, open_club, reset
from tests.integration.pgbouncer import PgBouncer, running_pgbouncer

ROUTES = ("direct", "pgbouncer")


@pytest.fixture(scope="session")
def pgbouncer_front(linkgress_server_dsn: str) -> Iterator[PgBouncer]:
    """One PgBouncer (transaction mode) in front of the test server for the whole session,
    started the first time a test takes the PgBouncer route."""
    with running_pgbouncer(linkgress_server_dsn, pool_size=10) as started:
        yield started


@pytest.fixture(scope="module", params=ROUTES)
def route(request: pytest.FixtureRequest) -> str:
    """How this module's contexts reach the server: ``direct`` or ``pgbouncer``."""
    return str(request.param)


def _on_route(dsn: str, route: str, request: pytest.FixtureRequest) -> str:
    """``dsn`` as this route reaches it: unchanged, or through PgBouncer with
    ``?pgbouncer=true``."""
    if route == "direct":
        return dsn
    bouncer: PgBouncer = request.getfixturevalue("pgbouncer_front")
    database = parse_dsn(dsn).database
    assert database is not None, dsn
    return bouncer.dsn(database)


@pytest.fixture(scope="module")
def routed_module_database(route: str, linkgress_server_dsn: str,
                           request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database per module and route, as the route reaches it."""
    with temporary_database(linkgress_server_dsn) as dsn:
        yield _on_route(dsn, route, request)


@pytest.fixture
def routed_database(route: str, linkgress_server_dsn: str,
                    request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for one test, as the module's route reaches it."""
    with temporary_database(linkgress_server_dsn) as dsn:
        yield _on_route(dsn, route, request)


@pytest.fixture
def cli(tmp_path: Path, linkgress_database: str) -> Cli:
    """A :class:`Cli` in a fresh directory holding ``models.py``, on a fresh database."""
    (tmp_path / "models.py").write_text(MODELS)
    return Cli(tmp_path, linkgress_database)


@pytest_asyncio.fixture(scope="module")
async def club(routed_module_database: str) -> AsyncIterator[Club]:
    db = await open_club(routed_module_database)
    try:
        yield db
    finally:
        await db.dispose()


@pytest_asyncio.fixture
async def db(club: Club) -> Club:
    await reset(club)
    return club
