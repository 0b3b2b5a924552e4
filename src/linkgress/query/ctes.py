"""Common table expressions: the row type of a ``cte(...)`` and its definition.

The floor of statement values. A CTE is read through a :class:`CteSource` — a source whose
relation is the CTE's name instead of a table — so it can be queried, filtered, joined and
projected like a table. Its rows are the entities of its query (a query without ``select``)
or dicts of the columns its query selected (``select(lambda x: {"id": x.id, ...})``). The
compiler renders every CTE a statement reaches once, in a ``WITH`` clause in front of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.model.meta import ColumnMeta, EntityMeta
from linkgress.model.types import ColumnType
from linkgress.query.expressions import Expr
from linkgress.query.projection import PDict, Projection, PValue, projection_width
from linkgress.query.proxies import ColumnRef, Source
from linkgress.query.statements import SelectQuery
from linkgress.schema.quoting import quote_ident

__all__ = ["Cte", "CteRow", "CteSource", "check_cte_name", "check_recursive_part", "cte_source"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MAX_IDENTIFIER_BYTES = 63


def check_cte_name(name: object, what: str = "cte name") -> str:
    """``name`` when it is a plain SQL identifier (letters, digits, ``_``; at most 63 bytes);
    raises :class:`~linkgress.errors.QueryBuildError` otherwise."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise QueryBuildError(f"{what} must be an identifier (letters, digits and _, not "
                              f"starting with a digit), got {name!r}")
    if len(name) > _MAX_IDENTIFIER_BYTES:
        raise QueryBuildError(f"{what} {name!r} is longer than {_MAX_IDENTIFIER_BYTES} bytes")
    return name


class CteRow:
    """Base of the row class of a CTE of dicts (made per CTE, for messages and the model's
    bookkeeping): never instantiated — such a row, selected whole, reads as a dict."""


@dataclass(eq=False)
class Cte:
    """``name(columns) AS [NOT] MATERIALIZED (anchor [UNION [ALL] recursive])``.

    Built in two steps for a recursive CTE (its recursive part reads the CTE itself), so
    ``recursive`` is set after the source exists; never changed once the CTE is returned.
    """

    name: str
    anchor: SelectQuery
    materialized: bool | None = None
    recursive: SelectQuery | None = None
    union: str = "UNION ALL"
    source: CteSource | None = None  # set by cte_source()


class CteSource(Source):
    """A CTE occurrence as a query's root; ``default`` is the projection its rows have
    without ``select`` (None: entities; a dict of its columns otherwise)."""

    __slots__ = ("column_names", "cte", "default")

    def __init__(self, model: Any, meta: EntityMeta, cte: Cte, dict_rows: bool,
                 categories: dict[str, str]) -> None:
        super().__init__(model, meta)
        self.cte = cte
        self.token = (dict if dict_rows else meta.entity, "cte", cte.name)
        self.column_names = tuple(c.name for c in meta.columns)
        for attr, category in categories.items():  # computed columns keep their category
            self.columns[attr] = ColumnRef(self, meta.column(attr), category)
        self.default: Projection | None = PDict(
            tuple(self.columns), tuple(PValue(ref) for ref in self.columns.values())
        ) if dict_rows else None


def _column(key: str, value: Expr) -> ColumnMeta:
    check_key(key)
    if value.meta is not None:  # a column: keep its type (enum, json decoding)
        return replace(value.meta, attr=key, name=key, primary_key=False, identity=None,
                       default=None, generated_as=None)
    return ColumnMeta(attr=key, name=key, type=ColumnType("unknown"), nullable=True,
                      python_type=object)


def check_key(key: str) -> None:
    """A dict key that becomes a CTE column name: non-empty, no NUL, at most 63 bytes."""
    if not key or "\x00" in key or len(key.encode()) > _MAX_IDENTIFIER_BYTES:
        raise QueryBuildError(f"a cte column name must be 1 to {_MAX_IDENTIFIER_BYTES} bytes "
                              f"without NUL, got {key!r}")


def cte_source(name: str, anchor: SelectQuery, materialized: bool | None) -> CteSource:
    """The source of a new CTE named ``name`` over ``anchor`` (its first or only query).

    Raises :class:`~linkgress.errors.QueryBuildError` for a query whose rows cannot be a
    CTE's (anything but entities or a flat dict of columns)."""
    check_cte_name(name)
    if materialized not in (None, True, False):
        raise QueryBuildError(f"materialized must be True, False or None, got {materialized!r}")
    definition = Cte(name, anchor, materialized)
    projection = anchor.projection
    source = anchor.source
    if projection is None and not anchor.joins and anchor.group_by == ():
        made = CteSource(source.model, source.meta, definition, False, {})
    elif isinstance(projection, PDict) and all(isinstance(p, PValue) for p in projection.items):
        values = [p.expr for p in projection.items if isinstance(p, PValue)]
        columns = tuple(_column(k, v) for k, v in zip(projection.keys, values, strict=True))
        meta = EntityMeta(entity=type(name, (CteRow,), {}), context_attr=name, schema="",
                          table=name,
                          columns=columns, primary_key=(), primary_key_name=None,
                          by_attr={c.attr: c for c in columns})
        categories = {k: v.category for k, v in zip(projection.keys, values, strict=True)}
        made = CteSource(source.model, meta, definition, True, categories)
    else:
        raise QueryBuildError("a cte's query must return entities (no select) or a dict of "
                              "columns (select(lambda x: {'id': x.id, ...}))")
    definition.source = made
    return made


def check_recursive_part(source: CteSource, projection: Projection) -> None:
    """Check that the recursive query's ``projection`` has the anchor's row shape."""
    width = len(source.column_names)
    if projection_width(projection) != width:
        raise QueryBuildError(f"recursive_cte {source.cte.name!r}: the recursive query must "
                              f"return the anchor's {width} column(s) "
                              f"({', '.join(source.column_names)})")
    keys = projection.keys if isinstance(projection, PDict) else None
    if source.default is not None and keys != tuple(source.columns):
        raise QueryBuildError(f"recursive_cte {source.cte.name!r}: the recursive query "
                              "must select a dict with the anchor's keys, in order")


def cte_definition(cte: Cte, select: Callable[[SelectQuery], str]) -> tuple[str, bool]:
    """``(name(columns) AS [NOT] MATERIALIZED (body), recursive)``; ``select`` renders a
    query (the compiler's, so aliases and parameter numbers are the statement's)."""
    body = select(cte.anchor)
    if cte.recursive is not None:
        body = f"({body}) {cte.union} ({select(cte.recursive)})"
    assert cte.source is not None
    columns = ", ".join(quote_ident(n) for n in cte.source.column_names)
    flag = {None: "", True: "MATERIALIZED ", False: "NOT MATERIALIZED "}[cte.materialized]
    return f"{quote_ident(cte.name)}({columns}) AS {flag}({body})", cte.recursive is not None


def with_clause(definitions: list[tuple[str, bool]]) -> str:
    """``WITH [RECURSIVE] ...`` in front of a statement (``""`` without CTEs)."""
    if not definitions:
        return ""
    recursive = "RECURSIVE " if any(r for _, r in definitions) else ""
    return f"WITH {recursive}{', '.join(text for text, _ in definitions)} "
