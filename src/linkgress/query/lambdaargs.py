"""What the query lambda running now received: its entity proxies (or its group).

``over(partition_by=lambda p: ...)`` takes lambdas, as the issue's examples write them; they
receive the same parameters as the query lambda that calls ``over()``. Builders call their
lambdas through :func:`call_lambda`, which makes those parameters known for the duration of
the call (a context variable, so nesting, helpers and comprehensions inside the lambda all see
the right ones); :func:`current_arguments` reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

__all__ = ["call_lambda", "current_arguments"]

_ARGUMENTS: ContextVar[tuple[Any, ...] | None] = ContextVar("linkgress_lambda_arguments",
                                                            default=None)


def call_lambda(fn: Callable[..., Any], *arguments: Any) -> Any:
    """``fn(*arguments)``, with ``arguments`` known to :func:`current_arguments` meanwhile."""
    token = _ARGUMENTS.set(arguments)
    try:
        return fn(*arguments)
    finally:
        _ARGUMENTS.reset(token)


def current_arguments() -> tuple[Any, ...] | None:
    """The parameters of the query lambda running now (innermost), or None outside one."""
    return _ARGUMENTS.get()
