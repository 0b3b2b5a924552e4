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
5. pre-check the rows for data-dependent operations (:mod:`linkgress.schema.prechecks`),
   apply the operations one by one, await ``on_migration_complete`` (always, even when there
   was nothing to apply: keep it idempotent), record the managed state, COMMIT;
6. after COMMIT, build indexes declared ``concurrently=True`` (``CREATE INDEX CONCURRENTLY``
   cannot run in a transaction) and the steps of ``online=True`` (any left over: before 3).

Any failure in 2-5 rolls everything back and raises :class:`~linkgress.errors.MigrationError`
carrying the failed operation, its SQL and the PostgreSQL error as ``__cause__``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from linkgress.errors import MigrationAborted, MigrationError, SchemaAheadError
from linkgress.schema import online_steps
from linkgress.schema.cascade import DeletedObjects, drop_owned
from linkgress.schema.confirm import Confirm, destructive, log_plan, obtain_consent
from linkgress.schema.contract import keep_deferred
from linkgress.schema.deferred import (
    build_concurrently,
    enum_values_to_commit_first,
    invalid_concurrent_indexes,
    split_concurrent,
)
from linkgress.schema.diff import DiffResult
from linkgress.schema.executor import MigrationExecutor, MigrationSettings
from linkgress.schema.existing import read_existing
from linkgress.schema.history import (
    ModelIdentity,
    appended,
    missing_for,
    model_status,
    read_history,
    write_history,
)
from linkgress.schema.introspect.views import as_printed, read_views
from linkgress.schema.operations import CreateIndex, Operation
from linkgress.schema.partitions import expand_for_partitions
from linkgress.schema.plan import merge_schemas, plan_create
from linkgress.schema.planning import (
    Planned,
    legacy_fingerprints,
    model_fingerprint,
    model_schema,
    plan_migration,
    schema_digest,
)
from linkgress.schema.prechecks import precheck
from linkgress.schema.retry import with_lock_retries
from linkgress.schema.runstate import MigrationPass, MigrationRun
from linkgress.schema.server_features import check_server_supports
from linkgress.schema.snapshot import Schema

if TYPE_CHECKING:
    from linkgress.connection import RawConnection
    from linkgress.schema.owner import SchemaOwner

log = logging.getLogger("linkgress.migrate")

#: How often ``migrate()`` asks again when the plan under the lock holds destructive
#: operations that were not consented to (another migrator changed the database meanwhile).
CONSENT_ROUNDS = 3


class _Reconsent(Exception):
    """Under the lock, the plan held destructive operations that were not consented to."""


def refuse_blocked(result: DiffResult) -> None:
    """Raise :class:`MigrationError` (before any DDL) when PostgreSQL would refuse the plan
    as it stands (``DiffResult.blocked``: e.g. an unmanaged view over a retyped column)."""
    if result.blocked:
        raise MigrationError("migration refused before any change: "
                             + "; ".join(result.blocked) + "; nothing was changed")


def _superseded_text(planned: Planned, missing: list[str]) -> str:
    newest = planned.history[-1].get("applied_at") if planned.history else None
    head = ("this model was applied before and has since been superseded by a newer one"
            + (f" (applied at {newest})" if newest else ""))
    if missing:
        return (f"{head}, and the database no longer has what it needs: "
                + ", ".join(missing))
    return f"{head}: the database is ahead of it and still satisfies it"


class DbSchemaManager:
    """Schema operations for one context: ``analyze``, ``migrate``, ``ensure_created``,
    ``ensure_deleted``.

    ``lock_timeout`` bounds each DDL statement's wait for table locks (live traffic); a
    migration that hits it is run again, up to ``lock_retries`` times, after an exponential
    backoff with jitter. ``lock_wait_timeout`` bounds the wait for another migrator's lock.
    ``prompt_timeout`` bounds the consent prompt on a terminal (None: no limit). ``exclude``
    lists table patterns (fnmatch on ``table`` or ``schema.table``) that introspection
    ignores. With ``quiet=True`` nothing is logged above DEBUG.
    """

    def __init__(self, context: SchemaOwner, *, lock_timeout: float = 5.0,
                 lock_wait_timeout: float = 60.0, state_schema: str = "public",
                 state_table: str = "__linkgress_schema_state",
                 quiet: bool = False, exclude: Sequence[str] = (), lock_retries: int = 5,
                 prompt_timeout: float | None = 300.0) -> None:
        self.context = context
        self.client = context.client
        self.quiet = quiet
        self.exclude = tuple(exclude)
        self.lock_retries = lock_retries
        self.prompt_timeout = prompt_timeout
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
        return model_schema(self.context.model)[0]

    async def run_start_hook(self) -> None:
        """Await ``on_migration_start`` outside any transaction; wrap its failure."""
        try:
            await self.context.on_migration_start(self.client)
        except Exception as exc:
            raise MigrationError(f"on_migration_start hook failed: {exc!r}; "
                                 "no schema change was made") from exc

    async def _plan(self, *, manage_all: bool, conn: RawConnection | None = None,
                    known: Schema | None = None) -> Planned:
        return await plan_migration(self.client, self.executor, self.target_schema(),
                                    exclude=self.exclude, manage_all=manage_all, conn=conn,
                                    known=known, scope=(self.context.model.default_schema,))

    # -- analyze ----------------------------------------------------------------------------

    async def analyze(self) -> list[Operation]:
        """The operations ``migrate()`` would apply now, in order; ``[]`` when the database
        matches the model, or when the model was superseded by a newer one. Changes nothing:
        its temporary work runs in a transaction that is rolled back. Hooks are not run.
        Raises :class:`~linkgress.errors.MigrationError` when the database cannot be read or
        PostgreSQL rejects the model's SQL (naming the object)."""
        return (await self.analyze_full()).operations

    async def analyze_full(self, *, manage_all: bool = False) -> DiffResult:
        """Like :meth:`analyze`, with the differ's notes (unmanaged objects left alone, likely
        renames, changes that may fail on existing rows). ``manage_all`` treats everything in
        the model's schemas as managed (it may then propose dropping unknown objects)."""
        planned = await self._plan(manage_all=manage_all)
        pending = await online_steps.pending_notes(self.executor)
        if planned.status != "superseded":
            return replace(planned.result, notes=[*planned.result.notes, *pending])
        missing = missing_for(planned.normalized, planned.current)
        return DiffResult(operations=[], notes=[_superseded_text(planned, missing), *pending])

    # -- migrate ----------------------------------------------------------------------------

    async def migrate(self, *, allow_destructive: bool = False, confirm: Confirm | None = None,
                      manage_all: bool = False, dry_run: bool = False,
                      defer_destructive: bool = False, online: bool = False) -> list[Operation]:
        """Bring the database to the model atomically; return the operations applied.

        ``online=True``: forms that do not stall writers, long parts after the commit, recorded
        and resumed if interrupted (:mod:`linkgress.schema.online`; docs: Online migrations).
        ``defer_destructive=True`` (the *expand* step of a rolling deploy) applies everything
        but the destructive operations, which are logged as deferred and stay pending
        (``analyze()`` lists them) until :meth:`contract` applies them; a dropped NOT NULL
        column without a default is made nullable meanwhile, so new code can insert without it.

        Destructive operations need consent: ``allow_destructive=True``, else ``confirm``
        (awaited with the plan, True to go ahead), else ``Do you want to continue? (y/N)`` on a
        terminal; without a terminal :class:`~linkgress.errors.MigrationAborted` is raised and
        nothing changes. Consent is never asked while the migration lock is held: a plan (made
        under the lock) holding destructive operations not consented to releases the lock,
        consent is asked, and the plan is made again under the lock and applied only if it
        holds nothing new (else consent is asked again). ``dry_run=True`` only logs and
        returns the plan (no hooks, no lock).

        A model that was applied before and has since been superseded by a newer one changes
        nothing (rolling deploys: old code never reverts new schema): ``[]`` is returned with a
        warning, or :class:`~linkgress.errors.SchemaAheadError` is raised when the database no
        longer has what it needs; ``on_migration_complete`` is not run then.

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
        return await self._run(MigrationRun(allow_destructive, confirm, manage_all, online=online,
                                    mode="expand" if defer_destructive else "all"))

    async def contract(self, *, allow_destructive: bool = False, confirm: Confirm | None = None,
                       manage_all: bool = False) -> list[Operation]:
        """Apply the destructive operations a ``migrate(defer_destructive=True)`` deferred
        (the *contract* step, once no running version of the service needs what they drop),
        with the same consent rules, lock and atomicity as :meth:`migrate`; return them.

        Raises :class:`~linkgress.errors.MigrationError` (nothing changed) when other
        operations are pending (run ``migrate()`` first); a superseded model changes nothing.
        """
        await self.run_start_hook()
        return await self._run(MigrationRun(allow_destructive, confirm, manage_all,
                                            mode="contract"))

    async def _run(self, run: MigrationRun) -> list[Operation]:
        # Optimistic: plan under the lock straight away. Only a plan holding destructive
        # operations nobody consented to leaves the lock (_Reconsent): it is then planned and
        # asked for outside the lock, and tried again — so a no-op or consented migration plans
        # once, and consent is never asked while the lock is held.
        planned: Planned | None = None
        for asked in range(CONSENT_ROUNDS + 1):
            try:
                return await self._apply_locked(run)
            except _Reconsent:
                planned = await self._plan(manage_all=run.manage_all)
                if planned.status == "superseded":
                    return self._superseded(planned)
                refuse_blocked(planned.result)
                if asked == CONSENT_ROUNDS:
                    break
                await self._ask(planned, run)
        assert planned is not None
        raise MigrationAborted(
            f"migration aborted: the plan changed {CONSENT_ROUNDS} times while consent was "
            "asked (other migrators are at work); nothing was changed",
            operations=destructive(planned.result.operations))

    def _show(self, planned: Planned, run: MigrationRun) -> None:
        """Log the plan and the notes, unless this very plan was logged already."""
        lines = [op.describe() for op in planned.result.operations]
        if lines == run.shown:
            return
        run.shown = lines
        operations, deferred = run.shape(planned.result.operations)
        log_plan(operations, quiet=self.quiet)
        if deferred:
            log.log(self._level, "%s", "\n".join(
                ["Deferred until contract():"] + [f"  - {op.describe()}" for op in deferred]))
        for note in planned.result.notes:
            log.log(self._level, "note: %s", note)

    async def _ask(self, planned: Planned, run: MigrationRun) -> None:
        """Obtain consent for the plan's new destructive operations (outside the lock)."""
        run.normalized = planned.normalized
        self._show(planned, run)
        operations = run.shape(planned.result.operations)[0]
        if run.needs_consent(operations):
            await obtain_consent(operations, allow_destructive=run.allow_destructive,
                                 confirm=run.confirm, logger=log, timeout=self.prompt_timeout)
        run.consented |= {op.describe() for op in destructive(operations)}

    async def _apply_locked(self, run: MigrationRun) -> list[Operation]:
        applied: list[Operation] = []
        step = MigrationPass(plan_again=True)
        may_split = True
        for _ in range(4):  # resume pending online steps, commit enum labels, the plan
            step = await with_lock_retries(
                lambda: self._locked_pass(run, may_split=may_split),  # noqa: B023
                self.lock_retries, level=self._level)
            if step.run_online:
                await online_steps.run_pending(self.executor, self.lock_retries,
                                               quiet=self.quiet)
            if step.superseded is not None:
                return applied + self._superseded(step.superseded)
            applied += step.applied
            may_split = may_split and not step.applied
            if not step.plan_again:
                break
        applied += await build_concurrently(self.client, step.deferred, quiet=self.quiet)
        return applied

    async def _locked_pass(self, run: MigrationRun, *, may_split: bool) -> MigrationPass:
        async with self.executor.locked_transaction() as conn:
            planned = await self._plan(manage_all=run.manage_all, conn=conn,
                                       known=run.normalized)
            first = await self._pending_or_superseded(conn, planned)
            if first is not None:
                return first
            refuse_blocked(planned.result)
            operations, kept = run.shape(planned.result.operations)
            if run.needs_consent(operations):
                raise _Reconsent  # rolls back and releases the lock: ask, then come back
            self._show(planned, run)
            now, later = split_concurrent(operations)
            later += [op for op in await invalid_concurrent_indexes(conn, planned.normalized)
                      if op not in later]
            await precheck(conn, now, planned.current)  # before any DDL
            early = enum_values_to_commit_first(now) if may_split else []
            if early:
                # The labels must be committed before anything may use them; the rest of the
                # plan is planned again in a second transaction, still under the lock.
                log.log(self._level, "committing %d new enum label(s) first", len(early))
                await self.executor.apply(conn, list(early))
                return MigrationPass(applied=list(early), plan_again=True)
            online = await online_steps.online_forms(
                conn, now, planned.normalized, enabled=run.online,
                pgbouncer=self.client.pgbouncer)
            await self.executor.apply(conn, await expand_for_partitions(
                conn, online.in_transaction))
            await self.executor.run_hook(conn, self.context.on_migration_complete,
                                         "on_migration_complete")
            steps = online.after_commit
            await self._record(conn, planned, changed=bool(now or steps), deferred=kept)
            if steps:
                await online_steps.write_pending(conn, self.settings, steps)
        self._log_outcome(now, later)
        return MigrationPass(applied=now, deferred=later, run_online=bool(steps))

    async def _pending_or_superseded(self, conn: RawConnection, planned: Planned
                                     ) -> MigrationPass | None:
        """The pass when online steps are pending (finished first; a model never applied
        drops those it lost) or the model is superseded; None to go on and apply."""
        pending = await online_steps.read_pending(conn, self.settings)
        if pending:
            if planned.status == "new":
                await online_steps.discard_unwanted(conn, self.settings, pending,
                                                    planned.normalized)
            return MigrationPass(run_online=True, plan_again=True)
        if planned.status == "superseded":
            return MigrationPass(superseded=planned)
        return None

    async def _record(self, conn: RawConnection, planned: Planned, *, changed: bool,
                      deferred: list[Operation]) -> None:
        """Record the managed state when it changed (with the objects whose drops were
        deferred), and this model in the history."""
        recorded = planned.recorded
        snapshot = keep_deferred(planned.normalized, deferred)
        if snapshot.views:  # recorded as printed: see introspect.views.as_printed
            printed = (await read_views(conn, [v.schema for v in snapshot.views]) if changed
                       else planned.current.views)
            snapshot = as_printed(snapshot, printed)
        if (changed or recorded is None or recorded.notes != snapshot.notes
                or recorded.views != snapshot.views or (deferred and recorded != snapshot)):
            await self.executor.write_state(conn, snapshot)
        if planned.status != "current" or not planned.history:
            await self._record_history(conn, planned.identity, planned.history,
                                       legacy_fingerprints(recorded))

    async def _record_history(self, conn: RawConnection, identity: ModelIdentity,
                              history: list[dict[str, object]],
                              legacy: tuple[str, ...]) -> None:
        table = self.settings.qualified_state_table
        await write_history(conn, table, self.settings.state_name,
                            appended(history, identity, legacy))

    async def forget_history(self) -> None:
        """Forget which models were applied, so that an older model may migrate again (a
        deliberate rollback of the service; never while its versions run side by side).
        The managed-state snapshot is kept."""
        async with self.executor.locked_transaction() as conn:
            table = self.settings.qualified_state_table
            if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
                await write_history(conn, table, self.settings.state_name, [])

    def _superseded(self, planned: Planned) -> list[Operation]:
        """The outcome for a superseded model: [] with a warning, or SchemaAheadError."""
        missing = missing_for(planned.normalized, planned.current)
        text = _superseded_text(planned, missing)
        if missing:
            raise SchemaAheadError(text + "; nothing was changed")
        log.log(logging.DEBUG if self.quiet else logging.WARNING, "%s; nothing was changed",
                text)
        return []

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
            check_server_supports(target, conn.get_server_version().major)
            existing = await read_existing(conn, list(target.schemas))
            operations = plan_create(target, existing)
            await self.executor.apply(conn, await expand_for_partitions(conn, operations))
            await self.executor.run_hook(conn, self.context.on_migration_complete,
                                         "on_migration_complete")
            await self.executor.write_state(conn, target)
            await self._record_created(conn, target)
        if operations and not self.quiet:
            log.info("ensure_created: applied %d operation(s)", len(operations))
        return operations

    async def _record_created(self, conn: RawConnection, target: Schema) -> None:
        """Add the model to the history unless it was seen before (it never moves a newer
        model aside: ``ensure_created()`` creates, it never reverts)."""
        me = ModelIdentity(schema_digest(target), await model_fingerprint(conn, target))
        history = await read_history(conn, self.settings.qualified_state_table,
                                     self.settings.state_name)
        if model_status(history, me) == "new":
            await self._record_history(conn, me, history, ())

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
            deleted = await drop_owned(
                self.executor, conn, merge_schemas(self.target_schema(), recorded or Schema()),
                cascade=cascade, keep_schema=self.settings.state_schema, level=self._level)
        for victim in deleted.cascaded:
            log.log(logging.DEBUG if self.quiet else logging.WARNING,
                    "ensure_deleted: %s (not managed by linkgress) was dropped with CASCADE",
                    victim)
        return deleted
