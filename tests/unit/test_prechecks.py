"""Which operations get a data pre-check (pure; the checks themselves run in
tests/integration/test_prechecks.py)."""

from __future__ import annotations

from linkgress.model.types import integer, text, varchar
from linkgress.schema import operations as ops
from linkgress.schema.prechecks import row_checks
from linkgress.schema.snapshot import (
    CheckConstraint,
    Column,
    PrimaryKey,
    Schema,
    Table,
    UniqueConstraint,
)

TABLE = Table(schema="public", name="items",
              columns=(Column(name="id", type=integer()), Column(name="name", type=text())),
              primary_key=PrimaryKey(name="items_pkey", columns=("id",)))
UNIQUE = ops.CreateUniqueConstraint(table_name="items", unique=UniqueConstraint(
    name="u", columns=("name",)))
CURRENT = Schema(tables=(TABLE,))


def test_operations_on_new_or_renamed_tables_are_not_checked() -> None:
    on_new = ops.CreateUniqueConstraint(table_name="other", unique=UNIQUE.unique)
    on_new_column = ops.CreateUniqueConstraint(table_name="items", unique=UniqueConstraint(
        name="u2", columns=("sku",)))
    assert [c.operation for c in row_checks([UNIQUE, on_new, on_new_column], CURRENT)] == [
        UNIQUE]
    renamed = ops.RenameTable(table_name="items", new_name="goods")
    assert row_checks([renamed, UNIQUE], CURRENT) == []


def test_only_data_dependent_changes_are_checked() -> None:
    name = TABLE.columns[1]
    widening = ops.AlterColumn(table_name="items", old=Column(name="name", type=varchar(10)),
                               new=Column(name="name", type=varchar(50)))
    added = ops.AddColumn(table_name="items", column=Column(name="note", type=text()))
    not_null = ops.AlterColumn(table_name="items", old=name,
                               new=Column(name="name", type=text(), nullable=False))
    narrowing = ops.AlterColumn(table_name="items", old=name,
                                new=Column(name="name", type=varchar(5)), lossy=True)
    checks = row_checks([widening, added, not_null, narrowing], CURRENT)
    assert [(c.operation, c.problem) for c in checks] == [
        (not_null, "hold NULL, so SET NOT NULL would fail"),
        (narrowing, "do not fit VARCHAR(5)")]
    assert all(not c.trial and c.sql.endswith("LIMIT 5") for c in checks)
    assert 'FROM "public"."items" AS t WHERE t."name" IS NULL' in checks[0].sql


def test_checks_reading_a_column_the_plan_adds_or_retypes_are_skipped() -> None:
    added = ops.AddColumn(table_name="items", column=Column(name="c0", type=integer()))
    check = ops.CreateCheckConstraint(table_name="items", check=CheckConstraint(
        name="c0_positive", expression="c0 > 0"))
    retyped = ops.AlterColumn(table_name="items", old=TABLE.columns[1],
                              new=Column(name="name", type=integer()), lossy=True)
    checks = row_checks([added, check, UNIQUE], CURRENT)
    assert [c.operation for c in checks] == [UNIQUE]  # the unique column is unchanged
    checks = row_checks([retyped, UNIQUE], CURRENT)
    assert [c.operation for c in checks] == [retyped]  # its own cast check, not the unique
