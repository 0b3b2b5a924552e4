"""The ORM's query side: expressions, the compiler, queryables, navigations, materialisers.

Public names: :class:`Queryable`, :class:`DbTable`, :data:`func`, :func:`sql` (alias
:func:`raw`) and the expression base class :class:`Expr`. Everything else is internal.
"""

from linkgress.query.expressions import Expr, Ordering
from linkgress.query.functions import func, raw, sql

__all__ = ["Expr", "Ordering", "func", "raw", "sql"]
