"""The ``Migration`` base class and the errors of the journaled-migration layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from linkgress.errors import LinkgressError

if TYPE_CHECKING:
    from linkgress.migrations.builder import SchemaBuilder


class IrreversibleMigration(LinkgressError):
    """Raised from a migration's ``down()`` that cannot be undone.

    The scaffolder writes ``raise IrreversibleMigration(...)`` where an operation has no reverse
    (an enum label cannot be removed again); the user must resolve it by hand before the
    migration can be reverted. Raising it rolls back that migration's transaction.
    """


class NoChangesError(LinkgressError):
    """``MigrationScaffold.scaffold()`` found no difference between the database and the model,
    so there is nothing to write (use ``scaffold_empty()`` for a hand-written migration)."""


class Migration:
    """Base class of a journaled migration file.

    A migration file defines exactly one subclass, overriding both ``up`` and ``down`` as
    ``async def``. Each runs in its own transaction, together with its journal row, under the
    migration lock; ``schema`` builds and executes DDL on that transaction's connection::

        class AddPhone(Migration):
            async def up(self, schema: SchemaBuilder) -> None:
                await schema.add_column("users", "phone_number", varchar(20))

            async def down(self, schema: SchemaBuilder) -> None:
                await schema.drop_column("users", "phone_number")
    """

    async def up(self, schema: SchemaBuilder) -> None:
        """Apply the change."""
        raise NotImplementedError

    async def down(self, schema: SchemaBuilder) -> None:
        """Undo what ``up`` did."""
        raise NotImplementedError
