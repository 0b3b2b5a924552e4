"""``DbTable[E]``: what ``db.users`` returns — a queryable over the whole table, plus inserts,
upserts and entity-level updates/deletes (:class:`~linkgress.query.mutations.TableMutations`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from linkgress.query.mutations import TableMutations
from linkgress.query.proxies import Source
from linkgress.query.queryable import Queryable
from linkgress.query.statements import SelectQuery

if TYPE_CHECKING:
    from linkgress.model.meta import EntityMeta
    from linkgress.scope import QueryContext

__all__ = ["DbTable"]

E = TypeVar("E")


class DbTable(Queryable[E], TableMutations[E]):
    """One table of a context: ``db.users.where(...)``, ``db.users.insert(...)``, ...

    Created once per context instance and table by ``DbContext``. ``update(entity)`` /
    ``delete(entity)`` work by primary key; ``update({...})`` / ``delete()`` on the table
    affect every row (see :class:`~linkgress.query.updates.UpdateQuery`).
    """

    def __init__(self, context: QueryContext, meta: EntityMeta) -> None:
        self.context = context
        self.meta = meta
        super().__init__(context, SelectQuery(Source(context.model, meta)))

    def __repr__(self) -> str:
        return f"DbTable({self.meta.name}, {self.meta.schema}.{self.meta.table})"
