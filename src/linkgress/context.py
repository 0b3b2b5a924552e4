"""``DbContext``: the user's database class — entities, model configuration, hooks, client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar, overload

from linkgress.client import DatabaseClient, PgClient
from linkgress.scope import QueryScope

if TYPE_CHECKING:
    from collections.abc import Mapping

    from linkgress.model.fluent import DbModelConfig
    from linkgress.model.meta import EntityMeta, ModelMeta
    from linkgress.query.table import DbTable
    from linkgress.query.transaction import IsolationLevel, Transaction
    from linkgress.schema.manager import DbSchemaManager

E = TypeVar("E")


class TableDescriptor(Generic[E]):
    """What ``DbContext.table(Entity)`` returns: on an instance it gives the queryable table."""

    def __init__(self, entity: type[E]) -> None:
        self.entity = entity
        self.attr = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name

    @overload
    def __get__(self, instance: None, owner: type) -> TableDescriptor[E]: ...

    @overload
    def __get__(self, instance: DbContext, owner: type) -> DbTable[E]: ...

    def __get__(self, instance: DbContext | None, owner: type) -> Any:
        if instance is None:
            return self
        return instance._table(self.entity)


class DbContext:
    """Base class of a database: declare tables as class attributes, optionally override
    ``setup_model`` and the migration hooks.

    Creating a context builds and validates the model (raising :class:`ModelError` for an
    invalid one) but does no I/O; the client's pool opens on first use.
    """

    #: Name of this model's row in the managed-state table; set it only when several
    #: independent models share one database.
    state_name: ClassVar[str] = "default"

    def __init__(self, client: PgClient | None = None, *, log_queries: bool | None = None
                 ) -> None:
        self.client = client if client is not None else PgClient.from_env()
        if log_queries is not None:
            self.client.log_queries = log_queries
        self.model: ModelMeta = type(self)._model_for(self)
        self._tables: dict[type[Any], Any] = {}
        #: What the query layer talks to: client, model, park, current transaction, cache.
        self.query_scope = QueryScope(self.client, self.model, type(self)._query_cache())

    @staticmethod
    def table(entity: type[E]) -> TableDescriptor[E]:
        """Declare a table for ``entity``; its name defaults to the attribute name."""
        return TableDescriptor(entity)

    @classmethod
    def table_descriptors(cls) -> dict[str, type[Any]]:
        """Attribute name -> entity class, for every table of this context (and its bases)."""
        found: dict[str, type[Any]] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, TableDescriptor):
                    found[name] = value.entity
        return found

    @classmethod
    def _model_for(cls, instance: DbContext) -> ModelMeta:
        cached: ModelMeta | None = cls.__dict__.get("_linkgress_model")
        if cached is not None:
            return cached
        # Imported here, not at ``import linkgress``: building a model needs the model builder
        # and the schema values (about 20 ms of imports), a context class needs neither.
        from linkgress.model.build import build_model
        from linkgress.model.fluent import DbModelConfig

        config = DbModelConfig()
        instance.setup_model(config)
        model = build_model(cls.table_descriptors(), config)
        cls._linkgress_model = model  # type: ignore[attr-defined]  # per-class cache
        return model

    @classmethod
    def _query_cache(cls) -> dict[Any, Any]:
        cache: dict[Any, Any] | None = cls.__dict__.get("_linkgress_query_cache")
        if cache is None:  # per class: query shapes depend on the class's mapping only
            cache = {}
            cls._linkgress_query_cache = cache  # type: ignore[attr-defined]
        return cache

    def setup_model(self, model: DbModelConfig) -> None:
        """Override to configure the model fluently (the seed's style). No-op by default."""

    async def on_migration_start(self, client: DatabaseClient) -> None:
        """Runs before anything is analyzed or changed, outside the migration transaction
        (extensions, settings). Must be idempotent. No-op by default."""

    async def on_migration_complete(self, client: DatabaseClient) -> None:
        """Runs after the schema operations, inside the migration transaction; an error rolls
        everything back. Keep it idempotent (``CREATE OR REPLACE``). No-op by default."""

    def entity_meta(self, entity: type[Any]) -> EntityMeta:
        """The metadata of ``entity`` in this context's model."""
        return self.model.entity(entity)

    def _table(self, entity: type[E]) -> DbTable[E]:
        table = self._tables.get(entity)
        if table is None:
            from linkgress.query.table import DbTable

            table = DbTable(self, self.model.entity(entity))
            self._tables[entity] = table
        return table

    def transaction(self, *, isolation: IsolationLevel | None = None, readonly: bool = False,
                    deferrable: bool = False,
                    settings: Mapping[str, str] | None = None) -> Transaction:
        """``async with db.transaction():`` — this context's ORM statements inside the block run
        in one transaction (a savepoint when nested); commits on normal exit, rolls back on an
        exception. Tasks started inside join it, their statements serialised on its connection
        (see :mod:`linkgress.query.transaction`). ``isolation``: ``"read_committed"``,
        ``"repeatable_read"`` or ``"serializable"``; options apply to the outermost block.
        ``settings`` (``{"app.tenant_id": "42"}``) are set for the transaction only, with
        ``set_config(name, value, true)``, e.g. for row-level security policies."""
        from linkgress.query.transaction import Transaction

        return Transaction(self, isolation=isolation, readonly=readonly, deferrable=deferrable,
                           settings=settings)

    def get_schema_manager(self, **options: Any) -> DbSchemaManager:
        """The :class:`DbSchemaManager` for this context (options: ``lock_timeout``,
        ``lock_wait_timeout``, ``state_schema``, ``state_table``, ``quiet``)."""
        from linkgress.schema.manager import DbSchemaManager

        return DbSchemaManager(self, **options)

    async def dispose(self) -> None:
        """Close the client's pool. Using the context afterwards raises ``ClientClosedError``."""
        await self.client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.dispose()
