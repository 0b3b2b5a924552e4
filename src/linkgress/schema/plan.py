"""Create-all and drop-all plans (pure): what ``ensure_created`` / ``ensure_deleted`` run.

Creation follows the seed's order: schemas, enums, domains, sequences, tables (with columns,
primary keys, unique and check constraints), then foreign keys — so reference cycles work — then
indexes, then the model's views in their creation order. Deletion is the reverse.
"""

from __future__ import annotations

from dataclasses import replace

from linkgress.schema import operations as ops
from linkgress.schema.diff.partitions import create_partitions
from linkgress.schema.domain_ops import CreateDomain, DropDomain
from linkgress.schema.existing import ExistingObjects
from linkgress.schema.snapshot import Schema


def plan_create(target: Schema, existing: ExistingObjects | None = None) -> list[ops.Operation]:
    """Operations creating every object of ``target`` that ``existing`` lacks (all if None)."""
    have = existing
    out: list[ops.Operation] = []
    out += [ops.CreateSchema(schema_name=s) for s in target.schemas
            if s != "public" and (have is None or s not in have.schemas)]
    out += [ops.CreateEnum.of(e) for e in target.enums if have is None or e.key not in have.enums]
    out += [CreateDomain(domain=d) for d in target.domains
            if have is None or d.key not in have.domains]
    out += [ops.CreateSequence(sequence=s) for s in target.sequences
            if have is None or s.key not in have.sequences]
    new_tables = {t.key for t in target.tables if have is None or t.key not in have.tables}
    out += [ops.CreateTable(table=replace(t, indexes=(), foreign_keys=(), partitions=()))
            for t in target.tables if t.key in new_tables]
    for t in target.tables:
        if t.key in new_tables:
            continue
        # An existing table only gets its missing named constraints; columns are migrate()'s job.
        assert have is not None
        names = {n for s, tb, n in have.constraints if (s, tb) == t.key}
        out += [ops.CreateUniqueConstraint(schema=t.schema, table_name=t.name, unique=u)
                for u in t.uniques if u.name not in names]
        out += [ops.CreateCheckConstraint(schema=t.schema, table_name=t.name, check=c)
                for c in t.checks if c.name not in names]
    for t in target.tables:
        names = set() if have is None else {n for s, tb, n in have.constraints if (s, tb) == t.key}
        out += [ops.CreateForeignKey(schema=t.schema, table_name=t.name, foreign_key=fk)
                for fk in t.foreign_keys if fk.name not in names]
    for t in target.tables:
        out += [ops.CreateIndex(schema=t.schema, table_name=t.name, index=ix) for ix in t.indexes
                if have is None or (t.schema, ix.name) not in have.indexes]
    # Partitions after the indexes: each is created with its own copy of the parent's indexes.
    out += [op for t in target.tables for op in create_partitions(t)
            if have is None or (t.schema, op.partition.name) not in have.tables]
    out += [ops.CreateView(view=v) for v in target.views if have is None or v.key not in have.views]
    return out


def plan_drop(owned: Schema, existing: ExistingObjects, *,
              cascade: bool = False) -> list[ops.Operation]:
    """Operations dropping the objects of ``owned`` that exist, in reverse creation order.

    Schemas are not included: the caller drops a schema only when nothing else lives in it.
    ``cascade`` drops the tables with CASCADE (their dependent views and foreign keys go too).
    """
    out: list[ops.Operation] = [ops.DropView(view=v, cascade=cascade)
                                for v in reversed(owned.views) if v.key in existing.views]
    tables = [t for t in owned.tables if t.key in existing.tables]
    for t in tables:
        out += [ops.DropForeignKey(schema=t.schema, table_name=t.name, foreign_key=fk)
                for fk in t.foreign_keys
                if (t.schema, t.name, fk.name) in existing.constraints]
    out += [ops.DropTable(table=t, cascade=cascade) for t in reversed(tables)]
    out += [ops.DropSequence(sequence=s) for s in reversed(owned.sequences)
            if s.key in existing.sequences]
    out += [DropDomain(domain=d) for d in reversed(owned.domains) if d.key in existing.domains]
    out += [ops.DropEnum(schema=e.schema, enum_name=e.name, values=e.values)
            for e in reversed(owned.enums) if e.key in existing.enums]
    return out


def merge_schemas(first: Schema, second: Schema) -> Schema:
    """Objects of both, ``first`` winning on name clashes (model + recorded state)."""
    def merged(a: tuple, b: tuple) -> tuple:  # type: ignore[type-arg]
        keys = {x.key for x in a}
        return a + tuple(x for x in b if x.key not in keys)

    return Schema(
        schemas=first.schemas + tuple(s for s in second.schemas if s not in first.schemas),
        enums=merged(first.enums, second.enums),
        sequences=merged(first.sequences, second.sequences),
        tables=merged(first.tables, second.tables),
        views=merged(first.views, second.views),
        domains=merged(first.domains, second.domains),
    )
