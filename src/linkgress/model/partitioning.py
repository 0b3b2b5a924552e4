"""``partition_by`` / ``has_partition``: validated into the partition key and the partitions
of a :class:`~linkgress.schema.snapshot.Table`.

The key is rendered as SQL (``RANGE ("paid_at")``) and each bound as ``FOR VALUES ...`` or
``DEFAULT``; normalisation then replaces both by PostgreSQL's own printing, so they compare
equal to what introspection reads.
"""

from __future__ import annotations

from collections.abc import Mapping

from linkgress.errors import ModelError
from linkgress.model.fluent import EntitySettings
from linkgress.model.meta import ColumnMeta
from linkgress.model.naming import check_identifier, check_text
from linkgress.schema.quoting import quote_ident
from linkgress.schema.snapshot import TablePartition, UniqueConstraint

STRATEGIES = ("range", "list", "hash")


def _key_members(strategy: str, members: tuple[str, ...], by_attr: Mapping[str, ColumnMeta],
                 entity: str) -> list[str]:
    if strategy not in STRATEGIES:
        raise ModelError(f"partition_by strategy must be one of {', '.join(STRATEGIES)}, got "
                         f"{strategy!r}", entity=entity)
    if not members:
        raise ModelError("partition_by names no column", entity=entity)
    if strategy == "list" and len(members) > 1:
        raise ModelError("a list partition key has exactly one member", entity=entity)
    out = []
    for member in members:
        if member.startswith("("):
            check_text(member, what="partition key expression", entity=entity)
            out.append(member)
        elif member in by_attr:
            out.append(by_attr[member].name)
        else:
            raise ModelError(f"partition_by names unknown column {member!r}", entity=entity,
                             field=member)
    return out


def _check_keys_cover(key: list[str], primary_key: tuple[str, ...],
                      uniques: tuple[UniqueConstraint, ...], entity: str) -> None:
    # PostgreSQL's rule, checked before the database is touched.
    for what, columns in (("primary key", primary_key),
                          *((f"unique constraint {u.name!r}", u.columns) for u in uniques)):
        if columns and not all(k in columns for k in key):
            raise ModelError(f"the {what} ({', '.join(columns)}) of a partitioned table must "
                             f"include every partition key column ({', '.join(key)})",
                             entity=entity)


def _partition(name: str, for_values: str | None, default: bool, strategy: str,
               entity: str) -> TablePartition:
    check_identifier(name, what="partition", entity=entity)
    if default == (for_values is not None):
        raise ModelError(f"partition {name!r} needs either for_values= or default=True",
                         entity=entity)
    if default and strategy == "hash":
        raise ModelError(f"partition {name!r}: a hash-partitioned table has no default "
                         "partition", entity=entity)
    if for_values is not None:
        check_text(for_values, what=f"partition {name!r} for_values=", entity=entity)
        return TablePartition(name=name, bound=f"FOR VALUES {for_values}")
    return TablePartition(name=name, bound="DEFAULT")


def build_partitioning(settings: EntitySettings, by_attr: Mapping[str, ColumnMeta],
                       primary_key: tuple[str, ...], uniques: tuple[UniqueConstraint, ...], *,
                       entity: str) -> tuple[str | None, tuple[TablePartition, ...]]:
    """The partition key SQL (None: not partitioned) and the partitions, sorted by name.

    Raises :class:`~linkgress.errors.ModelError` for an unknown strategy or column, a key the
    primary key or a unique constraint does not cover, a partition without (or with both) a
    bound and ``default=True``, two default partitions or two partitions of one name.
    """
    if settings.partition_by is None:
        if settings.partitions:
            raise ModelError("has_partition needs partition_by(...) on the same entity",
                             entity=entity)
        return None, ()
    strategy, members = settings.partition_by
    strategy = strategy.lower()
    key = _key_members(strategy, members, by_attr, entity)
    _check_keys_cover(key, primary_key, uniques, entity)
    partitions = [_partition(n, v, d, strategy, entity) for n, v, d in settings.partitions]
    names = [p.name for p in partitions]
    if len(set(names)) != len(names):
        raise ModelError("two partitions share a name", entity=entity)
    if sum(p.bound == "DEFAULT" for p in partitions) > 1:
        raise ModelError("a partitioned table has at most one default partition",
                         entity=entity)
    elements = ", ".join(k if k.startswith("(") else quote_ident(k) for k in key)
    return (f"{strategy.upper()} ({elements})",
            tuple(sorted(partitions, key=lambda p: p.name)))
