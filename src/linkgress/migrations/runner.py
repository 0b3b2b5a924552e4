"""``MigrationRunner``: applies and reverts journaled migration files.

Each migration runs in its own transaction together with its journal row and the managed-state
record, so a crash can never leave a migration applied but unrecorded. The transaction holds the
same advisory lock as ``migrate()`` (:meth:`MigrationExecutor.locked_transaction`); the journal
is re-read under it, so concurrent runners apply each migration exactly once — a runner that
waited finds the migration applied and reports it as skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from linkgress.client import ConnectionClient
from linkgress.errors import DatabaseError, MigrationError
from linkgress.schema.existing import read_existing
from linkgress.schema.plan import plan_create
from linkgress.schema.rawsql import failure_reason

from .builder import SchemaBuilder
from .files import MigrationFile, file_checksum, load_migrations, migration_paths
from .journal import DEFAULT_JOURNAL_TABLE, Journal, JournalRow
from .nonatomic import is_atomic, locked_session, nonatomic_failure
from .state import record_managed_state

if TYPE_CHECKING:
    from linkgress.connection import RawConnection
    from linkgress.schema.owner import SchemaOwner

log = logging.getLogger("linkgress.migrations")

Progress = Callable[[str, str], None]
"""``progress(action, name)`` with action ``"applied"`` or ``"reverted"``."""


@dataclass
class MigrationResult:
    """What ``up()``/``down()`` did.

    - ``applied``: names run by this call (``up``), in order, as batch ``batch``.
    - ``skipped``: names already applied (before the call, or by a concurrent runner).
    - ``reverted``: names reverted by ``down()``, newest first.
    - ``failed``: the name whose transaction failed and was rolled back (at most one);
      ``error`` holds the :class:`MigrationError` (its ``__cause__`` is the original).
    - ``pending``: names not run because of the failure — or, for a dry run, the names that
      would run, with their SQL in ``sql`` (name -> statements).
    - ``not_run``: in a dry run, the migrations with ``atomic = False``: their SQL was
      recorded without running it (it could not be rolled back).
    - ``baselined``: names recorded as applied without running (``up(baseline=True)``);
      ``baseline`` is True when that call created the schema from the model.
    """

    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    reverted: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    baselined: list[str] = field(default_factory=list)
    baseline: bool = False
    batch: int | None = None
    error: MigrationError | None = None
    dry_run: bool = False
    sql: dict[str, list[str]] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return self.error is None

    def raise_for_error(self) -> None:
        """Raise :attr:`error` if a migration failed (for callers that prefer exceptions)."""
        if self.error is not None:
            raise self.error


@dataclass(frozen=True)
class MigrationStatus:
    """One line of ``status()``: a migration file, a journal row, or both."""

    name: str
    applied: bool
    applied_at: datetime | None
    batch: int | None
    checksum_mismatch: bool
    file_missing: bool


def _up_to(files: list[MigrationFile], to: str | None, directory: Path) -> list[MigrationFile]:
    if to is None:
        return files
    names = [f.name for f in files]
    if to not in names:
        from linkgress.errors import MigrationFileError

        raise MigrationFileError(f"no migration named {to!r} (the files: "
                                 f"{', '.join(names) or 'none'})", path=str(directory))
    return files[:names.index(to) + 1]


def _failure(name: str, direction: str, exc: Exception, builder: SchemaBuilder) -> MigrationError:
    if isinstance(exc, MigrationError):
        return exc
    sql = builder.statements[-1] if isinstance(exc, asyncpg.PostgresError | DatabaseError) \
        and builder.statements else None
    where = f"\n  SQL: {sql}" if sql else ""
    op = builder.failed_operation
    reason = f"{type(exc).__name__}: {exc}"
    if op is not None and isinstance(exc, asyncpg.PostgresError):
        reason = f"at '{op.describe()}': {type(exc).__name__}: {failure_reason(op, exc)}"
    if isinstance(exc, asyncpg.ActiveSQLTransactionError) \
            or isinstance(exc.__cause__, asyncpg.ActiveSQLTransactionError):
        where += ("\n  this statement cannot run inside a transaction block: set "
                  "`atomic = False` on the migration class to run it outside one")
    return MigrationError(f"migration {name} failed in {direction}(): {reason}{where}\n"
                          "  it was rolled back", operation=op, sql=sql)


def _sql_failed(exc: Exception) -> bool:
    return isinstance(exc, asyncpg.PostgresError | DatabaseError)


class MigrationRunner:
    """Runs the migration files of ``migrations_directory`` against ``db``'s database.

    ``journal_table``/``journal_schema`` name the history table; ``lock_timeout`` and
    ``lock_wait_timeout`` are as for ``migrate()``. ``progress`` is called after each migration
    is committed.
    """

    def __init__(self, db: SchemaOwner, migrations_directory: str | Path = "migrations", *,
                 journal_table: str = DEFAULT_JOURNAL_TABLE, journal_schema: str = "public",
                 lock_timeout: float = 5.0, lock_wait_timeout: float = 60.0,
                 progress: Progress | None = None) -> None:
        self.db = db
        self.directory = Path(migrations_directory)
        self.journal = Journal(journal_table, journal_schema)
        self.manager = db.get_schema_manager(lock_timeout=lock_timeout,
                                             lock_wait_timeout=lock_wait_timeout, quiet=True)
        self.executor = self.manager.executor
        self.progress = progress

    def _client(self, conn: RawConnection) -> ConnectionClient:
        return ConnectionClient(conn, log_queries=self.db.client.log_queries,
                                server=self.db.client.address)

    async def applied_rows(self) -> list[JournalRow]:
        """The journal, oldest first ([] before the first migration)."""
        async with self.db.client.acquire() as conn:
            return await self.journal.rows(conn)

    # -- up -------------------------------------------------------------------------------------

    async def up(self, *, dry_run: bool = False, baseline: bool = False,
                 to: str | None = None) -> MigrationResult:
        """Apply every pending file, in lexicographic order, as one new batch.

        Every file is loaded and validated first (:class:`MigrationFileError` before anything
        runs); then ``on_migration_start`` runs (its failure raises :class:`MigrationError`,
        nothing having run). Stops at the first failure: that migration is
        rolled back, later ones stay pending, and the result carries ``failed`` and ``error``
        (call ``result.raise_for_error()`` to turn it into an exception). The context's
        ``on_migration_complete`` hook runs in the transaction of the last migration applied.

        ``dry_run=True`` runs the pending migrations in one transaction that is rolled back and
        returns their SQL in ``result.sql``: exact, since it is what really ran. A migration
        with ``atomic = False`` is not run (it could not be rolled back): its statements are
        recorded without a database and listed in ``result.not_run``.
        ``baseline=True`` on a database whose journal is empty creates the schema from the model
        (as ``ensure_created()`` does) and records every file as applied without running it;
        with a non-empty journal it is a plain ``up()``.

        ``to="NAME"`` stops after that migration (files sorting after it stay pending); a
        name that is no migration file raises :class:`MigrationFileError`.
        """
        files = _up_to(load_migrations(self.directory), to, self.directory)
        if to is not None and baseline:
            raise ValueError("up(): baseline=True records every file; it takes no `to`")
        if dry_run:
            return await self._dry_run(files, "up")
        await self.manager.run_start_hook()
        if baseline:
            result = await self._baseline(files)
            if result is not None:
                return result
        return await self._up(files)

    async def _up(self, files: list[MigrationFile]) -> MigrationResult:
        done = {r.name for r in await self.applied_rows()}
        result = MigrationResult(skipped=[f.name for f in files if f.name in done])
        pending = [f for f in files if f.name not in done]
        for i, migration in enumerate(pending):
            try:
                ran = await self._apply(migration, result, last=i == len(pending) - 1)
            except MigrationError as exc:
                result.failed.append(migration.name)
                result.error = exc
                result.pending = [f.name for f in pending[i + 1:]]
                log.error("%s", exc)
                break
            (result.applied if ran else result.skipped).append(migration.name)
            if ran and self.progress is not None:
                self.progress("applied", migration.name)
        return result

    async def _apply(self, migration: MigrationFile, result: MigrationResult, *,
                     last: bool) -> bool:
        if not is_atomic(migration.migration_class):
            return await self._apply_nonatomic(migration, result, last=last)
        async with self.executor.locked_transaction() as conn:
            await self.journal.ensure(conn)
            if await self.journal.is_applied(conn, migration.name):
                return False  # a concurrent runner applied it while we waited for the lock
            top = await self.journal.max_batch(conn)
            # Join a newer batch started concurrently, so down(batch=True) stays newest-first.
            result.batch = top + 1 if result.batch is None else max(result.batch, top)
            builder = SchemaBuilder(self._client(conn))
            try:
                await migration.instantiate().up(builder)
            except Exception as exc:
                raise _failure(migration.name, "up", exc, builder) from exc
            await self.journal.record(conn, migration.name, result.batch, migration.checksum)
            if last:
                await self.executor.run_hook(conn, self.db.on_migration_complete,
                                             "on_migration_complete")
            await record_managed_state(self.executor, conn, self.manager.target_schema())
        log.info("applied migration %s (batch %d)", migration.name, result.batch)
        return True

    async def _apply_nonatomic(self, migration: MigrationFile, result: MigrationResult, *,
                               last: bool) -> bool:
        # Outside any transaction, under the session-level migration lock (nonatomic.py).
        async with locked_session(self.executor) as conn:
            async with conn.transaction():
                await self.journal.ensure(conn)
                if await self.journal.is_applied(conn, migration.name):
                    return False
                top = await self.journal.max_batch(conn)
            result.batch = top + 1 if result.batch is None else max(result.batch, top)
            await self._run_outside(conn, migration, "up")
            async with conn.transaction():
                await self.journal.record(conn, migration.name, result.batch, migration.checksum)
                if last:
                    await self.executor.run_hook(conn, self.db.on_migration_complete,
                                                 "on_migration_complete")
                await record_managed_state(self.executor, conn, self.manager.target_schema())
        log.info("applied migration %s (batch %d, not atomic)", migration.name, result.batch)
        return True

    async def _run_outside(self, conn: RawConnection, migration: MigrationFile,
                           direction: str) -> None:
        builder = SchemaBuilder(self._client(conn))
        try:
            await getattr(migration.instantiate(), direction)(builder)
        except Exception as exc:
            error = _failure(migration.name, direction, exc, builder)
            raise nonatomic_failure(migration.name, direction, error, builder,
                                    failed_in_sql=_sql_failed(exc)) from exc

    async def _revert_nonatomic(self, migration: MigrationFile) -> bool:
        async with locked_session(self.executor) as conn:
            if not await self.journal.is_applied(conn, migration.name):
                return False  # reverted concurrently
            await self._run_outside(conn, migration, "down")
            async with conn.transaction():
                await self.journal.remove(conn, migration.name)
                await record_managed_state(self.executor, conn, self.manager.target_schema())
        log.info("reverted migration %s (not atomic)", migration.name)
        return True

    async def _baseline(self, files: list[MigrationFile]) -> MigrationResult | None:
        async with self.executor.locked_transaction() as conn:
            await self.journal.ensure(conn)
            if await self.journal.rows(conn):
                return None  # not a fresh database: a plain up()
            target = self.manager.target_schema()
            existing = await read_existing(conn, list(target.schemas))
            await self.executor.apply(conn, plan_create(target, existing))
            await self.executor.run_hook(conn, self.db.on_migration_complete,
                                         "on_migration_complete")
            for migration in files:
                await self.journal.record(conn, migration.name, 1, migration.checksum,
                                          stamped=True)
            await record_managed_state(self.executor, conn, target)
        log.info("baseline: created the schema from the model, recorded %d migration(s)",
                 len(files))
        return MigrationResult(baselined=[f.name for f in files], baseline=True,
                               batch=1 if files else None)

    async def stamp(self, to: str) -> MigrationResult:
        """Record ``to`` and every pending file sorting before it as applied, without running
        them (Alembic's ``stamp``, Django's ``--fake``), as one new batch marked ``stamped``
        in the journal; the managed-state record is refreshed from what exists.

        For a database whose schema was changed by other means. ``result.baselined`` lists the
        names recorded, ``result.skipped`` those already applied. A name that is no migration
        file raises :class:`MigrationFileError`.
        """
        files = _up_to(load_migrations(self.directory), to, self.directory)
        result = MigrationResult()
        async with self.executor.locked_transaction() as conn:
            await self.journal.ensure(conn)
            done = {r.name for r in await self.journal.rows(conn)}
            todo = [f for f in files if f.name not in done]
            result.skipped = [f.name for f in files if f.name in done]
            if todo:
                result.batch = await self.journal.max_batch(conn) + 1
                for migration in todo:
                    await self.journal.record(conn, migration.name, result.batch,
                                              migration.checksum, stamped=True)
                await record_managed_state(self.executor, conn, self.manager.target_schema())
        result.baselined = [f.name for f in todo]
        log.info("stamped %d migration(s) as applied without running them", len(todo))
        return result

    # -- down -----------------------------------------------------------------------------------

    async def down(self, n: int = 1, *, batch: bool = False,
                   dry_run: bool = False) -> MigrationResult:
        """Revert the newest ``n`` applied migrations (by application order), newest first —
        or, with ``batch=True``, every migration of the last batch.

        ``on_migration_start`` runs first (outside any transaction), as for :meth:`up`.
        Each runs its file's ``down()`` in its own transaction, deleting its journal row.
        Raises :class:`MigrationFileError` before anything runs when a file is malformed or a
        migration to revert has no file. Stops at the first failure, like :meth:`up`.
        """
        if n < 1 and not batch:
            raise ValueError(f"n must be at least 1, got {n!r}")
        files = {f.name: f for f in load_migrations(self.directory)}
        rows = await self.applied_rows()
        if batch:
            top = max((r.batch for r in rows), default=None)
            targets = [r for r in reversed(rows) if r.batch == top]
        else:
            targets = list(reversed(rows))[:n]
        missing = [r.name for r in targets if r.name not in files]
        if missing:
            from linkgress.errors import MigrationFileError

            raise MigrationFileError(f"cannot revert {', '.join(missing)}: no such file",
                                     path=str(self.directory))
        chosen = [files[r.name] for r in targets]
        if dry_run:
            return await self._dry_run(chosen, "down")
        await self.manager.run_start_hook()
        return await self._down(chosen)

    async def _down(self, chosen: list[MigrationFile]) -> MigrationResult:
        result = MigrationResult()
        for i, migration in enumerate(chosen):
            try:
                ran = await self._revert(migration)
            except MigrationError as exc:
                result.failed.append(migration.name)
                result.error = exc
                result.pending = [f.name for f in chosen[i + 1:]]
                log.error("%s", exc)
                break
            (result.reverted if ran else result.skipped).append(migration.name)
            if ran and self.progress is not None:
                self.progress("reverted", migration.name)
        return result

    async def _revert(self, migration: MigrationFile) -> bool:
        if not is_atomic(migration.migration_class):
            return await self._revert_nonatomic(migration)
        async with self.executor.locked_transaction() as conn:
            if not await self.journal.remove(conn, migration.name):
                return False  # reverted concurrently
            builder = SchemaBuilder(self._client(conn))
            try:
                await migration.instantiate().down(builder)
            except Exception as exc:
                raise _failure(migration.name, "down", exc, builder) from exc
            await record_managed_state(self.executor, conn, self.manager.target_schema())
        log.info("reverted migration %s", migration.name)
        return True

    # -- dry run, status ------------------------------------------------------------------------

    async def _dry_run(self, files: list[MigrationFile], direction: str) -> MigrationResult:
        # Exact: the migrations really run, in one transaction under the lock, which is then
        # rolled back (the start hook too, inside it). See up() for the trade-off.
        result = MigrationResult(dry_run=True)
        async with self.executor.locked_transaction() as conn:
            savepoint = conn.transaction()
            await savepoint.start()
            try:
                try:
                    await self.db.on_migration_start(self._client(conn))
                except Exception as exc:
                    raise MigrationError(f"on_migration_start hook failed: {exc!r}; "
                                         "nothing was run") from exc
                done = {r.name for r in await self.journal.rows(conn)}
                todo = [f for f in files if (f.name in done) == (direction == "down")]
                result.skipped = [f.name for f in files if f not in todo]
                await self._run_recorded(conn, todo, direction, result)
            finally:
                await savepoint.rollback()
        return result

    async def _run_recorded(self, conn: RawConnection, todo: list[MigrationFile],
                            direction: str, result: MigrationResult) -> None:
        for migration in todo:
            atomic = is_atomic(migration.migration_class)
            # A non-atomic migration could not be rolled back: its SQL is recorded, not run.
            builder = SchemaBuilder(self._client(conn) if atomic else None)
            result.sql[migration.name] = builder.statements
            result.pending.append(migration.name)
            if not atomic:
                result.not_run.append(migration.name)
            try:
                await getattr(migration.instantiate(), direction)(builder)
            except Exception as exc:
                result.failed.append(migration.name)
                result.error = _failure(migration.name, direction, exc, builder)
                if not atomic:
                    result.error = MigrationError(
                        f"migration {migration.name} (atomic = False) cannot be shown in a dry "
                        f"run: its {direction}() needs the database ({exc}), and a migration "
                        "that runs outside a transaction cannot be run and rolled back")
                if result.error is not exc:
                    result.error.__cause__ = exc
                return

    async def status(self) -> list[MigrationStatus]:
        """Every migration file and journal row, by name: applied or pending, batch,
        applied_at, ``checksum_mismatch`` (an applied file was edited afterwards) and
        ``file_missing`` (a journal row without a file). Reads only; files are not imported."""
        paths = {p.stem: p for p in migration_paths(self.directory)}
        rows = {r.name: r for r in await self.applied_rows()}
        entries = []
        for name in sorted(paths.keys() | rows.keys()):
            row, path = rows.get(name), paths.get(name)
            entries.append(MigrationStatus(
                name=name, applied=row is not None,
                applied_at=row.applied_at if row else None, batch=row.batch if row else None,
                checksum_mismatch=bool(row and path and file_checksum(path) != row.checksum),
                file_missing=path is None))
        return entries
