"""``SchemaOwner``: what schema management needs of a context, as a small protocol.

:class:`~linkgress.schema.manager.DbSchemaManager`, the journal runner and the scaffolder are
typed against it rather than against :class:`~linkgress.DbContext`, so ``schema/`` and
``migrations/`` never depend on the context module (and its imports of the query layer).
Every ``DbContext`` satisfies it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from linkgress.client import DatabaseClient, PgClient
    from linkgress.model.meta import ModelMeta

__all__ = ["SchemaOwner"]


class SchemaOwner(Protocol):
    """A model, a client, a state name and the two migration hooks."""

    @property
    def client(self) -> PgClient:
        """The client whose database the schema lives in."""

    @property
    def model(self) -> ModelMeta:
        """The validated model."""

    @property
    def state_name(self) -> str:
        """The row of the managed-state table this model owns."""

    async def on_migration_start(self, client: DatabaseClient) -> None:
        """Runs before anything is analyzed or changed, outside the migration transaction."""

    async def on_migration_complete(self, client: DatabaseClient) -> None:
        """Runs after the schema operations, inside the migration transaction."""

    def get_schema_manager(self, **options: Any) -> Any:
        """The schema manager for this owner."""
