"""The per-element options of ``has_index`` (operator classes, collations, order, INCLUDE),
validated and turned into the canonical :class:`~linkgress.schema.snapshot.Index` fields.

``opclasses``, ``collations`` and ``nulls`` take one value (for every key member) or a mapping
from member — the attribute name, or an expression exactly as written in ``has_index`` — to
its value. ``descending`` is True (every key member) or the members sorted descending.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from linkgress.errors import ModelError
from linkgress.model.fluent import IndexSettings
from linkgress.model.naming import check_identifier

NULLS_ORDERS = ("first", "last")


def _per_member(value: str | Mapping[str, str] | None, ix: IndexSettings, *, option: str,
                entity: str) -> tuple[str | None, ...]:
    """One entry per key member of ``ix`` (None where ``value`` says nothing)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) * len(ix.members)
    unknown = [m for m in value if m not in ix.members]
    if unknown:
        raise ModelError(f"index {ix.name!r} {option}= names {unknown[0]!r}, which is not one "
                         f"of its key members {list(ix.members)!r}", entity=entity)
    return tuple(value.get(m) for m in ix.members)


def _names(values: tuple[str | None, ...], ix: IndexSettings, *, option: str,
           entity: str) -> tuple[str | None, ...]:
    for v in values:
        if v is not None:
            check_identifier(v, what=f"index {ix.name!r} {option}", entity=entity)
    return values


def _descending(ix: IndexSettings, entity: str) -> tuple[bool, ...]:
    if isinstance(ix.descending, bool):
        return (ix.descending,) * len(ix.members)
    unknown = [m for m in ix.descending if m not in ix.members]
    if unknown:
        raise ModelError(f"index {ix.name!r} descending= names {unknown[0]!r}, which is not "
                         f"one of its key members {list(ix.members)!r}", entity=entity)
    return tuple(m in ix.descending for m in ix.members)


def _nulls(ix: IndexSettings, entity: str) -> tuple[str | None, ...]:
    nulls = _per_member(ix.nulls, ix, option="nulls", entity=entity)
    bad = [n for n in nulls if n is not None and n not in NULLS_ORDERS]
    if bad:
        raise ModelError(f"index {ix.name!r} nulls= must be 'first' or 'last', got {bad[0]!r}",
                         entity=entity)
    return nulls


def index_options(ix: IndexSettings, columns: Mapping[str, str], *,
                  entity: str) -> dict[str, Any]:
    """``include``, ``opclasses``, ``collations``, ``descending`` and ``nulls`` for the
    :class:`~linkgress.schema.snapshot.Index` of ``ix`` (``columns`` maps attribute names to
    column names); pass the result through ``canonical_index``.

    Raises :class:`~linkgress.errors.ModelError` naming the index and the bad option.
    """
    include = []
    for member in ix.include:
        if member not in columns:
            raise ModelError(f"index {ix.name!r} include= names unknown column {member!r} "
                             "(INCLUDE takes columns, not expressions)", entity=entity,
                             field=member)
        include.append(columns[member])
    if include and ix.method not in (None, "btree", "gist", "spgist"):
        raise ModelError(f"index {ix.name!r}: method {ix.method!r} does not support include=",
                         entity=entity)
    return {
        "include": tuple(include),
        "opclasses": _names(_per_member(ix.opclasses, ix, option="opclasses", entity=entity),
                            ix, option="operator class", entity=entity),
        "collations": _names(_per_member(ix.collations, ix, option="collations",
                                         entity=entity),
                             ix, option="collation", entity=entity),
        "descending": _descending(ix, entity),
        "nulls": _nulls(ix, entity),
    }
