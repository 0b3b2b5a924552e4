"""``async with db.transaction():`` — ORM statements of one context on one transaction.

The current transaction is carried by a ``ContextVar`` owned by the context instance (set on
entry, reset with its token on exit), so it follows the code's await chain and nothing else:
two contexts, or two tasks that did not inherit it, never share a transaction.

Tasks started inside the block (``asyncio.gather``, ``create_task``, a task group) inherit a
copy of the variable and therefore *join* the transaction: their statements run on the
transaction's connection. One asyncpg connection runs one statement at a time, so each
transaction has an ``asyncio.Lock`` and those statements run one after another — never on a
second, non-transactional connection. What follows from it:

- gathered queries in a transaction are serialised (correct, not parallel);
- a nested ``db.transaction()`` (a savepoint) may only be opened by the task that opened the
  enclosing block; a child task trying it gets :class:`~linkgress.errors.TransactionError`,
  because two interleaved savepoints on one connection would roll back each other's work;
- statements a child task runs while its parent has a savepoint open belong to that savepoint;
- once the block has exited, a task still holding the inherited transaction gets
  :class:`~linkgress.errors.TransactionError` instead of silently running outside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextvars import Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from linkgress.client import ConnectionClient
from linkgress.errors import (
    DatabaseError,
    TransactionError,
    connection_error,
    is_driver_error,
    translate_error,
)

if TYPE_CHECKING:
    from asyncpg.transaction import Transaction as RawTransaction

    from linkgress.connection import PooledConnection
    from linkgress.park import Lease
    from linkgress.scope import QueryContext

__all__ = ["IsolationLevel", "Transaction", "TransactionState"]

IsolationLevel = Literal["read_committed", "repeatable_read", "serializable"]


#: Every setting of ``db.transaction(settings=...)`` in one statement: names and values bound.
SET_CONFIG_SQL = ("SELECT pg_catalog.set_config(name, value, true) "
                  "FROM unnest($1::text[], $2::text[]) AS s(name, value)")


def _checked_settings(settings: Mapping[str, str] | None) -> dict[str, str]:
    """``settings`` as a dict; a name or value that is not a non-empty string is a
    :class:`TransactionError` naming the setting."""
    checked: dict[str, str] = {}
    for name, value in (settings or {}).items():
        if not isinstance(name, str) or not name:
            raise TransactionError(f"settings: a name must be a non-empty string, got {name!r}")
        if not isinstance(value, str):
            raise TransactionError(
                f"settings[{name!r}] must be a string (set_config takes text), got "
                f"{type(value).__name__} {value!r}; pass str({value!r}) if that is meant")
        checked[name] = value
    return checked


class TransactionState:
    """What the context variable holds for one transaction block (internal).

    ``use()`` is an async context manager yielding the connection while holding the
    transaction's lock; it raises :class:`TransactionError` once the block has ended.
    """

    __slots__ = ("closed", "connection", "depth", "failed", "lease", "lock", "owner")

    def __init__(
        self,
        lease: Lease,
        lock: asyncio.Lock,
        owner: asyncio.Task[Any] | None,
        depth: int,
    ) -> None:
        self.lease = lease
        self.connection = lease[0]  # statements run here; lease[1] is the pool's proxy
        self.lock = lock
        self.owner = owner
        self.depth = depth
        self.closed = False
        # The first server error of this block: PostgreSQL has aborted the transaction, so
        # COMMIT would silently roll back; the block raises instead (see Transaction).
        self.failed: DatabaseError | None = None

    def use(self) -> TransactionState:
        """``async with state.use() as connection:`` — exclusive use of the connection."""
        return self

    def ended(self) -> TransactionError:
        """The error for a statement issued after the block ended."""
        return TransactionError(
            "this task inherited a transaction block that has already ended; await "
            "tasks started inside `async with db.transaction()` before the block exits"
        )

    async def __aenter__(self) -> Any:
        if self.closed:
            raise self.ended()
        await self.lock.acquire()
        return self.connection

    async def __aexit__(self, *exc_info: object) -> None:
        self.lock.release()

    def record(self, error: DatabaseError) -> DatabaseError:
        """Note ``error`` (raised by a statement of this block) and return it. An error the
        server reported aborts the transaction: remembered, so the block cannot commit."""
        if self.failed is None and error.sqlstate is not None:
            self.failed = error
        return error


class Transaction:
    """One ``async with db.transaction(...)`` block; see the module docstring for the rules.

    On entry it starts a transaction on a pooled connection — or, inside another block of the
    same context, a savepoint on the enclosing transaction's connection. The block commits (or
    releases the savepoint) when it exits normally and rolls back (to the savepoint, for a
    nested block) when it raises; the exception propagates. A failed ``COMMIT`` (a deferred
    constraint, a serialization failure) raises the translated :class:`DatabaseError`.

    If a statement failed inside the block and the block still exits normally (the error was
    caught), PostgreSQL has already aborted the transaction: the block rolls back and raises
    :class:`~linkgress.errors.TransactionError` rather than pretending to commit. Catch errors
    in a nested block (a savepoint) to continue after them.

    ``settings`` are run-time parameters set for this transaction only, right after ``BEGIN``,
    with ``SELECT set_config(name, value, true)`` (names and values bound, never pasted): what
    row-level security policies read with ``current_setting('app.tenant_id')``. They end with
    the transaction, so they never leak to the next user of the connection — also through
    PgBouncer in transaction mode. Only the outermost block takes them: a savepoint's settings
    would outlive it (a released savepoint keeps them until the transaction ends), so a nested
    block with ``settings`` raises :class:`~linkgress.errors.TransactionError`.
    """

    def __init__(
        self,
        context: QueryContext,
        *,
        isolation: IsolationLevel | None = None,
        readonly: bool = False,
        deferrable: bool = False,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self._settings = _checked_settings(settings)
        self._context = context
        self._scope = context.query_scope
        self._isolation = isolation
        self._readonly = readonly
        self._deferrable = deferrable
        self._state: TransactionState | None = None
        self._raw: RawTransaction | None = None
        self._token: Token[TransactionState | None] | None = None
        self._dirty = False
        self._used = False

    @property
    def is_savepoint(self) -> bool:
        """True for a nested block (a savepoint inside an enclosing transaction)."""
        return self._state is not None and self._state.depth > 0

    @property
    def connection(self) -> PooledConnection:
        """The transaction's asyncpg connection, for SQL of your own.

        Using it bypasses the transaction's lock: do not use it concurrently with ORM
        statements of other tasks. Session settings you change (``SET``) are reset when the
        transaction ends.
        """
        if self._state is None or self._state.closed:
            raise TransactionError("the transaction is not active")
        self._dirty = True
        return self._state.lease[1]

    @property
    def client(self) -> ConnectionClient:
        """A :class:`~linkgress.ConnectionClient` on :attr:`connection` (same caveats)."""
        return ConnectionClient(self.connection, log_queries=self._scope.client.log_queries,
                                server=self._scope.server)

    async def __aenter__(self) -> Transaction:
        if self._used:
            raise TransactionError("a Transaction object can be entered only once")
        self._used = True
        parent = self._scope.transaction.get()
        task = asyncio.current_task()
        if parent is None:
            state = await self._begin(task)
        else:
            state = await self._begin_savepoint(parent, task)
        self._state = state
        self._token = self._scope.transaction.set(state)
        return self

    async def _begin(self, task: asyncio.Task[Any] | None) -> TransactionState:
        park = self._scope.park
        lease = await park.lease()
        raw = lease[0].transaction(
            isolation=self._isolation, readonly=self._readonly, deferrable=self._deferrable)
        sql = "BEGIN"
        try:
            await raw.start()
            if self._settings:
                sql = SET_CONFIG_SQL
                await lease[0].execute(sql, list(self._settings), list(self._settings.values()))
        except BaseException as exc:
            await park.release(lease)  # asyncpg's reset rolls back an open transaction
            if isinstance(exc, Exception) and is_driver_error(exc):
                raise translate_error(exc, sql, server=park.server) from exc
            raise
        self._raw = raw
        return TransactionState(lease, asyncio.Lock(), task, 0)

    async def _begin_savepoint(
        self, parent: TransactionState, task: asyncio.Task[Any] | None
    ) -> TransactionState:
        if parent.closed:
            raise TransactionError("the enclosing transaction block has already ended")
        if parent.owner is not task:
            raise TransactionError(
                "a nested transaction block must be opened by the task that opened the "
                "enclosing one; tasks started inside a transaction (asyncio.gather, "
                "create_task) share its connection and cannot open savepoints of their own"
            )
        if self._isolation is not None or self._readonly or self._deferrable:
            raise TransactionError(
                "isolation, readonly and deferrable apply to the outermost transaction block "
                "only; a nested block is a savepoint"
            )
        if self._settings:
            raise TransactionError(
                "settings= apply to the outermost transaction block only (a nested block is a "
                "savepoint, and set_config(..., true) in it would outlive it): pass "
                f"{sorted(self._settings)} to the outermost db.transaction()"
            )
        async with parent as connection:
            raw = connection.transaction()
            try:
                await raw.start()
            except Exception as exc:
                if not is_driver_error(exc):
                    raise
                raise translate_error(exc, "SAVEPOINT", server=self._scope.server) from exc
        self._raw = raw
        return TransactionState(parent.lease, parent.lock, task, parent.depth + 1)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        state, raw, token = self._state, self._raw, self._token
        assert state is not None and raw is not None and token is not None
        state.closed = True
        self._scope.transaction.reset(token)
        try:
            await self._finish(state, raw, commit=exc_type is None)
        except BaseException:
            if state.depth == 0:
                await self._scope.park.release(state.lease)
            raise
        if state.depth == 0:
            park = self._scope.park
            if self._dirty or not park.put(state.lease):
                await park.release(state.lease)

    async def _finish(
        self, state: TransactionState, raw: RawTransaction, *, commit: bool
    ) -> None:
        # Wait for statements of child tasks still running on the connection: the COMMIT or
        # ROLLBACK must not interleave with them.
        async with state.lock:
            if state.connection.is_closed():
                if commit:  # never report a commit that cannot have happened
                    raise connection_error(
                        ConnectionError("the connection was lost inside the transaction, "
                                        "which the server rolled back"),
                        server=self._scope.server, sql="COMMIT")
                return
            try:
                if commit and state.failed is not None:
                    await raw.rollback()
                    raise TransactionError(
                        "the transaction was rolled back, not committed: a statement in it "
                        f"failed ({state.failed}); to continue after an error, run the "
                        "statement in a nested `async with db.transaction()` (a savepoint)"
                    ) from state.failed
                if commit:
                    await raw.commit()
                else:
                    await raw.rollback()
            except Exception as exc:
                if not is_driver_error(exc):
                    raise
                label = "COMMIT" if commit else "ROLLBACK"
                if state.depth:
                    label = ("RELEASE SAVEPOINT" if commit else "ROLLBACK TO SAVEPOINT")
                raise translate_error(exc, label, server=self._scope.server) from exc

    def __repr__(self) -> str:
        kind = "savepoint" if self.is_savepoint else "transaction"
        status = "inactive" if self._state is None or self._state.closed else "active"
        return f"<linkgress {kind} ({status})>"
