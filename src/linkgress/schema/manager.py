"""``DbSchemaManager``: brings a database to the model.

Obtain it with ``db.get_schema_manager()``. ``analyze()`` reports what ``migrate()`` would do and
changes nothing; ``migrate()`` applies it atomically under the migration lock; ``ensure_created``
and ``ensure_deleted`` create / drop the model's objects (see :mod:`linkgress.schema.executor`
for the lock and the transaction, :mod:`linkgress.schema.confirm` for the consent policy and
:mod:`linkgress.schema.deferred` for what runs outside the transaction).

``migrate()`` step by step:

1. await ``on_migration_start(client)`` outside any transaction (a failure: nothing changed);
2. one connection, one transaction, ``pg_advisory_xact_lock`` (bounded by
   ``lock_wait_timeout``), then a short ``lock_timeout`` for the DDL;
3. under the lock: read the recorded managed state, introspect, normalise, diff — so a worker
   that waited for another one's migration finds nothing left to do;
4. log the plan (``linkgress.migrate``), obtain consent for destructive operations;
5. apply the operations one by one, await ``on_migration_complete`` (always, even when there
   was nothing to apply: keep it idempotent), record the managed state, COMMIT;
6. after COMMIT, build indexes declared ``concurrently=True`` (``CREATE INDEX CONCURRENTLY``
   cannot run in a transaction).

Any failure in 2-5 rolls everything back and raises :class:`~linkgress.errors.MigrationError`
carrying the failed operation, its SQL and the PostgreSQL error as ``__cause__``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import asyncpg

from linkgress.errors import MigrationError, ModelError
from linkgress.schema.cascade import DeletedObjects, cascade_victims
from linkgress.schema.confirm import Confirm, destructive, log_plan, obtain_consent
from linkgress.schema.deferred import (
    build_concurrently,
    enum_values_to_commit_first,
    invalid_concurrent_indexes,
    split_concurrent,
)
from linkgress.schema.diff import DiffResult, diff
from linkgress.schema.executor import MigrationExecutor, MigrationSettings
from linkgress.schema.existing import read_existing
from linkgress.schema.from_model import schema_from_model
from linkgress.schema.introspect import introspect, normalize_target
from linkgress.schema.operations import CreateIndex, DropIndex, Operation
from linkgress.schema.partitions import expand_for_partitions, keep_foreign_indexes
from linkgress.schema.plan import merge_schemas, plan_create, plan_drop
from linkgress.schema.quoting import quote_ident
from linkgress.schema.snapshot import Schema

if TYPE_CHECKING:
    from linkgress.connection import RawConnection
    from linkgress.model.meta import ModelMeta
    from linkgress.schema.owner import SchemaOwner

log = logging.getLogger("linkgress.migrate")


def schemas_in_scope(*snapshots: Schema | None) -> list[str]:
    """Every schema the snapshots use (declared, or holding one of their objects), in order."""
    names: dict[str, None] = {}
    for snap in snapshots:
        if snap is None:
            continue
        names.update(dict.fromkeys(snap.schemas))
        for key in (*(t.key for t in snap.tables), *(e.key for e in snap.enums),
                    *(s.key for s in snap.sequences)):
            names.setdefault(key[0])
    return list(names)


# The recorded snapshot carries the fingerprint of the model it was normalised from (in its
# ``notes``, which never take part in comparisons). When the model, the server version and the
# search_path are unchanged, the recorded snapshot *is* the normalised target, and the costly
# normalisation (PostgreSQL re-printing every default and index) is skipped: that is what keeps
# a no-op migrate() at every service start cheap.
FINGERPRINT_NOTE = "linkgress:model-sha256="


# The model's schema and the digest of its repr() by id(model), the model kept alive with them
# (so the id cannot be reused): a context class builds its model once, and the conversion and
# the digest are then done once per process, not at every migrate().
_MODEL_SCHEMAS: dict[int, tuple[ModelMeta, Schema, str]] = {}


def _model_schema(model: ModelMeta) -> tuple[Schema, str]:
    entry = _MODEL_SCHEMAS.get(id(model))
    if entry is None or entry[0] is not model:
        schema = schema_from_model(model)
        # repr() of the frozen snapshot values (tuples, strings, numbers) is deterministic and
        # ten times cheaper than to_json().
        entry = (model, schema, hashlib.sha256(repr(schema).encode()).hexdigest())
        if len(_MODEL_SCHEMAS) >= 64:
            _MODEL_SCHEMAS.clear()
        _MODEL_SCHEMAS[id(model)] = entry
    return entry[1], entry[2]


def _schema_digest(target: Schema) -> str:
    for _, schema, digest in _MODEL_SCHEMAS.values():
        if schema is target:
            return digest
    return hashlib.sha256(repr(target).encode()).hexdigest()


async def model_fingerprint(conn: RawConnection, target: Schema) -> str:
    """A digest of the model's schema and of what PostgreSQL's printing depends on."""
    search_path = await conn.fetchval("SELECT current_setting('search_path')")
    payload = repr((_schema_digest(target), conn.get_server_version(), search_path))
    return hashlib.sha256(payload.encode()).hexdigest()


def with_fingerprint(schema: Schema, fingerprint: str) -> Schema:
    """``schema`` marked as the normalisation of the model with ``fingerprint``."""
    return replace(schema, notes=(FINGERPRINT_NOTE + fingerprint,))


async def normalized_target(conn: RawConnection, target: Schema,
                            recorded: Schema | None) -> Schema:
    """``normalize_target(conn, target)``, or the recorded snapshot when it was normalised from
    the very same model (see ``FINGERPRINT_NOTE``); the result carries the fingerprint.
    Raises :class:`MigrationError` naming the model object whose SQL PostgreSQL rejects."""
    fingerprint = await model_fingerprint(conn, target)
    if recorded is not None and FINGERPRINT_NOTE + fingerprint in recorded.notes:
        return recorded
    try:
        normalized = await normalize_target(conn, target)
    except ModelError as exc:  # PostgreSQL rejected the model's SQL: name it, chain its error
        raise MigrationError(f"{exc}\n  no schema change was made") from (exc.__cause__ or exc)
    return with_fingerprint(normalized, fingerprint)


def _reading_failed(exc: asyncpg.PostgresError) -> MigrationError:
    return MigrationError(f"reading the database schema failed: {exc}; "
                          "no schema change was made")


async def _keep_foreign_indexes(conn: RawConnection, result: DiffResult) -> DiffResult:
    """``result`` without the index drops that would take an index linkgress did not make
    (see :mod:`linkgress.schema.partitions`), with a note for each."""
    kept, notes = await keep_foreign_indexes(conn, result.operations)
    if not notes:
        return result
    return DiffResult(operations=kept, notes=[*result.notes, *notes])


@dataclass
class _Pass:
    """What one locked transaction of ``migrate()`` did."""

    applied: list[Operation] = field(default_factory=list)
    deferred: list[CreateIndex] = field(default_factory=list)
    plan_again: bool = False


class DbSchemaManager:
    """Schema operations for one context: ``analyze``, ``migrate``, ``ensure_created``,
    ``ensure_deleted``.

    ``lock_timeout`` bounds each DDL statement's wait for table locks (live traffic);
    ``lock_wait_timeout`` bounds the wait for another migrator's lock. ``exclude`` lists table
    patterns (fnmatch on ``table`` or ``schema.table``) that introspection ignores. With
    ``quiet=True`` nothing is logged above DEBUG.
    """

    def __init__(self, context: SchemaOwner, *, lock_timeout: float = 5.0,
                 lock_wait_timeout: float = 60.0, state_schema: str = "public",
                 state_table: str = "__linkgress_schema_state",
                 quiet: bool = False, exclude: Sequence[str] = ()) -> None:
        self.context = context
        self.client = context.client
        self.quiet = quiet
        self.exclude = tuple(exclude)
        self.settings = MigrationSettings(
            lock_timeout=lock_timeout, lock_wait_timeout=lock_wait_timeout,
            state_schema=state_schema, state_table=state_table,
            state_name=context.state_name)
        self.executor = MigrationExecutor(self.client, self.settings)

    @property
    def _level(self) -> int:
        return logging.DEBUG if self.quiet else logging.INFO

    def target_schema(self) -> Schema:
        """The schema the model declares (built once per model)."""
        return _model_schema(self.context.model)[0]

    async def run_start_hook(self) -> None:
        """Await ``on_migration_start`` outside any transaction; wrap its failure."""
        try:
            await self.context.on_migration_start(self.client)
        except Exception as exc:
            raise MigrationError(f"on_migration_start hook failed: {exc!r}; "
                                 "no schema change was made") from exc

    # -- analyze ----------------------------------------------------------------------------

    async def analyze(self) -> list[Operation]:
        """The operations ``migrate()`` would apply now, in order; ``[]`` when the database
        matches the model. Changes nothing: its temporary work runs in a transaction that is
        rolled back. Hooks are not run. Raises :class:`~linkgress.errors.MigrationError` when
        the database cannot be read or PostgreSQL rejects the model's SQL (naming the object)."""
        return (await self.analyze_full()).operations

    async def analyze_full(self, *, manage_all: bool = False) -> DiffResult:
        """Like :meth:`analyze`, with the differ's notes (unmanaged objects left alone, likely
        renames, changes that may fail on existing rows). ``manage_all`` treats everything in
        the model's schemas as managed (it may then propose dropping unknown objects)."""
        target = self.target_schema()
        try:
            async with self.client.acquire() as conn:
                tr = conn.transaction()
                await tr.start()
                try:
                    recorded = await self.executor.read_state(conn)
                    normalized = await normalized_target(conn, target, recorded)
                finally:
                    await tr.rollback()
            # Read with the pool's concurrent introspection (the connection above is released
            # first, so a pool of any size suffices).
            current = await introspect(self.client, schemas_in_scope(target, recorded),
                                       exclude=self.exclude)
        except asyncpg.PostgresError as exc:
            raise _reading_failed(exc) from exc
        result = diff(current, normalized, managed=recorded, manage_all=manage_all)
        if any(type(op) is DropIndex for op in result.operations):
            async with self.client.acquire() as conn:
                result = await _keep_foreign_indexes(conn, result)
        return result

    # -- migrate ----------------------------------------------------------------------------

    async def migrate(self, *, allow_destructive: bool = False, confirm: Confirm | None = None,
                      manage_all: bool = False, dry_run: bool = False) -> list[Operation]:
        """Bring the database to the model atomically; return the operations applied.

        Destructive operations need consent: ``allow_destructive=True``, else ``confirm``
        (awaited with the plan, True to go ahead), else ``Do you want to continue? (y/N)`` on a
        terminal; without a terminal :class:`~linkgress.errors.MigrationAborted` is raised and
        nothing changes. ``dry_run=True`` only logs and returns the plan (no hooks, no lock).

        Raises :class:`~linkgress.errors.MigrationError` (nothing applied) when an operation
        or a hook fails or PostgreSQL rejects the model's raw SQL (naming the object),
        :class:`~linkgress.errors.MigrationLockTimeout` when another migrator holds the lock
        longer than ``lock_wait_timeout``.
        """
        if dry_run:
            result = await self.analyze_full(manage_all=manage_all)
            log_plan(result.operations, quiet=self.quiet)
            return result.operations
        await self.run_start_hook()
        target = self.target_schema()
        consented: set[str] = set()
        applied: list[Operation] = []
        step = _Pass(plan_again=True)
        for attempt in range(2):
            step = await self._locked_pass(target, consented, allow_destructive=allow_destructive,
                                           confirm=confirm, manage_all=manage_all,
                                           may_split=attempt == 0)
            applied += step.applied
            if not step.plan_again:
                break
        applied += await build_concurrently(self.client, step.deferred, quiet=self.quiet)
        return applied

    async def _plan(self, conn: RawConnection, target: Schema, *, manage_all: bool
                    ) -> tuple[DiffResult, Schema, Schema | None]:
        """Diff under the lock, on the migration connection: (result, normalised target,
        recorded state)."""
        try:
            recorded = await self.executor.read_state(conn)
            normalized = await normalized_target(conn, target, recorded)
            current = await introspect(self.client, schemas_in_scope(target, recorded),
                                       exclude=self.exclude, connection=conn)
        except asyncpg.PostgresError as exc:
            raise _reading_failed(exc) from exc
        result = diff(current, normalized, managed=recorded, manage_all=manage_all)
        return await _keep_foreign_indexes(conn, result), normalized, recorded

    async def _consent(self, operations: list[Operation], consented: set[str], *,
                       allow_destructive: bool, confirm: Confirm | None) -> None:
        # A second pass (after enum labels were committed) asks again only for news.
        fresh = {op.describe() for op in destructive(operations)} - consented
        if fresh:
            await obtain_consent(operations, allow_destructive=allow_destructive,
                                 confirm=confirm, logger=log)
            consented |= fresh

    async def _locked_pass(self, target: Schema, consented: set[str], *,
                           allow_destructive: bool, confirm: Confirm | None,
                           manage_all: bool, may_split: bool) -> _Pass:
        async with self.executor.locked_transaction() as conn:
            result, normalized, recorded = await self._plan(conn, target, manage_all=manage_all)
            now, later = split_concurrent(result.operations)
            later += [op for op in await invalid_concurrent_indexes(conn, normalized)
                      if op not in later]
            if result.operations:
                log_plan(result.operations, quiet=self.quiet)
            for note in result.notes:
                log.log(self._level, "note: %s", note)
            await self._consent(result.operations, consented,
                                allow_destructive=allow_destructive, confirm=confirm)
            early = enum_values_to_commit_first(now) if may_split else []
            if early:
                # The labels must be committed before anything may use them; the rest of the
                # plan is planned again in a second transaction, still under the lock.
                log.log(self._level, "committing %d new enum label(s) first", len(early))
                await self.executor.apply(conn, list(early))
                return _Pass(applied=list(early), plan_again=True)
            await self.executor.apply(conn, await expand_for_partitions(conn, now))
            await self.executor.run_hook(conn, self.context.on_migration_complete,
                                         "on_migration_complete")
            if now or recorded is None or recorded.notes != normalized.notes:
                await self.executor.write_state(conn, normalized)
        self._log_outcome(now, later)
        return _Pass(applied=now, deferred=later)

    def _log_outcome(self, applied: list[Operation], deferred: list[CreateIndex]) -> None:
        if applied:
            log.log(self._level, "Migration applied %d operation(s)", len(applied))
        elif not deferred:
            log.log(self._level, "Schema is up to date: no pending migrations")
        if deferred:
            log.log(self._level, "%d index(es) will be built CONCURRENTLY after the commit",
                    len(deferred))

    # -- ensure_created / ensure_deleted -----------------------------------------------------

    async def ensure_created(self) -> list[Operation]:
        """Create every object of the model that does not exist yet, in the seed's order
        (schemas, enums, sequences, tables, foreign keys, indexes), then await
        ``on_migration_complete`` — all in one transaction.

        Idempotent: on a created database it creates nothing (the hook still runs, so keep it
        idempotent). Returns the operations applied. Raises :class:`MigrationError` and leaves
        the database unchanged if any statement or the hook fails.
        """
        await self.run_start_hook()
        target = self.target_schema()
        async with self.executor.locked_transaction() as conn:
            existing = await read_existing(conn, list(target.schemas))
            operations = plan_create(target, existing)
            await self.executor.apply(conn, await expand_for_partitions(conn, operations))
            await self.executor.run_hook(conn, self.context.on_migration_complete,
                                         "on_migration_complete")
            await self.executor.write_state(conn, target)
        if operations and not self.quiet:
            log.info("ensure_created: applied %d operation(s)", len(operations))
        return operations

    async def ensure_deleted(self, *, cascade: bool = True) -> DeletedObjects:
        """Drop the objects linkgress manages — the model's plus the recorded ones — and the
        state record. A non-public schema is dropped only when it is empty afterwards; the
        journal table (``__linkgress_migrations``) is not the model's and is kept.

        Tables go WITH CASCADE (as the seed does), so what depends on them — views an
        ``on_migration_complete`` hook made, another table's foreign key to them — goes too.
        Every such object linkgress did not manage is read from ``pg_depend`` first, logged
        (WARNING, ``linkgress.migrate``) and listed in the result's ``cascaded``.
        ``cascade=False`` refuses instead: :class:`MigrationError` names those objects and
        nothing is dropped.

        Returns the operations applied (a list, with ``cascaded``); raises
        :class:`MigrationError` (and drops nothing) when PostgreSQL refuses.
        """
        async with self.executor.locked_transaction() as conn:
            recorded = await self.executor.read_state(conn)
            owned = merge_schemas(self.target_schema(), recorded or Schema())
            existing = await read_existing(conn, list(owned.schemas))
            victims = await cascade_victims(
                conn, [t for t in owned.tables if t.key in existing.tables])
            if victims and not cascade:
                raise MigrationError(
                    "ensure_deleted(cascade=False) refused: dropping the tables would also "
                    f"drop objects linkgress does not manage: {', '.join(victims)}; "
                    "nothing was dropped")
            operations = plan_drop(owned, existing, cascade=bool(victims))
            await self.executor.apply(conn, operations)
            for name in owned.schemas:
                if name != "public" and name in existing.schemas:
                    await self._drop_schema_if_empty(conn, name)
            await self.executor.clear_state(conn)
        for victim in victims:
            log.log(logging.DEBUG if self.quiet else logging.WARNING,
                    "ensure_deleted: %s (not managed by linkgress) was dropped with CASCADE",
                    victim)
        return DeletedObjects(operations, victims)

    async def _drop_schema_if_empty(self, conn: RawConnection, name: str) -> None:
        # RESTRICT (the default) refuses when anything else lives there; that is the point.
        if name == self.settings.state_schema:
            return
        try:
            async with conn.transaction():
                await conn.execute(f"DROP SCHEMA {quote_ident(name)}")
        except asyncpg.DependentObjectsStillExistError:
            log.log(self._level, "kept schema %r: it holds objects linkgress does not manage",
                    name)
