"""Adopt existing names: a unique constraint or index the model did not name (``column(unique=
True)``, ``column(index=True)``) that already exists, equal in every part but its name, takes
the existing name — instead of a second, identical object added next to it.

Pure: rewrites ``target`` before it is compared (and recorded), so the adopted name is the one
linkgress manages from then on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from linkgress.schema.diff.context import tables_by_key
from linkgress.schema.snapshot import Index, Schema, Table, UniqueConstraint

T = TypeVar("T", Index, UniqueConstraint)


def _definition(item: Any) -> Any:
    return replace(item, name="")


def _adopt(current: Sequence[T], target: Sequence[T]) -> tuple[T, ...] | None:
    """``target`` with its generated names replaced by equal ``current`` items' names, or
    None when nothing was adopted."""
    current_names = {c.name for c in current}
    if not any(t.generated and t.name not in current_names for t in target):
        return None  # the common case, kept cheap: this runs on every diff
    target_names = {t.name for t in target}
    free: dict[Any, str] = {}
    for item in current:
        if item.name not in target_names:
            free.setdefault(_definition(item), item.name)
    out, changed = [], False
    for item in target:
        name = free.pop(_definition(item), None) if (
            item.generated and item.name not in current_names) else None
        if name is not None:
            item, changed = replace(item, name=name), True
        out.append(item)
    return tuple(sorted(out, key=lambda i: i.name)) if changed else None


def _adopt_table(current: Table, target: Table) -> Table:
    adopt: Callable[..., Any] = _adopt
    uniques = adopt(current.uniques, target.uniques)
    indexes = adopt(current.indexes, target.indexes)
    if uniques is None and indexes is None:
        return target
    return replace(target, uniques=target.uniques if uniques is None else uniques,
                   indexes=target.indexes if indexes is None else indexes)


def adopt_existing_names(current: Schema, target: Schema) -> Schema:
    """``target`` whose unnamed unique constraints and indexes take the name of an equal one
    ``current`` has under another name (each existing object adopted at most once)."""
    have = tables_by_key(current)
    tables = []
    changed = False
    for table in target.tables:
        existing = have.get(table.key)
        adopted = table if existing is None else _adopt_table(existing, table)
        changed = changed or adopted is not table
        tables.append(adopted)
    return replace(target, tables=tuple(tables)) if changed else target
