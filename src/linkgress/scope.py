"""``QueryScope``: everything the query layer's I/O edge needs of a context, and nothing else.

The query layer never reads private attributes of :class:`~linkgress.PgClient` or
:class:`~linkgress.DbContext`: it talks to the scope each context owns (``db.query_scope``) — the
client, the model, the connection park, the current transaction and the compiled-query cache.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from linkgress.client import PgClient
    from linkgress.model.meta import ModelMeta
    from linkgress.park import ConnectionPark
    from linkgress.query.transaction import IsolationLevel, Transaction, TransactionState
    from linkgress.replicas import ReplicaSet

__all__ = ["QueryContext", "QueryScope"]


class QueryScope:
    """The I/O scope of one context (see the module docstring).

    ``transaction`` is the context variable holding the context's current transaction block:
    per context instance, so two contexts never share one (see
    :mod:`linkgress.query.transaction`). ``cache`` maps query shapes to compiled SQL; it is
    shared by every context of one class, since shapes depend only on the class's mapping.
    """

    __slots__ = ("_replica_scopes", "cache", "client", "model", "park", "replicas", "server",
                 "transaction")

    def __init__(self, client: PgClient, model: ModelMeta, cache: dict[Any, Any]) -> None:
        self.client = client
        self.model = model
        self.park: ConnectionPark = client.park
        self.server = client.address
        self.cache = cache
        self.transaction: ContextVar[TransactionState | None] = ContextVar(
            f"linkgress_transaction_{id(self):x}", default=None)
        #: The client's read replicas (:mod:`linkgress.replicas`), or None.
        self.replicas: ReplicaSet | None = client.replicas
        self._replica_scopes: dict[int, QueryScope] = {}

    async def for_read(self, primary: bool = False) -> QueryScope:
        """The scope an ORM read runs on: a replica's (round robin over the healthy ones)
        outside a transaction, else this one (the primary). ``primary=True`` forces this one.
        """
        if self.replicas is None or primary or self.transaction.get() is not None:
            return self
        client = await self.replicas.pick()
        if client is None:
            return self
        scope = self._replica_scopes.get(id(client))
        if scope is None:
            scope = QueryScope(client, self.model, self.cache)
            scope.transaction = self.transaction  # the context's blocks, seen from the replica
            scope.replicas = None
            self._replica_scopes[id(client)] = scope
        return scope

    def replica_failed(self, scope: QueryScope) -> None:
        """A read on the replica of ``scope`` lost its connection: skip that replica a while."""
        if self.replicas is not None:
            self.replicas.failed(scope.client)

    def __repr__(self) -> str:
        return f"<QueryScope {self.server}>"


class QueryContext(Protocol):
    """What the query layer needs of a context (every ``DbContext`` is one): its scope, its
    model, and transaction blocks — so ``query/`` never imports the context module."""

    @property
    def query_scope(self) -> QueryScope:
        """The context's I/O scope."""

    @property
    def model(self) -> ModelMeta:
        """The validated model."""

    def transaction(self, *, isolation: IsolationLevel | None = None, readonly: bool = False,
                    deferrable: bool = False) -> Transaction:
        """A transaction block of this context."""
