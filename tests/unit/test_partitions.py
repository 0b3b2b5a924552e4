"""Partitioned tables: model building, DDL, the differ's operations, their reverses and their
order (no database)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from linkgress import Entity, ModelError, column, integer, text
from linkgress.model.build import build_model
from linkgress.model.fluent import DbModelConfig
from linkgress.schema.ddl import create_table_sql, render
from linkgress.schema.diff import order_operations
from linkgress.schema.introspect.parse import parse_partitioning
from linkgress.schema.partition_ops import ChangePartitionBound, CreatePartition, DropPartition
from linkgress.schema.snapshot import Index, Schema, TablePartition
from tests.unit.test_diff_support import col, db, notes_of, ops_of, table


class Payment(Entity):
    id: int = column(identity=True)
    paid_on: dt.date
    region: str = column(text())
    amount: int = column(integer())


def _built(setup: Any) -> Any:
    config = DbModelConfig()
    setup(config.entity(Payment))
    (entity,) = build_model({"payment": Payment}, config).entities
    return entity


def test_partition_by_and_partitions_become_the_table_key_and_bounds() -> None:
    entity = _built(lambda e: e.has_key("id", "paid_on").partition_by("range", "paid_on")
                    .has_partition("p_2024", "FROM ('2024-01-01') TO ('2025-01-01')")
                    .has_partition("p_default", default=True))
    assert entity.partition_by == 'RANGE ("paid_on")'
    assert entity.partitions == (
        TablePartition(name="p_2024", bound="FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"),
        TablePartition(name="p_default", bound="DEFAULT"))


@pytest.mark.parametrize(("setup", "message"), [
    (lambda e: e.has_partition("p", default=True), "has_partition needs partition_by"),
    (lambda e: e.has_key("id", "region").partition_by("interval", "region"),
     "strategy must be one of range, list, hash"),
    (lambda e: e.partition_by("list", "region"), r"primary key \(id\) of a partitioned"),
    (lambda e: e.has_key("id", "region").partition_by("list", "region", "id"),
     "exactly one member"),
    (lambda e: e.has_key("id", "region").partition_by("list", "nope"), "unknown column 'nope'"),
    (lambda e: e.has_key("id", "region").partition_by("list", "region").has_partition("p"),
     "needs either for_values= or default=True"),
    (lambda e: e.has_key("id", "region").partition_by("hash", "region")
     .has_partition("p", default=True), "no default partition"),
    (lambda e: e.has_key("id", "region").partition_by("list", "region")
     .has_partition("a", default=True).has_partition("b", default=True),
     "at most one default partition"),
    (lambda e: e.has_key("id", "region").partition_by("list", "region")
     .has_partition("a", "IN ('x')").has_partition("a", "IN ('y')"), "share a name"),
])
def test_bad_partitioning_is_a_model_error(setup: Any, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        _built(setup)


P22 = TablePartition(name="pay_2022", bound="FOR VALUES FROM ('2022-01-01') TO ('2023-01-01')")
P23 = TablePartition(name="pay_2023", bound="FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')")
IX = Index(name="ix_pay_amount", columns=("amount",), descending=(True,))
PAY = table("pay", col("paid_on"), col("amount", integer()), partition_by="RANGE (paid_on)",
            partitions=(P22, P23), indexes=(IX,))


def test_create_table_is_partitioned_and_a_partition_is_made_then_attached() -> None:
    assert create_table_sql(replace(PAY, partitions=()))[0].endswith(
        "\n) PARTITION BY RANGE (paid_on)")
    assert render(CreatePartition(table_name="pay", partition=P22, indexes=(IX,))) == [
        'CREATE TABLE "public"."pay_2022" (LIKE "public"."pay" INCLUDING DEFAULTS '
        "INCLUDING CONSTRAINTS INCLUDING GENERATED)",
        'CREATE INDEX "pay_2022_ix_pay_amount" ON "public"."pay_2022" USING btree '
        '("amount" DESC)',
        'ALTER TABLE "public"."pay" ATTACH PARTITION "public"."pay_2022" '
        "FOR VALUES FROM ('2022-01-01') TO ('2023-01-01')"]
    assert render(DropPartition(table_name="pay", partition=P22)) == [
        'ALTER TABLE "public"."pay" DETACH PARTITION "public"."pay_2022"',
        'DROP TABLE "public"."pay_2022"']


def test_partition_operations_reverse_without_a_database() -> None:
    create = CreatePartition(table_name="pay", partition=P22, indexes=(IX,))
    assert create.reverse() == DropPartition(table_name="pay", partition=P22, indexes=(IX,))
    assert create.reverse().reverse() == create
    assert DropPartition(table_name="pay", partition=P22).is_destructive
    moved = replace(P22, bound="FOR VALUES FROM ('2021-01-01') TO ('2023-01-01')")
    change = ChangePartitionBound(table_name="pay", partition=moved, old_bound=P22.bound)
    assert change.reverse() == ChangePartitionBound(table_name="pay", partition=P22,
                                                    old_bound=moved.bound)
    assert "Change the bound of partition 'pay_2022'" in change.describe()


def test_the_differ_adds_rebinds_and_drops_managed_partitions_only() -> None:
    moved = replace(P22, bound="FOR VALUES FROM ('2021-01-01') TO ('2023-01-01')")
    p24 = TablePartition(name="pay_2024", bound="DEFAULT")
    target = db(replace(PAY, partitions=(moved, p24)))
    assert sorted(op.type for op in ops_of(db(PAY), target, managed=db(PAY))) == [
        "change_partition_bound", "create_partition", "drop_partition"]
    # Not recorded as managed: pay_2023 is left alone, with a note.
    assert [op.type for op in ops_of(db(PAY), target)] == [
        "change_partition_bound", "create_partition"]
    assert any("unmanaged partition 'public.pay.pay_2023'" in n
               for n in notes_of(db(PAY), target))
    assert ops_of(db(PAY), db(PAY)) == []


def test_a_new_partitioned_table_creates_its_partitions_after_its_indexes() -> None:
    ordered = [op.type for op in ops_of(Schema(), db(PAY))]
    assert ordered == ["create_table", "create_index", "create_partition", "create_partition"]
    drop = DropPartition(table_name="pay", partition=P22)
    drop_table = ops_of(db(PAY), db(), managed=db(PAY))
    assert [op.type for op in drop_table] == ["drop_table"]  # its partitions go with it
    assert order_operations([*drop_table, drop]) == [drop, *drop_table]


def test_a_different_partition_key_is_a_note_never_an_operation() -> None:
    plain = replace(PAY, partition_by=None, partitions=())
    assert ops_of(db(plain), db(PAY)) == []
    assert any("cannot change how an existing table is partitioned" in n
               for n in notes_of(db(plain), db(PAY)))


def test_introspected_partitioning() -> None:
    row = {"partition_by": "LIST (region)",
           "partitions": '[["p_eu", "FOR VALUES IN (\'eu\')"], ["p_other", "DEFAULT"]]'}
    assert parse_partitioning(row) == {"partition_by": "LIST (region)", "partitions": (
        TablePartition(name="p_eu", bound="FOR VALUES IN ('eu')"),
        TablePartition(name="p_other", bound="DEFAULT"))}
    assert parse_partitioning({"partition_by": None, "partitions": None}) == {}
    assert parse_partitioning({}) == {}


def test_migration_files_write_partitioned_tables_and_partitions_as_sql() -> None:
    from linkgress.migrations.render import render_migration
    from linkgress.schema import operations as ops

    source = render_migration("M", [
        ops.CreateTable(table=replace(PAY, partitions=(), indexes=())),
        CreatePartition(table_name="pay", partition=P22)], docstring="partitions")
    assert "PARTITION BY RANGE (paid_on)" in source
    assert "ATTACH PARTITION" in source and "DETACH PARTITION" in source  # up and down
