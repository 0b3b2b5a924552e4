"""Methods that higher modules attach to expressions, by comparison category.

:class:`~linkgress.query.expressions.Expr` keeps the methods every expression has; methods that
only make sense for some columns — JSONB extraction (``o.data["key"]``), array operators,
flag tests, window functions, full-text search — live in modules of their own
(:mod:`~linkgress.query.jsonb`, :mod:`~linkgress.query.arrays`, :mod:`~linkgress.query.flags`,
:mod:`~linkgress.query.windows`, :mod:`~linkgress.query.search`), which register them here with
:func:`extension`. :class:`CategoryMethods` (a base of ``Expr``) declares each of them, typed,
so that a type checker knows them (and reports a misspelt one); the declarations (and
``Expr.__getitem__``) look the implementation up with :func:`extended`: a method used on an
expression of another category raises :class:`~linkgress.errors.QueryBuildError` naming the
method and the expression's type. A new method is registered in its module *and* declared
here (a unit test checks that every registered name is declared).

This module sits below the expression nodes and imports none of them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from linkgress.errors import QueryBuildError

if TYPE_CHECKING:
    from linkgress.query.expressions import Expr
    from linkgress.query.jsonb import JsonGet
    from linkgress.query.windows import Window

__all__ = ["ANY_CATEGORY", "EXTENSIONS", "CategoryMethods", "extended", "extension"]

F = TypeVar("F", bound=Callable[..., Any])

#: Registering a method under this category makes it available on every expression (the method
#: then checks its receiver itself, e.g. that it is a flag column).
ANY_CATEGORY = "*"

#: method name -> category -> function(expression, *args, **kwargs).
EXTENSIONS: dict[str, dict[str, Callable[..., Any]]] = {}

_WHAT = {"json": "a json/jsonb", "array": "an array", "tsvector": "a tsvector",
         "text": "a text"}


def extension(name: str, *categories: str) -> Callable[[F], F]:
    """Register the decorated function as method ``name`` of expressions of ``categories``."""
    def register(fn: F) -> F:
        table = EXTENSIONS.setdefault(name, {})
        for category in categories:
            if category in table:
                raise RuntimeError(f"method {name!r} is already registered for {category!r}")
            table[category] = fn
        return fn
    return register


def extended(expr: Expr, name: str) -> Callable[..., Any]:
    """Method ``name`` of ``expr`` (bound). Raises AttributeError for a name nobody registered
    and :class:`~linkgress.errors.QueryBuildError` when ``expr``'s category has no such
    method."""
    table = EXTENSIONS.get(name)
    if table is None:
        raise AttributeError(name)
    fn = table.get(expr.category) or table.get(ANY_CATEGORY)
    if fn is None:
        wanted = " or ".join(_WHAT.get(c, f"a {c}") for c in sorted(table))
        shown = "[...]" if name == "__getitem__" else f"{name}()"
        raise QueryBuildError(f"{shown} needs {wanted} column, got {expr.describe()} "
                              f"({expr.category})")
    return functools.partial(fn, expr)


class CategoryMethods:
    """The methods of some categories of expressions, declared for every expression (a base of
    :class:`~linkgress.query.expressions.Expr`): each calls the implementation registered for
    the expression's category, or raises :class:`~linkgress.errors.QueryBuildError` naming
    the method and the expression's type when there is none."""

    __slots__ = ()

    def _category_method(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return extended(cast("Expr", self), name)(*args, **kwargs)

    # -- JSONB (linkgress.query.jsonb) ---------------------------------------------------------

    def as_text(self) -> JsonGet:
        """``->>``: an extracted JSON value as text (``o.data["name"].as_text()``)."""
        result: JsonGet = self._category_method("as_text")
        return result

    def has_key(self, key: str) -> Expr:
        """``?``: the jsonb object has top-level key ``key``."""
        result: Expr = self._category_method("has_key", key)
        return result

    # -- arrays (linkgress.query.arrays); contains() is Expr's -----------------------------------

    def overlaps(self, values: Iterable[Any]) -> Expr:
        """``&&``: the array and ``values`` (a list) have an element in common."""
        result: Expr = self._category_method("overlaps", values)
        return result

    def any_eq(self, value: Any) -> Expr:
        """``value = ANY(array)``: ``value`` is an element of the array."""
        result: Expr = self._category_method("any_eq", value)
        return result

    # -- flags (linkgress.query.flags) ---------------------------------------------------------

    def has_flag(self, flags: int) -> Expr:
        """Every bit of ``flags`` is set (an ``enum.IntFlag`` column)."""
        result: Expr = self._category_method("has_flag", flags)
        return result

    def has_all(self, flags: int) -> Expr:
        """Every bit of ``flags`` is set (an ``enum.IntFlag`` column)."""
        result: Expr = self._category_method("has_all", flags)
        return result

    def has_any(self, flags: int) -> Expr:
        """At least one bit of ``flags`` is set (an ``enum.IntFlag`` column)."""
        result: Expr = self._category_method("has_any", flags)
        return result

    def has_none(self, flags: int) -> Expr:
        """No bit of ``flags`` is set (an ``enum.IntFlag`` column)."""
        result: Expr = self._category_method("has_none", flags)
        return result

    # -- full-text search (linkgress.query.search) ---------------------------------------------

    def matches(self, query: str, config: str | None = None, mode: str = "tsquery") -> Expr:
        """``@@``: the tsvector (or text) column matches the text search ``query``."""
        result: Expr = self._category_method("matches", query, config, mode)
        return result

    # -- window functions (linkgress.query.windows) --------------------------------------------

    def over(self, partition_by: Any = None, order_by: Any = None) -> Window:
        """``function OVER (PARTITION BY ... ORDER BY ...)`` of a function call such as
        ``func.row_number()`` or ``func.sum(p.views)``."""
        result: Window = self._category_method("over", partition_by, order_by)
        return result
