"""The ``Migration`` base class and the errors of the journaled-migration layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from linkgress.errors import IrreversibleMigration, NoChangesError

__all__ = ["IrreversibleMigration", "Migration", "NoChangesError"]

if TYPE_CHECKING:
    from linkgress.migrations.builder import SchemaBuilder


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

    Set ``atomic = False`` for statements that cannot run in a transaction block
    (``CREATE INDEX CONCURRENTLY`` and friends): ``up``/``down`` then run outside any
    transaction, each statement committed on its own, still under the migration lock; the
    journal row is written after they all succeeded. A failure leaves the statements before
    it applied (the error lists them) and the journal unchanged.
    """

    #: False: run ``up``/``down`` outside a transaction (see the class docstring).
    atomic: ClassVar[bool] = True

    async def up(self, schema: SchemaBuilder) -> None:
        """Apply the change."""
        raise NotImplementedError

    async def down(self, schema: SchemaBuilder) -> None:
        """Undo what ``up`` did."""
        raise NotImplementedError
