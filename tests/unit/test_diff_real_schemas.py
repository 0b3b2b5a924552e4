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
from linkgress.migrations.render import Code, column_chain, type_expr
from linkgress.model.build import build_model
from linkgress.schema.ddl import column_definition
from linkgress.schema.diff import diff
from linkgress.schema.introspect.parse import parse_column
from linkgress.schema.snapshot import Column, Schema, Table


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
