"""Row readers: a projection turned into a plain Python function ``record -> value``.

:func:`build_row_reader` generates that function once per query shape, so that no per-row
reflection or name lookup happens: entities are built with ``object.__new__`` and one
``__dict__`` assignment, values are read by position and converted by
:mod:`linkgress.query.convert`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from linkgress.query.convert import EnumLookup, decoder_for
from linkgress.query.ctes import CteRow
from linkgress.query.projection import PDict, PEntity, PList, Projection, PTuple, PValue

if TYPE_CHECKING:
    from linkgress.model.meta import ColumnMeta
    from linkgress.query.proxies import Source

__all__ = ["build_row_reader", "build_rows_reader"]


# --- code generation ----------------------------------------------------------------------------


class _Generator:
    """Emits the source of one row reader; names every non-literal object it needs."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"_new": object.__new__, "_loads": json.loads,
                                          "_set": _new_entity, "_map": map,
                                          "_repeat": itertools.repeat}
        self.functions: list[str] = []
        #: Per-result dicts (``primary key -> entity``) of the shared entities, by entity class;
        #: only the all-rows reader shares (``many``).
        self.shared: dict[type[Any], str] = {}
        self.many = False

    def name(self, obj: Any, prefix: str) -> str:
        name = f"_{prefix}{len(self.namespace)}"
        self.namespace[name] = obj
        return name

    def read(self, meta: ColumnMeta, index: int, local: str = "") -> str:
        """The expression reading column ``meta`` at ``r[index]`` (or local ``c{index}``),
        converted (inlined for the common conversions: a dict lookup for enums,
        ``json.loads`` for JSON)."""
        value = f"{local}{index}" if local else f"r[{index}]"
        if meta.enum_class is not None and not meta.type.dims:
            return f"{self.name(EnumLookup(meta.enum_class), 'c')}[{value}]"
        if meta.type.name in ("json", "jsonb") and not meta.type.dims:
            return f"(_loads({value}) if {value}.__class__ is str else {value})"
        conv = decoder_for(meta)
        return value if conv is None else f"{self.name(conv, 'c')}({value})"

    def function(self, projection: Projection, many: bool = False) -> str:
        """Define ``def _fN(r)`` reading ``projection`` from position 0 — or, with ``many``,
        ``def _fN(rows)`` returning the list of every row's value (no call per row); return
        its name."""
        position = [0]
        name = f"_f{len(self.functions)}_{len(self.namespace)}"
        self.namespace[name] = None  # reserve the name
        self.many = many
        if (isinstance(projection, PEntity) and projection.source.kind == "root"
                and not issubclass(projection.source.meta.entity, CteRow)):
            # The common case, as statements: no helper call per row.
            self.functions.append(self.entity_function(name, projection.source, many))
            return name
        if many and _entity_tuple(projection):  # a join's rows without select()
            assert isinstance(projection, PTuple)
            self.functions.append(self.entities_function(name, projection))
            return name
        body = self.expression(projection, position)
        if many:
            self.functions.append(f"def {name}(rows):\n{self.shared_dicts()}"
                                  f"    return [{body} for r in rows]\n")
        else:
            self.functions.append(f"def {name}(r):\n    return {body}\n")
        return name

    def entity_function(self, name: str, source: Source, many: bool) -> str:
        """The source of ``_fN`` building the root entity of each row.

        With plain attribute assignment (no ``__setattr__`` of the entity's own), the values are
        stored one attribute at a time (``STORE_ATTR`` is specialised for instance attributes:
        about twice as fast as building a dict and assigning ``__dict__``), else as one dict.
        """
        cls_name = self.name(source.meta.entity, "e")
        columns = source.meta.columns
        plain = _plain_attributes(source.meta.entity, [c.attr for c in columns])
        if not many:
            body = ("".join(f"    o.{c.attr} = {self.read(c, i)}\n" for i, c in enumerate(columns))
                    if plain else f"    o.__dict__ = {self.entity_values(source, [0])}\n")
            return f"def {name}(r):\n    o = _new({cls_name})\n{body}    return o\n"
        # Unpacking each record into locals is a little faster than indexing it; the entity's
        # columns are the whole record, in order.
        names = "".join(f"c{i}, " for i in range(len(columns)))
        if plain:
            # Made and filled one at a time, each object keeps its values inline (CPython's
            # shared-key instance layout, about 140 bytes per 6-column entity instead of 340
            # with a dict of its own) — and this is also the fastest loop.
            body = "".join(f"        o.{c.attr} = {self.read(c, i, 'c')}\n"
                           for i, c in enumerate(columns))
            return (f"def {name}(rows):\n    out = []\n    add = out.append\n"
                    f"    for {names} in rows:\n        o = _new({cls_name})\n{body}"
                    "        add(o)\n    return out\n")
        # Making every object first (one C-level loop), then giving each its dict in a zip
        # loop, saves the per-row call and append.
        values = self.entity_values(source, [0], "c")
        return (f"def {name}(rows):\n    out = list(_map(_new, _repeat({cls_name}, len(rows))))\n"
                f"    for o, ({names}) in zip(out, rows):\n        o.__dict__ = {values}\n"
                "    return out\n")

    def entities_function(self, name: str, projection: PTuple) -> str:
        """The source of ``_fN(rows)`` building a tuple of entities per row (one per joined
        source) as statements: no call per entity; a missed left join's entity is None."""
        lines: list[str] = []
        position = 0
        for k, item in enumerate(projection.items):
            assert isinstance(item, PEntity)
            source = item.source
            columns = source.meta.columns
            make = [f"o{k} = _new({self.name(source.meta.entity, 'e')})"] + [
                f"o{k}.{c.attr} = {self.read(c, position + i, 'c')}"
                for i, c in enumerate(columns)]
            key = self.shared_key(source, [f"c{position + i}" for i in range(len(columns))])
            if key is not None:  # a joined table's row: one object per key in the result
                shared = self.shared_dict(source)
                make = [f"o{k} = {shared}.get({key})", f"if o{k} is None:",
                        *(f"    {line}" for line in make), f"    {shared}[{key}] = o{k}"]
            if not source.always_present:
                index = position + _present_position(source)
                make = [f"if c{index} is None:", f"    o{k} = None", "else:",
                        *(f"    {line}" for line in make)]
            lines += make
            position += len(columns)
        unpack = "".join(f"c{i}, " for i in range(position))
        body = "".join(f"        {line}\n" for line in lines)
        row = "".join(f"o{k}, " for k in range(len(projection.items)))
        return (f"def {name}(rows):\n{self.shared_dicts()}    out = []\n    add = out.append\n"
                f"    for {unpack}in rows:\n{body}        add(({row}))\n    return out\n")

    def shared_key(self, source: Source, values: list[str]) -> str | None:
        """The expression of ``source``'s primary key among ``values`` (the expressions of its
        columns, in order) when its entities are shared within a result, else None: the
        all-rows reader shares the entities of joined tables and navigations (not the query's
        own rows, which are one per row), so that a row met on many rows is one object."""
        positions = _key_positions(source)
        if not self.many or source.kind == "root" or not positions:
            return None
        parts = [values[i] for i in positions]
        return parts[0] if len(parts) == 1 else "(" + "".join(p + ", " for p in parts) + ")"

    def shared_dict(self, source: Source) -> str:
        """The local name of the per-result dict of ``source``'s entity class."""
        cls = source.meta.entity
        if cls not in self.shared:
            self.shared[cls] = f"s{len(self.shared)}"
        return self.shared[cls]

    def shared_dicts(self) -> str:
        """The lines making the per-result dicts, at the top of an all-rows reader."""
        return "".join(f"    {name} = {{}}\n" for name in self.shared.values())

    def expression(self, projection: Projection, position: list[int]) -> str:
        if isinstance(projection, PValue):
            index = position[0]
            position[0] += 1
            expr = projection.expr
            if expr.meta is not None:  # a column, or a scalar subquery of one: read as it is
                return self.read(expr.meta, index)
            if expr.category == "json":  # an extraction (o.data["k"]) reads back decoded
                return f"(_loads(r[{index}]) if r[{index}].__class__ is str else r[{index}])"
            return f"r[{index}]"
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

    def maker(self, source: Source) -> str:
        """A function ``(value, ...) -> entity`` storing one attribute per column (so the
        values stay inline, as in :meth:`entity_function`); returns its name."""
        cls_name = self.name(source.meta.entity, "e")
        name = f"_m{len(self.functions)}_{len(self.namespace)}"
        self.namespace[name] = None  # reserve the name
        columns = source.meta.columns
        params = ", ".join(f"c{i}" for i in range(len(columns)))
        body = "".join(f"    o.{c.attr} = c{i}\n" for i, c in enumerate(columns))
        self.functions.append(
            f"def {name}({params}):\n    o = _new({cls_name})\n{body}    return o\n")
        return name

    def entity_values(self, source: Source, position: list[int], local: str = "") -> str:
        """A dict display ``{attr: value, ...}`` of the entity's columns."""
        start = position[0]
        columns = source.meta.columns
        position[0] += len(columns)
        items = [f"{c.attr!r}: {self.read(c, start + i, local)}" for i, c in enumerate(columns)]
        return "{" + ", ".join(items) + "}"

    def entity(self, source: Source, position: list[int]) -> str:
        start = position[0]
        columns = source.meta.columns
        if issubclass(source.meta.entity, CteRow):  # a CTE of dicts: its row is a dict
            build = self.entity_values(source, position)
        else:
            if _plain_attributes(source.meta.entity, [c.attr for c in columns]):
                args = ", ".join(self.read(c, start + i) for i, c in enumerate(columns))
                position[0] += len(columns)
                build = f"{self.maker(source)}({args})"
            else:
                build = f"_set({self.name(source.meta.entity, 'e')}, " \
                        f"{self.entity_values(source, position)})"
            shared_key = self.shared_key(source,
                                         [f"r[{start + i}]" for i in range(len(columns))])
            if shared_key is not None:  # one object per key in the result (see shared_key)
                shared = self.shared_dict(source)
                build = (f"({shared}.get({shared_key}) or "
                         f"{shared}.setdefault({shared_key}, {build}))")
        if not source.always_present:
            return f"(None if r[{start + _present_position(source)}] is None else {build})"
        return build


def _key_positions(source: Source) -> list[int]:
    """The positions of ``source``'s primary-key columns among its columns (empty without a
    primary key)."""
    attrs = [c.attr for c in source.meta.columns]
    pk = source.meta.primary_key_attrs
    return [attrs.index(a) for a in pk] if all(a in attrs for a in pk) else []


def _present_position(source: Source) -> int:
    """The position of the column that tells whether a left-joined ``source`` found a row
    (NULL when it did not): its first primary-key column, else its first column."""
    return (_key_positions(source) or [0])[0]


def _plain_attributes(cls: type[Any], attrs: list[str]) -> bool:
    """True when ``o.attr = v`` on a ``cls`` instance just stores ``v`` in its ``__dict__``."""
    if cls.__setattr__ is not object.__setattr__:  # type: ignore[comparison-overlap]
        return False
    return not any(hasattr(type(getattr(cls, a, None)), "__set__") for a in attrs)


def _entity_tuple(projection: Projection) -> bool:
    """True for a tuple of entities whose attributes are plainly assigned."""
    return isinstance(projection, PTuple) and all(
        isinstance(item, PEntity) and not issubclass(item.source.meta.entity, CteRow)
        and _plain_attributes(
            item.source.meta.entity, [c.attr for c in item.source.meta.columns])
        for item in projection.items)


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
