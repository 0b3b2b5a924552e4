"""The linkgress pytest plugin: a PostgreSQL server and throwaway databases as fixtures.

Registered as the ``pytest11`` entry point ``linkgress``, so installing linkgress is enough.

- ``linkgress_server_dsn`` (session): admin DSN of the test server (see
  :func:`linkgress.testing.postgres_server` for where it comes from).
- ``linkgress_session_database`` / ``linkgress_module_database`` / ``linkgress_database``
  (session / module / function): DSN of a fresh ``lg_test_<hex>`` database, dropped afterwards.
- ``linkgress_client`` (function, needs pytest-asyncio): a :class:`~linkgress.PgClient` on
  ``linkgress_database``, closed afterwards.
- ``linkgress_migration_steps`` (function): ``linkgress_migration_steps(AppDatabase,
  "migrations")`` is a :class:`~linkgress.testing.MigrationSteps` on ``linkgress_database``,
  to test a data migration step by step (``async with ... as steps: await
  steps.migrate_to(name)``).

The DSN fixtures are synchronous and run their database work on a private loop in a helper
thread, so they serve sync tests, pytest-asyncio tests (any loop scope) and anyio tests alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

from linkgress.testing import logger, provide_server, temporary_database

if TYPE_CHECKING:
    from pathlib import Path

    from linkgress.client import PgClient
    from linkgress.context import DbContext
    from linkgress.testing.migrations import MigrationSteps, MigrationStepsFactory

_SERVER_SOURCE = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def linkgress_server_dsn(pytestconfig: pytest.Config) -> Iterator[str]:
    """Admin DSN (may ``CREATE DATABASE``) of the PostgreSQL server tests run against."""
    with provide_server() as (dsn, source):
        logger.info("PostgreSQL for tests: %s", source)
        pytestconfig.stash[_SERVER_SOURCE] = source
        yield dsn


@pytest.fixture(scope="session")
def linkgress_session_database(linkgress_server_dsn: str) -> Iterator[str]:
    """DSN of a fresh database shared by the whole session, dropped at its end."""
    with temporary_database(linkgress_server_dsn) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def linkgress_module_database(linkgress_server_dsn: str) -> Iterator[str]:
    """DSN of a fresh database shared by the tests of one module, dropped after them."""
    with temporary_database(linkgress_server_dsn) as dsn:
        yield dsn


@pytest.fixture
def linkgress_database(linkgress_server_dsn: str) -> Iterator[str]:
    """DSN of a fresh database for one test, dropped after it."""
    with temporary_database(linkgress_server_dsn) as dsn:
        yield dsn


@pytest.fixture
def linkgress_migration_steps(linkgress_database: str) -> MigrationStepsFactory:
    """Make a :class:`~linkgress.testing.MigrationSteps` on this test's fresh database."""
    from linkgress.testing.migrations import MigrationSteps

    def steps(context_class: type[DbContext], directory: str | Path) -> MigrationSteps:
        return MigrationSteps(context_class, directory, linkgress_database)

    return steps


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio

    @pytest.fixture(name="linkgress_client")
    def _linkgress_client_unavailable() -> None:
        pytest.fail(
            "the linkgress_client fixture needs pytest-asyncio (pip install pytest-asyncio); "
            "without it, build a PgClient from the linkgress_database DSN inside your test"
        )

else:

    @pytest_asyncio.fixture(name="linkgress_client")
    async def _linkgress_client(linkgress_database: str) -> AsyncIterator[PgClient]:
        """A PgClient on ``linkgress_database``; its pool is closed after the test."""
        from linkgress.client import PgClient

        client = PgClient(dsn=linkgress_database)
        try:
            yield client
        finally:
            await client.close()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Say which PostgreSQL the tests used, when any test used one."""
    source = config.stash.get(_SERVER_SOURCE, None)
    if source is not None:
        terminalreporter.write_line(f"linkgress: tests ran against {source}")
