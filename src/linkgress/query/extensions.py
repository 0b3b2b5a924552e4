"""Methods that higher modules attach to expressions, by comparison category.

:class:`~linkgress.query.expressions.Expr` keeps the methods every expression has; methods that
only make sense for some columns — JSONB extraction (``o.data["key"]``), array operators,
flag tests, window functions, full-text search — live in modules of their own
(:mod:`~linkgress.query.jsonb`, :mod:`~linkgress.query.arrays`, :mod:`~linkgress.query.flags`,
:mod:`~linkgress.query.windows`, :mod:`~linkgress.query.search`), which register them here with
:func:`extension`. ``Expr.__getattr__`` (and ``__getitem__``) look them up with
:func:`extended`: a method used on an expression of another category raises
:class:`~linkgress.errors.QueryBuildError` naming the method and the expression.

This module sits below the expression nodes and imports none of them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from linkgress.errors import QueryBuildError

if TYPE_CHECKING:
    from linkgress.query.expressions import Expr

__all__ = ["ANY_CATEGORY", "EXTENSIONS", "extended", "extension"]

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
