"""The ORM's query side, in floors; each module imports only the floors below it.

1. Nodes — :mod:`~linkgress.query.awaitables` (what ``count()`` / ``first()`` return),
   :mod:`~linkgress.query.categories` (what may be compared with what),
   :mod:`~linkgress.query.extensions` (methods attached to expressions by category),
   :mod:`~linkgress.query.expressions` (expression nodes, ``Ordering``, the node registry),
   the typed operators of some categories — :mod:`~linkgress.query.jsonb`,
   :mod:`~linkgress.query.arrays`, :mod:`~linkgress.query.flags`,
   :mod:`~linkgress.query.windows`, :mod:`~linkgress.query.search` (each registers its
   methods with :func:`~linkgress.query.extensions.extension`),
   :mod:`~linkgress.query.functions` (``func``, ``sql``), :mod:`~linkgress.query.projection`
   (what a result row becomes).
2. Proxies — :mod:`~linkgress.query.proxies`: sources, the entity / collection / group proxies
   a lambda receives, and ``build_projection``.
3. Statement values — :mod:`~linkgress.query.statements`: ``SelectQuery``, ``Compound``,
   ``UpdateStatement``, ``DeleteStatement``, ``InsertStatement``; ``replace_field``.
4. Passes (pure) — :mod:`~linkgress.query.shape` (shape key and parameters),
   :mod:`~linkgress.query.compiler` (SQL of SELECT, UPDATE, DELETE, INSERT),
   :mod:`~linkgress.query.convert` (values in both directions), :mod:`~linkgress.query.readers`
   (row readers), :mod:`~linkgress.query.lambdaplan` (replaying ``where`` lambdas).
5. Builders — :mod:`~linkgress.query.locks` (row locks: ``for_update`` / ``for_share``),
   :mod:`~linkgress.query.running` (what queries share: compile once, run),
   :mod:`~linkgress.query.compound` (unions), :mod:`~linkgress.query.queryable`,
   :mod:`~linkgress.query.updates` (``update`` / ``delete``), :mod:`~linkgress.query.writeplan`
   and :mod:`~linkgress.query.mutations` (inserts, upserts), :mod:`~linkgress.query.table`.
6. The I/O edge — :mod:`~linkgress.query.session` (statements on a connection),
   :mod:`~linkgress.query.transaction`, :mod:`~linkgress.query.writeerrors`.

Public names: :class:`Queryable`, :class:`DbTable`, :data:`func`, :func:`sql` (alias
:func:`raw`), :func:`exists`, :func:`cte`, :func:`recursive_cte` and the expression base
class :class:`Expr`. Joins live in :mod:`~linkgress.query.joins`, subqueries in
:mod:`~linkgress.query.subqueries`, CTE sources in :mod:`~linkgress.query.ctes` (floor 3,
beside the statement values); ``cte()`` itself in :mod:`~linkgress.query.ctequery` (floor 5).
Everything else is internal.
"""

# The typed operators register their methods on import (see linkgress.query.extensions).
from linkgress.query import arrays, flags, jsonb, search, windows  # noqa: F401
from linkgress.query.ctequery import cte, recursive_cte
from linkgress.query.expressions import Expr, Ordering
from linkgress.query.functions import func, raw, sql
from linkgress.query.subqueries import exists

__all__ = ["Expr", "Ordering", "cte", "exists", "func", "raw", "recursive_cte", "sql"]
