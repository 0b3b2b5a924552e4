"""Projection nodes: what one result row becomes.

An entity, a column value, a dict (nested dicts allowed), a tuple, a dataclass / NamedTuple, or
a nested list from a collection navigation. The nodes are frozen values built by
:func:`linkgress.query.proxies.build_projection` from what a ``select`` lambda returned; the
compiler renders their columns and :mod:`linkgress.query.readers` turns them into row readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from linkgress.query.expressions import Expr

if TYPE_CHECKING:  # types only: sources and collections sit on the floor above
    from linkgress.query.proxies import CollectionList, Source

__all__ = [
    "PDict",
    "PEntity",
    "PList",
    "PObject",
    "PTuple",
    "PValue",
    "Projection",
    "projection_columns",
    "projection_width",
]


@dataclass(frozen=True, slots=True, eq=False)
class PValue:
    """One expression, one result column."""

    expr: Expr


@dataclass(frozen=True, slots=True, eq=False)
class PEntity:
    """All mapped columns of a source, built into an entity instance (None for a missed LEFT
    JOIN)."""

    source: Source


@dataclass(frozen=True, slots=True, eq=False)
class PDict:
    """A dict with fixed string keys."""

    keys: tuple[str, ...]
    items: tuple[Projection, ...]


@dataclass(frozen=True, slots=True, eq=False)
class PTuple:
    """A plain tuple."""

    items: tuple[Projection, ...]


@dataclass(frozen=True, slots=True, eq=False)
class PObject:
    """A dataclass or NamedTuple built by keyword from its fields."""

    factory: type[Any]
    names: tuple[str, ...]
    items: tuple[Projection, ...]


@dataclass(frozen=True, slots=True, eq=False)
class PList:
    """A collection navigation projected as a nested list (one result column, an array of
    records)."""

    collection: CollectionList


Projection = PValue | PEntity | PDict | PTuple | PObject | PList


def projection_width(projection: Projection) -> int:
    """How many result columns ``projection`` occupies."""
    if isinstance(projection, PEntity):
        return len(projection.source.meta.columns)
    if isinstance(projection, (PValue, PList)):
        return 1
    return sum(projection_width(p) for p in projection.items)


def projection_columns(projection: Projection) -> list[Any]:
    """The flat list of result columns: expressions, or ``CollectionList`` for nested lists.

    Entities contribute their column references in mapping order.
    """
    out: list[Any] = []
    _collect(projection, out)
    return out


def _collect(projection: Projection, out: list[Any]) -> None:
    if isinstance(projection, PValue):
        out.append(projection.expr)
    elif isinstance(projection, PEntity):
        out.extend(projection.source.columns.values())
    elif isinstance(projection, PList):
        out.append(projection.collection)
    else:
        for item in projection.items:
            _collect(item, out)
