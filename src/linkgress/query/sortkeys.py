"""Sort keys and page bounds from what a query's lambdas and arguments give: the sort keys of
an ``order_by`` lambda's result (:func:`orderings`) and the bound ``LIMIT`` / ``OFFSET``
(:func:`page_param`). Just above the expression nodes they build."""

from __future__ import annotations

from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.query.awaitables import QueryCall
from linkgress.query.categories import check_nulls
from linkgress.query.expressions import Expr, Ordering, Param

__all__ = ["orderings", "page_param"]


def orderings(value: Any, descending: bool, nulls: str | None) -> tuple[Ordering, ...]:
    """Sort keys from what an ``order_by`` lambda returned: an expression, an ``Ordering``
    (``u.name.desc()``), or a tuple of them."""
    items = value if isinstance(value, tuple) else (value,)
    check_nulls(nulls)
    out = []
    for item in items:
        if isinstance(item, Ordering):
            out.append(item)
        elif isinstance(item, Expr):
            out.append(Ordering(item, descending, nulls))
        elif type(item) is QueryCall:  # a scalar subquery: order_by(lambda a: q(a).count())
            out.append(Ordering(item.expr(), descending, nulls))
        else:
            raise QueryBuildError(f"a sort key must be a column or an expression, got {item!r}")
    return tuple(out)


def page_param(value: int, what: str) -> Param:
    """``value`` as the bound parameter of a ``LIMIT`` / ``OFFSET`` (``what``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QueryBuildError(f"{what} must be a non-negative integer, got {value!r}")
    return Param(value, None)
