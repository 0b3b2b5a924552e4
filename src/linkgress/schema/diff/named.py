"""The pattern every named part of a table follows: create what is missing, replace what
changed (drop + create), drop what is gone if it is managed, note it otherwise."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from linkgress.schema.diff.context import DiffContext, label
from linkgress.schema.operations import Operation
from linkgress.schema.snapshot import Table


class Named(Protocol):
    """Anything with a ``name``."""

    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


def diff_named(ctx: DiffContext, current: Table, items: tuple[Sequence[T], Sequence[T]], *,
               part: str, kind: str, create: Callable[[T], Operation],
               drop: Callable[[T], Operation]) -> list[Operation]:
    """Operations turning ``items[0]`` (current) into ``items[1]`` (target), matched by name.

    ``part`` is the :class:`Table` attribute (for the managed check), ``kind`` the word used
    in notes.
    """
    old_items, new_items = items
    old_by_name = {item.name: item for item in old_items}
    new_names = {item.name for item in new_items}
    out: list[Operation] = []
    for item in new_items:
        old = old_by_name.get(item.name)
        if old is None:
            out.append(create(item))
        elif old != item:
            out += [drop(old), create(item)]
    for old in old_items:
        if old.name in new_names:
            continue
        if ctx.may_drop_part(current, part, old.name):
            out.append(drop(old))
        else:
            ctx.unmanaged(kind, f"{label(current.schema, current.name)}.{old.name}")
    return out
