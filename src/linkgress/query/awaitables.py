"""What ``query.count()`` and ``query.first()`` return, and the coroutines met inside a query
lambda (below the expression nodes).

``count()`` and ``first()`` return a :class:`QueryCall`: awaited (or given to
``asyncio.create_task`` / ``gather``, it is a coroutine) it runs the query; used inside another
query's lambda — compared (``q.count() > 1``, ``1 < q.count()``), in arithmetic, projected —
it stands for a scalar subquery, the node :mod:`linkgress.query.subqueries` registers in
:data:`SCALAR_EXPRS`. Any other coroutine in a lambda is a mistake (a forgotten ``await``) and
is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from linkgress.errors import QueryBuildError

if TYPE_CHECKING:
    from linkgress.query.expressions import Expr, Ordering

__all__ = ["SCALAR_EXPRS", "QueryCall", "awaitable_expr"]

T = TypeVar("T")

#: ``(query, kind) -> scalar subquery node`` (registered by :mod:`linkgress.query.subqueries`).
SCALAR_EXPRS: list[Callable[[Any, str], Any]] = []


class QueryCall(Coroutine[Any, Any, T]):
    """The result of ``query.count()`` / ``query.first()``.

    Awaited, the query runs (``await q.count()`` is an ``int``); it is a coroutine, so
    ``asyncio.create_task(q.count())`` works too. Inside another query's lambda it is the
    scalar subquery ``(SELECT count(*) ...)`` / ``(SELECT column ... LIMIT 1)``: it compares,
    computes and sorts like any expression, on either side of the operator.
    """

    __slots__ = ("coroutine", "kind", "query")

    def __init__(self, query: Any, kind: str, coroutine: Coroutine[Any, Any, T]) -> None:
        #: The query called, ``"count"`` or ``"first"``, and the coroutine that runs it.
        self.query = query
        self.kind = kind
        self.coroutine = coroutine

    def expr(self) -> Expr:
        """The scalar subquery this call stands for inside another query's lambda (the
        coroutine is closed: it will never run)."""
        self.coroutine.close()
        return SCALAR_EXPRS[0](self.query, self.kind)  # type: ignore[no-any-return]

    # -- as a coroutine -------------------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, T]:
        return self.coroutine.__await__()

    def send(self, value: Any) -> Any:
        """Run the query (``Coroutine.send``)."""
        return self.coroutine.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        """``Coroutine.throw``."""
        if val is None and tb is None:
            return self.coroutine.throw(typ)
        return self.coroutine.throw(typ, val, tb)  # the three-argument form

    def close(self) -> None:
        """``Coroutine.close``."""
        self.coroutine.close()

    __hash__ = object.__hash__  # asyncio.gather keys its awaitables by hash

    def __bool__(self) -> bool:
        self.coroutine.close()
        raise QueryBuildError(f"query.{self.kind}() has no truth value: await it "
                              "(await q.count()), or compare it inside a query lambda")

    def __repr__(self) -> str:
        return f"<query.{self.kind}() call>"

    # -- as a scalar subquery -------------------------------------------------------------------

    def __eq__(self, other: object) -> Expr:  # type: ignore[override]
        return self.expr().__eq__(other)

    def __ne__(self, other: object) -> Expr:  # type: ignore[override]
        return self.expr().__ne__(other)

    def __lt__(self, other: Any) -> Expr:
        return self.expr().__lt__(other)

    def __le__(self, other: Any) -> Expr:
        return self.expr().__le__(other)

    def __gt__(self, other: Any) -> Expr:
        return self.expr().__gt__(other)

    def __ge__(self, other: Any) -> Expr:
        return self.expr().__ge__(other)

    def __add__(self, other: Any) -> Expr:
        return self.expr().__add__(other)

    def __radd__(self, other: Any) -> Expr:
        return other + self.expr()  # type: ignore[no-any-return]

    def __sub__(self, other: Any) -> Expr:
        return self.expr().__sub__(other)

    def __rsub__(self, other: Any) -> Expr:
        return other - self.expr()  # type: ignore[no-any-return]

    def __mul__(self, other: Any) -> Expr:
        return self.expr().__mul__(other)

    def __rmul__(self, other: Any) -> Expr:
        return other * self.expr()  # type: ignore[no-any-return]

    def __truediv__(self, other: Any) -> Expr:
        return self.expr().__truediv__(other)

    def __rtruediv__(self, other: Any) -> Expr:
        return other / self.expr()  # type: ignore[no-any-return]

    def __mod__(self, other: Any) -> Expr:
        return self.expr().__mod__(other)

    def __rmod__(self, other: Any) -> Expr:
        return other % self.expr()  # type: ignore[no-any-return]

    def __neg__(self) -> Expr:
        return -self.expr()

    def __and__(self, other: Any) -> Expr:
        return self.expr().__and__(other)

    def __rand__(self, other: Any) -> Expr:
        return other & self.expr()  # type: ignore[no-any-return]

    def __or__(self, other: Any) -> Expr:
        return self.expr().__or__(other)

    def __ror__(self, other: Any) -> Expr:
        return other | self.expr()  # type: ignore[no-any-return]

    def __invert__(self) -> Expr:
        return ~self.expr()

    def is_null(self) -> Expr:
        """``(subquery) IS NULL`` (a ``first()`` that finds no row)."""
        return self.expr().is_null()

    def is_not_null(self) -> Expr:
        """``(subquery) IS NOT NULL``."""
        return self.expr().is_not_null()

    def coalesce(self, *fallbacks: Any) -> Expr:
        """``COALESCE((subquery), fallback, ...)``."""
        return self.expr().coalesce(*fallbacks)

    def between(self, low: Any, high: Any) -> Expr:
        """``(subquery) BETWEEN low AND high``."""
        return self.expr().between(low, high)

    def in_(self, values: Iterable[Any]) -> Expr:
        """``(subquery) = ANY($n)``."""
        return self.expr().in_(values)

    def asc(self, nulls: str | None = None) -> Ordering:
        """Ascending sort key."""
        return self.expr().asc(nulls)

    def desc(self, nulls: str | None = None) -> Ordering:
        """Descending sort key."""
        return self.expr().desc(nulls)


def awaitable_expr(value: Any) -> Any:
    """The expression node ``value`` (a :class:`QueryCall`) stands for; raises
    :class:`~linkgress.errors.QueryBuildError` for a coroutine (a forgotten ``await``)."""
    if type(value) is QueryCall:
        return value.expr()
    value.close()  # it will never run: no "never awaited" warning besides this error
    raise QueryBuildError(f"{value!r} is a coroutine, not a value: await it outside the "
                          "query (only query.count() / .first() are subqueries)")
