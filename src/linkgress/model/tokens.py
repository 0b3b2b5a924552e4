"""Concurrency tokens: ``column(concurrency_token=True)`` / ``has_concurrency_token(member)``.

A concurrency token is an integer version column the ORM checks and increments on every
``update(entity)`` (optimistic concurrency; see :mod:`linkgress.query.updates`). Validated
here, while the model is built: one token per entity, on a NOT NULL integer column that the
ORM may write (not the primary key, not identity / generated / deprecated). A token without a
default gets ``DEFAULT 1``, so that inserts start it at 1.
"""

from __future__ import annotations

from dataclasses import replace

from linkgress.errors import ModelError
from linkgress.model.fluent import EntitySettings
from linkgress.model.literals import sql_literal
from linkgress.model.meta import ColumnMeta
from linkgress.model.naming import find_column_info
from linkgress.model.types import INTEGER_TYPES

__all__ = ["concurrency_token"]


def concurrency_token(cls: type, settings: EntitySettings, columns: list[ColumnMeta]
                      ) -> tuple[list[ColumnMeta], str | None]:
    """``(columns, token attribute or None)``: the token column checked, given ``DEFAULT 1``
    when it has no default."""
    entity = cls.__name__
    by_attr = {c.attr: c for c in columns}
    declared = [c.attr for c in columns if find_column_info(cls, c.attr).concurrency_token]
    fluent = settings.concurrency_token
    if fluent is not None:
        if fluent not in by_attr:
            raise ModelError("has_concurrency_token names an attribute that is not a column",
                             entity=entity, field=fluent)
        if fluent not in declared:
            declared.append(fluent)
    if not declared:
        return columns, None
    if len(declared) > 1:
        raise ModelError(f"has more than one concurrency token ({', '.join(declared)}); an "
                         "entity has at most one", entity=entity, field=declared[1])
    token = _checked(by_attr[declared[0]], entity)
    return [token if c.attr == token.attr else c for c in columns], token.attr


def _checked(column: ColumnMeta, entity: str) -> ColumnMeta:
    ctype = column.type
    problem = (
        f"must be an integer column (smallint, integer, bigint), not {ctype.display}"
        if ctype.name not in INTEGER_TYPES or ctype.dims or ctype.serial else
        "cannot be the primary key" if column.primary_key else
        "must be NOT NULL (declare it `int`, not `int | None`)" if column.nullable else
        "is written by the ORM: it cannot be an identity or generated column"
        if column.identity is not None or column.generated_as is not None else
        "cannot be deprecated" if column.deprecated else None)
    if problem is not None:
        raise ModelError(f"a concurrency token {problem}", entity=entity, field=column.attr)
    if column.default is not None:
        return column
    return replace(column, default=sql_literal(1, ctype), python_default=1,
                   has_python_default=True)
