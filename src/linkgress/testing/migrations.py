"""Testing journaled migrations: :func:`check_migrations` and :class:`MigrationSteps`.

``check_migrations(AppDatabase, "migrations", dsn)`` on an empty database asserts what a
reviewer would want of a migration history:

- one linear history: no two files claim the same place (the same timestamp prefix, as two
  branches each adding a migration produce);
- every file applies, in order, to an empty database;
- after the last file the database equals the model (``migration create --auto`` would write
  nothing);
- ``up`` → ``down`` (every file) → ``up`` gives an identical catalog, and ``down`` of every file
  leaves none of the model's tables behind.

:class:`MigrationSteps` tests a data migration step by step: apply up to a migration, insert
rows, apply the next, assert on the data. The pytest plugin's ``linkgress_migration_steps``
fixture makes one on a fresh database per test (a :class:`MigrationStepsFactory`).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from linkgress.context import DbContext
    from linkgress.migrations import MigrationRunner
    from linkgress.schema.snapshot import Schema

__all__ = ["MigrationCheckFailed", "MigrationSteps", "MigrationStepsFactory", "check_migrations"]

_PLACE = re.compile(r"\d+(?:_\d+)*")


class MigrationCheckFailed(AssertionError):
    """A migration history failed :func:`check_migrations`; the message says how."""


def check_linear(names: list[str]) -> None:
    """Raise :class:`MigrationCheckFailed` when two files share a numeric prefix."""
    seen: dict[str, str] = {}
    for name in sorted(names):
        match = _PLACE.match(name)
        if match is None:
            continue
        other = seen.setdefault(match.group(), name)
        if other != name:
            raise MigrationCheckFailed(
                f"{other} and {name} claim the same place ({match.group()}): the history is "
                "not linear (two branches?); rename one to sort after the other")


async def check_migrations(context_class: type[DbContext], directory: str | Path,
                           dsn: str) -> list[str]:
    """Check the migration files of ``directory`` against ``context_class`` on ``dsn`` (an
    empty database, e.g. the ``linkgress_database`` fixture). Returns the names applied;
    raises :class:`MigrationCheckFailed` (an ``AssertionError``) saying what is wrong."""
    from linkgress.client import PgClient
    from linkgress.migrations import MigrationRunner
    from linkgress.migrations.files import migration_paths

    check_linear([p.stem for p in migration_paths(Path(directory))])
    db = context_class(PgClient(dsn=dsn, max_size=2))
    try:
        runner = MigrationRunner(db, migrations_directory=directory)
        if await runner.applied_rows():
            raise MigrationCheckFailed("check_migrations() needs an empty database; this one "
                                       "has applied migrations")
        applied = await _up(runner, "applying every file to an empty database")
        pending = await db.get_schema_manager(quiet=True).analyze()
        if pending:
            raise MigrationCheckFailed(
                "after every file the database differs from the model (scaffold a migration):"
                + "".join(f"\n  - {op.describe()}" for op in pending))
        before = await _catalog(db)
        await _down_all(db, runner, len(applied))
        await _up(runner, "applying every file again after reverting them")
        after = await _catalog(db)
        if after != before:
            raise MigrationCheckFailed("up -> down -> up does not give the same catalog: "
                                       + _difference(before, after))
        return applied
    finally:
        await db.dispose()


async def _up(runner: MigrationRunner, doing: str) -> list[str]:
    result = await runner.up()
    if result.error is not None:
        raise MigrationCheckFailed(f"{doing}: {result.error}") from result.error
    return result.applied


async def _down_all(db: DbContext, runner: MigrationRunner, n: int) -> None:
    if n:
        result = await runner.down(n)
        if result.error is not None:
            raise MigrationCheckFailed(f"reverting every file: {result.error}") from result.error
    left = [t.qualified_name for t in (await _catalog(db)).tables
            if t.key in {m.key for m in db.get_schema_manager(quiet=True).target_schema().tables}]
    if left:
        raise MigrationCheckFailed(f"after down() of every file these tables remain: "
                                   f"{', '.join(left)}")


async def _catalog(db: DbContext) -> Schema:
    from linkgress.schema.introspect import introspect

    schemas = ["public", *db.get_schema_manager(quiet=True).target_schema().schemas]
    return await introspect(db.client, schemas)


def _difference(before: Schema, after: Schema) -> str:
    first = {t.key: t for t in before.tables}
    second = {t.key: t for t in after.tables}
    changed = sorted(".".join(key) for key in first.keys() | second.keys()
                     if first.get(key) != second.get(key))
    if changed:
        return f"tables {', '.join(changed)} differ"
    return "enums, sequences or schemas differ"


class MigrationSteps:
    """Step through the migration files on ``dsn`` (an empty database)::

        async with MigrationSteps(AppDatabase, "migrations", linkgress_database) as steps:
            await steps.migrate_to("20260101_000000_create_users")
            await steps.db.client.execute("INSERT INTO users (name) VALUES ('ann')")
            await steps.migrate_to("20260102_000000_split_name")
            assert await steps.db.client.fetchval("SELECT first_name FROM users") == "ann"

    ``db`` is an instance of ``context_class`` on ``dsn``; disposed on exit.
    """

    def __init__(self, context_class: type[DbContext], directory: str | Path,
                 dsn: str) -> None:
        from linkgress.client import PgClient
        from linkgress.migrations import MigrationRunner

        self.db = context_class(PgClient(dsn=dsn))
        self.runner = MigrationRunner(self.db, migrations_directory=directory)

    async def migrate_to(self, name: str) -> list[str]:
        """Apply the pending files up to and including ``name``; returns the names applied.
        Raises the migration's :class:`~linkgress.errors.MigrationError` if one fails."""
        result = await self.runner.up(to=name)
        result.raise_for_error()
        return result.applied

    async def migrate_all(self) -> list[str]:
        """Apply every pending file; returns the names applied."""
        result = await self.runner.up()
        result.raise_for_error()
        return result.applied

    async def revert(self, n: int = 1) -> list[str]:
        """Revert the newest ``n`` applied migrations; returns the names reverted."""
        result = await self.runner.down(n)
        result.raise_for_error()
        return result.reverted

    async def __aenter__(self) -> MigrationSteps:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.db.dispose()


class MigrationStepsFactory(Protocol):
    """The ``linkgress_migration_steps`` fixture: ``linkgress_migration_steps(AppDatabase,
    "migrations")`` is a :class:`MigrationSteps` on the test's fresh database."""

    def __call__(self, context_class: type[DbContext], directory: str | Path
                 ) -> MigrationSteps: ...
