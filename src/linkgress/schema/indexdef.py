"""The key list of an index with its per-element options, as ``CREATE INDEX`` takes it:
``element [COLLATE "collation"] [opclass] [DESC] [NULLS FIRST|LAST]``, then
``INCLUDE (...)``."""

from __future__ import annotations

from linkgress.schema.quoting import quote_ident
from linkgress.schema.snapshot import Index


def has_element_options(index: Index) -> bool:
    """True when ``index`` has INCLUDE columns or a per-element option."""
    return bool(index.include or index.opclasses or index.collations or index.descending
                or index.nulls)


def index_element(element: str) -> str:
    """A column name is quoted; an element in parentheses is an expression, kept as written."""
    if element.startswith("(") and element.endswith(")"):
        return element
    return quote_ident(element)


def _option(values: tuple[str | None, ...], position: int) -> str | None:
    return values[position] if values else None


def key_element_sql(index: Index, position: int) -> str:
    """Key element ``position`` of ``index`` with its collation, operator class and order."""
    parts = [index_element(index.columns[position])]
    collation = _option(index.collations, position)
    if collation is not None:
        parts.append(f"COLLATE {quote_ident(collation)}")
    opclass = _option(index.opclasses, position)
    if opclass is not None:
        parts.append(quote_ident(opclass))
    if index.descending and index.descending[position]:
        parts.append("DESC")
    nulls = _option(index.nulls, position)
    if nulls is not None:
        parts.append(f"NULLS {nulls.upper()}")
    return " ".join(parts)


def index_columns_sql(index: Index) -> str:
    """``(key elements)`` and, when the index has any, `` INCLUDE (columns)``."""
    keys = ", ".join(key_element_sql(index, i) for i in range(len(index.columns)))
    sql = f"({keys})"
    if index.include:
        sql += f" INCLUDE ({', '.join(quote_ident(c) for c in index.include)})"
    return sql
