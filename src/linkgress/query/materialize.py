"""Projections and row materialisers.

A projection describes what one result row becomes: an entity, a column value, a dict (nested
dicts allowed), a tuple, a dataclass / NamedTuple, or a nested list from a collection
navigation. :func:`build_projection` turns a lambda's result into one; :func:`build_row_reader`
turns a projection into a plain Python function ``record -> value``, generated once per query
shape, so that no per-row reflection or name lookup happens: entities are built with
``object.__new__`` and one ``__dict__`` assignment, values are read by position.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from linkgress.errors import QueryBuildError
from linkgress.model.typetable import spec_for
from linkgress.query.expressions import ColumnRef, Expr, Param, as_expr
from linkgress.query.navigation import (
    CollectionList,
    CollectionQuery,
    EntityProxy,
    GroupProxy,
    Source,
    source_of,
)

if TYPE_CHECKING:
    from linkgress.model.meta import ColumnMeta

__all__ = [
    "PDict",
    "PEntity",
    "PList",
    "PObject",
    "PTuple",
    "PValue",
    "Projection",
    "build_projection",
    "build_row_reader",
    "build_rows_reader",
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


def build_projection(value: Any) -> Projection:
    """The projection for what a ``select`` lambda returned.

    Raises :class:`~linkgress.errors.QueryBuildError` for values that cannot be projected.
    """
    if isinstance(value, Expr):
        return PValue(value)
    if isinstance(value, EntityProxy):
        return PEntity(source_of(value))
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise QueryBuildError(f"projection dict keys must be strings, got {key!r}")
        return PDict(tuple(value), tuple(build_projection(v) for v in value.values()))
    if isinstance(value, CollectionList):
        return PList(value)
    if isinstance(value, CollectionQuery):
        return PList(value.to_list())
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):
        names = tuple(getattr(type(value), "_fields"))  # noqa: B009
        return PObject(type(value), names, tuple(build_projection(v) for v in value))
    if isinstance(value, tuple):
        return PTuple(tuple(build_projection(v) for v in value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = tuple(f.name for f in dataclasses.fields(value) if f.init)
        return PObject(type(value), names,
                       tuple(build_projection(getattr(value, n)) for n in names))
    if isinstance(value, GroupProxy):
        raise QueryBuildError("project the group's key and aggregates (g.key, g.count()), "
                              "not the group itself")
    if isinstance(value, list):
        raise QueryBuildError("a projection cannot be a list; use a tuple or a dict")
    if value is None:  # a bare untyped parameter would not prepare; NULL reads as text
        return PValue(Param(None, "text"))
    return PValue(as_expr(value))


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


# --- code generation ----------------------------------------------------------------------------


def _enum_decoder(enum_class: type[enum.Enum], dims: int) -> Callable[[Any], Any]:
    def member(value: Any) -> Any:
        return None if value is None else enum_class(value)

    def members(value: Any) -> Any:
        if isinstance(value, list):
            return [members(item) for item in value]
        return member(value)

    return members if dims else member


def converter_for(meta: ColumnMeta) -> Callable[[Any], Any] | None:
    """A function turning a fetched value into the attribute's Python value, or None when the
    value is already right (most types: asyncpg decodes them natively)."""
    if meta.enum_class is not None:
        return _enum_decoder(meta.enum_class, meta.type.dims)
    spec = spec_for(meta.type)
    return spec.decode if spec is not None and not meta.type.dims else None


class _EnumLookup(dict[Any, Any]):
    """Label -> member (and None -> None): decoding an enum column is one dict lookup in the
    generated reader; an unknown label falls back to the enum class (which raises)."""

    def __init__(self, enum_class: type[enum.Enum]) -> None:
        super().__init__({m.value: m for m in enum_class})
        self[None] = None
        self.enum_class = enum_class

    def __missing__(self, value: Any) -> Any:
        return self.enum_class(value)


class _Generator:
    """Emits the source of one row reader; names every non-literal object it needs."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"_new": object.__new__, "_loads": json.loads,
                                          "_set": _new_entity, "_map": map,
                                          "_repeat": itertools.repeat}
        self.functions: list[str] = []

    def name(self, obj: Any, prefix: str) -> str:
        name = f"_{prefix}{len(self.namespace)}"
        self.namespace[name] = obj
        return name

    def read(self, meta: ColumnMeta, index: int) -> str:
        """The expression reading column ``meta`` at ``r[index]``, converted (inlined for
        the common conversions: a dict lookup for enums, ``json.loads`` for JSON)."""
        value = f"r[{index}]"
        if meta.enum_class is not None and not meta.type.dims:
            return f"{self.name(_EnumLookup(meta.enum_class), 'c')}[{value}]"
        if meta.type.name in ("json", "jsonb") and not meta.type.dims:
            return f"(_loads({value}) if {value}.__class__ is str else {value})"
        conv = converter_for(meta)
        return value if conv is None else f"{self.name(conv, 'c')}({value})"

    def function(self, projection: Projection, many: bool = False) -> str:
        """Define ``def _fN(r)`` reading ``projection`` from position 0 — or, with ``many``,
        ``def _fN(rows)`` returning the list of every row's value (no call per row); return
        its name."""
        position = [0]
        name = f"_f{len(self.functions)}_{len(self.namespace)}"
        self.namespace[name] = None  # reserve the name
        if isinstance(projection, PEntity) and projection.source.kind == "root":
            # The common case, as statements: no helper call per row.
            cls = self.name(projection.source.meta.entity, "e")
            values = self.entity_values(projection.source, position)
            if many:
                # Unpacking each record into locals is a little faster than indexing it; the
                # entity's columns are the whole record, in order. (Attribute names are
                # identifiers, so ``r[`` in ``values`` can only be a read.)
                width = len(projection.source.meta.columns)
                names = "".join(f"c{i}, " for i in range(width))
                values = re.sub(r"r\[(\d+)\]", r"c\1", values)
                # Making every object first (one C-level loop) and then giving each its
                # attributes in a zip loop saves the per-row call and list append.
                self.functions.append(
                    f"def {name}(rows):\n    out = list(_map(_new, _repeat({cls}, len(rows))))\n"
                    f"    for o, ({names}) in zip(out, rows):\n"
                    f"        o.__dict__ = {values}\n    return out\n")
            else:
                self.functions.append(f"def {name}(r):\n    o = _new({cls})\n"
                                      f"    o.__dict__ = {values}\n    return o\n")
            return name
        body = self.expression(projection, position)
        if many:
            self.functions.append(f"def {name}(rows):\n    return [{body} for r in rows]\n")
        else:
            self.functions.append(f"def {name}(r):\n    return {body}\n")
        return name

    def expression(self, projection: Projection, position: list[int]) -> str:
        if isinstance(projection, PValue):
            index = position[0]
            position[0] += 1
            expr = projection.expr
            return self.read(expr.meta, index) if isinstance(expr, ColumnRef) else f"r[{index}]"
        if isinstance(projection, PEntity):
            return self.entity(projection.source, position)
        if isinstance(projection, PList):
            index = position[0]
            position[0] += 1
            # The element's `r` shadows the row's only inside the comprehension, where the
            # element's own positions start at 0 again.
            element = self.expression(projection.collection.projection, [0])
            return f"[{element} for r in (r[{index}] or ())]"
        parts = [self.expression(p, position) for p in projection.items]
        if isinstance(projection, PTuple):
            return "(" + "".join(p + ", " for p in parts) + ")"
        keys = [self.name(k, "k") for k in projection.keys] if isinstance(
            projection, PDict) else [repr(n) for n in projection.names]
        if isinstance(projection, PDict):
            return "{" + ", ".join(f"{k}: {p}" for k, p in zip(keys, parts, strict=True)) + "}"
        factory = self.name(projection.factory, "t")
        args = ", ".join(f"{n}={p}" for n, p in zip(projection.names, parts, strict=True))
        return f"{factory}({args})"

    def entity_values(self, source: Source, position: list[int]) -> str:
        """A dict display ``{attr: value, ...}`` of the entity's columns."""
        start = position[0]
        columns = source.meta.columns
        position[0] += len(columns)
        items = [f"{c.attr!r}: {self.read(c, start + i)}" for i, c in enumerate(columns)]
        return "{" + ", ".join(items) + "}"

    def entity(self, source: Source, position: list[int]) -> str:
        start = position[0]
        build = f"_set({self.name(source.meta.entity, 'e')}, " \
                f"{self.entity_values(source, position)})"
        if source.kind == "ref" and not _always_joined(source):
            columns = source.meta.columns
            key = source.meta.primary_key_attrs or tuple(c.attr for c in columns)
            index = start + [c.attr for c in columns].index(key[0])
            return f"(None if r[{index}] is None else {build})"
        return build


def _always_joined(source: Source) -> bool:
    while source.kind == "ref":
        if not source.join_required:
            return False
        assert source.parent is not None
        source = source.parent
    return True


def _new_entity(cls: type[Any], values: dict[str, Any]) -> Any:
    obj = object.__new__(cls)
    obj.__dict__ = values
    return obj


def _generate(projection: Projection, many: bool) -> Callable[[Any], Any]:
    generator = _Generator()
    top = generator.function(projection, many)
    source = "\n".join(generator.functions)
    namespace = dict(generator.namespace)
    exec(compile(source, f"<linkgress row reader {top}>", "exec"), namespace)
    reader: Callable[[Any], Any] = namespace[top]
    return reader


def build_row_reader(projection: Projection) -> Callable[[Sequence[Any]], Any]:
    """A function ``record -> value`` for ``projection`` (generated Python, no reflection)."""
    return _generate(projection, False)


def build_rows_reader(projection: Projection) -> Callable[[Sequence[Sequence[Any]]], list[Any]]:
    """A function ``records -> [value, ...]`` for ``projection``: the row reader's body
    inlined in one loop, saving a Python call per row on large results."""
    return _generate(projection, True)
