"""The column DDL clauses of identity options and generated columns (pure), apart from
:mod:`linkgress.schema.ddl` so that module stays about verbs."""

from __future__ import annotations

from linkgress.schema.quoting import quote_ident
from linkgress.schema.snapshot import Column


def identity_options(column: Column) -> str:
    """`` (START WITH n INCREMENT BY m)`` for the options that differ from the default."""
    options = []
    if column.identity_start is not None:
        options.append(f"START WITH {int(column.identity_start)}")
    if column.identity_increment is not None:
        options.append(f"INCREMENT BY {int(column.identity_increment)}")
    return f" ({' '.join(options)})" if options else ""


def identity_changes(col: str, old: Column, new: Column) -> list[str]:
    """``ALTER COLUMN`` clauses changing a kept identity's sequence options in place. The
    current value is kept: ``SET START WITH`` only affects a later ``RESTART``."""
    clauses = []
    if old.identity_increment != new.identity_increment:
        clauses.append(f"ALTER COLUMN {col} SET INCREMENT BY {new.identity_increment or 1}")
    if old.identity_start != new.identity_start:
        start = new.identity_start
        if start is None:
            start = 1 if (new.identity_increment or 1) > 0 else -1
        clauses.append(f"ALTER COLUMN {col} SET START WITH {start}")
    return clauses


def regenerates(old: Column, new: Column) -> bool:
    """True when the change needs the column dropped and added again: a generated expression
    that changes, or a plain column that becomes generated (PostgreSQL 15 and 16 cannot change
    an expression in place). Its values are computed again from the row's other columns."""
    return new.generated is not None and old.generated != new.generated


def drop_expression(old: Column, new: Column) -> list[str]:
    """``DROP EXPRESSION`` when a generated column becomes a plain one (keeping its values)."""
    if old.generated is None or new.generated is not None:
        return []
    return [f"ALTER COLUMN {quote_ident(new.name)} DROP EXPRESSION"]
