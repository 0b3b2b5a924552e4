"""Pure parts of issue 10's fixes: notes, serial columns, deferrable foreign keys."""

from __future__ import annotations

from dataclasses import replace

import pytest

from linkgress import (
    DbModelConfig,
    Entity,
    ModelError,
    bigserial,
    column,
    integer,
    serial,
    smallserial,
)
from linkgress.migrations.render import Code, column_chain, op_calls, type_expr
from linkgress.model.build import build_model
from linkgress.model.naming import generated_name
from linkgress.schema.ddl import column_definition, foreign_key_clause, render
from linkgress.schema.diff import diff
from linkgress.schema.introspect.parse import parse_column, parse_constraint
from linkgress.schema.operations import CreateForeignKey
from linkgress.schema.partitions import (
    CreatePartitionedIndex,
    Partition,
    partition_index_name,
)
from linkgress.schema.snapshot import Column, ForeignKey, Index, Schema, Table


def test_introspection_notes_are_part_of_the_result_without_internal_markers() -> None:
    current = Schema(notes=("index 'ix' on t has INCLUDE columns", "linkgress:model-sha256=ab"))
    result = diff(current, Schema())
    assert result.notes == ["index 'ix' on t has INCLUDE columns"]


# -- serial columns -------------------------------------------------------------------------------

def _col_row(**over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "table_oid": 1, "position": 1, "name": "id", "type": "integer", "dims": 0,
        "is_array": False, "type_schema": "pg_catalog", "type_name": "int4", "type_kind": "b",
        "nullable": False, "default": "nextval('t_id_seq'::regclass)", "identity": "",
        "generated": "", "comment": None, "serial": True}
    row.update(over)
    return row


def test_serial_builders_spell_their_pseudo_type_in_ddl_only() -> None:
    assert (serial().sql, serial().ddl_sql, serial().display) == ("integer", "serial", "SERIAL")
    assert (bigserial().sql, bigserial().ddl_sql) == ("bigint", "bigserial")
    assert (smallserial().sql, smallserial().ddl_sql) == ("smallint", "smallserial")
    assert column_definition(Column(name="id", type=serial(), nullable=False)) == (
        '"id" serial NOT NULL')


def test_an_owned_nextval_default_is_read_as_serial() -> None:
    assert parse_column(_col_row()) == Column(name="id", type=serial(), nullable=False)
    plain = parse_column(_col_row(serial=False))
    assert (plain.type, plain.default) == (integer(), "nextval('t_id_seq'::regclass)")
    recorded = {k: v for k, v in _col_row().items() if k != "serial"}
    assert parse_column(recorded).type == integer()


def test_serial_and_plain_integer_are_not_converted_but_noted() -> None:
    current = Table(schema="public", name="t",
                    columns=(Column(name="id", type=integer(), nullable=False,
                                    default="nextval('s'::regclass)"),))
    target = replace(current, columns=(Column(name="id", type=serial(), nullable=False),))
    result = diff(Schema(tables=(current,)), Schema(tables=(target,)))
    assert result.operations == []
    assert result.notes == ["column 'public.t.id' is INTEGER in the database and SERIAL in the "
                            "model; linkgress does not convert between serial and plain "
                            "integer columns: change it in a journaled migration"]


def test_scaffold_renders_serial_builders() -> None:
    code = Code()
    assert type_expr(bigserial(), code) == "bigserial()"
    assert "bigserial" in code.linkgress
    assert column_chain(Column(name="id", type=serial(), nullable=False), Code()).startswith(
        't.column("id", serial())')


class _BadSerial(Entity):
    id: int = column(serial(), default=3)


def test_a_serial_column_with_a_default_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="takes no identity, default= or default_sql="):
        build_model({"bad": _BadSerial}, DbModelConfig())


# -- deferrable foreign keys ----------------------------------------------------------------------

FK = ForeignKey(name="b_a_fkey", columns=("a_id",), ref_schema="public", ref_table="a",
                ref_columns=("id",), deferrable=True, initially_deferred=True, match="FULL")


def test_foreign_key_clause_spells_match_and_timing() -> None:
    assert foreign_key_clause(FK) == (
        'CONSTRAINT "b_a_fkey" FOREIGN KEY ("a_id") REFERENCES "public"."a" ("id") MATCH FULL '
        "ON DELETE NO ACTION ON UPDATE NO ACTION DEFERRABLE INITIALLY DEFERRED")
    assert foreign_key_clause(replace(FK, initially_deferred=False, match="SIMPLE")).endswith(
        "ON UPDATE NO ACTION DEFERRABLE")


def test_foreign_key_rows_carry_their_timing() -> None:
    row = {"kind": "f", "name": "b_a_fkey", "columns": ["a_id"], "ref_schema": "public",
           "ref_table": "a", "ref_columns": ["id"], "on_delete": "a", "on_update": "a",
           "deferrable": True, "initially_deferred": True, "match": "f"}
    assert parse_constraint(row) == FK


def test_only_the_timing_differs_is_a_change() -> None:
    table = Table(schema="public", name="b",
                  columns=(Column(name="a_id", type=integer()),), foreign_keys=(FK,))
    plain = replace(table, foreign_keys=(replace(FK, deferrable=False,
                                                 initially_deferred=False),))
    ops = diff(Schema(tables=(table,)), Schema(tables=(plain,))).operations
    assert [op.type for op in ops] == ["drop_foreign_key", "create_foreign_key"]


def test_scaffold_renders_fk_timing() -> None:
    op = CreateForeignKey(schema="public", table_name="b", foreign_key=FK)
    (line,) = op_calls(op, Code())
    assert "deferrable=True" in line and "initially_deferred=True" in line
    assert 'match="full"' in line


class _A(Entity):
    id: int


class _DeferredOnly(Entity):
    id: int
    a_id: int = column(references=_A, initially_deferred=True)


class _BadMatch(Entity):
    id: int
    a_id: int = column(references=_A, match="partial")


class _NoReference(Entity):
    id: int
    a_id: int = column(deferrable=True)


class _Named(Entity):
    id: int
    a_id: int = column(references=_A, constraint_name="fk_named", deferrable=True)


@pytest.mark.parametrize(("entity", "message"), [
    (_DeferredOnly, "initially_deferred=True needs deferrable=True"),
    (_BadMatch, "match must be 'simple' or 'full'"),
    (_NoReference, "deferrable need references="),
])
def test_invalid_fk_options_are_model_errors(entity: type[Entity], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build_model({"a": _A, "b": entity}, DbModelConfig())


def test_constraint_name_and_deferrable_reach_the_model() -> None:
    (fk,) = build_model({"a": _A, "b": _Named}, DbModelConfig()).entity(_Named).foreign_keys
    assert (fk.name, fk.deferrable, fk.initially_deferred, fk.match) == (
        "fk_named", True, False, "SIMPLE")


# -- indexes on partitioned tables ----------------------------------------------------------------

def test_an_index_on_a_partitioned_table_attaches_only_its_own_partition_indexes() -> None:
    op = CreatePartitionedIndex(
        schema="public", table_name="payment",
        index=Index(name="ix_pay", columns=("customer_id",)),
        partitions=(Partition("public", "p2023", "public", "payment", True),
                    Partition("public", "p2023_h1", "public", "p2023", False)))
    assert render(op) == [
        'CREATE INDEX "ix_pay" ON ONLY "public"."payment" USING btree ("customer_id")',
        'CREATE INDEX "p2023_ix_pay" ON ONLY "public"."p2023" USING btree ("customer_id")',
        'ALTER INDEX "public"."ix_pay" ATTACH PARTITION "public"."p2023_ix_pay"',
        'CREATE INDEX "p2023_h1_ix_pay" ON "public"."p2023_h1" USING btree ("customer_id")',
        'ALTER INDEX "public"."p2023_ix_pay" ATTACH PARTITION "public"."p2023_h1_ix_pay"']
    assert (op.type, op.describe()) == ("create_index", "Create index 'ix_pay'")
    assert partition_index_name("p" * 60, "ix_pay") == generated_name("p" * 60, "ix_pay")
