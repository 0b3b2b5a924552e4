"""Domains (operations, DDL, differ, catalog rows) and the column DDL of generated columns,
identity options and ``using=`` — pure, no database."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from linkgress import DbModelConfig, Entity, ModelError, column, integer, pg_type
from linkgress.migrations.render import Code, op_calls
from linkgress.model.build import build_model
from linkgress.model.types import varchar
from linkgress.schema.ddl import column_definition, render
from linkgress.schema.diff import diff
from linkgress.schema.diff.ordering import phase
from linkgress.schema.domain_ops import DOMAIN_OPERATIONS, AlterDomain, CreateDomain, DropDomain
from linkgress.schema.from_model import schema_from_model
from linkgress.schema.introspect.casts import probe_sql, type_changes
from linkgress.schema.introspect.parse import parse_column, parse_domain
from linkgress.schema.operations import AlterColumn, CreateEnum, CreateTable, DropEnum
from linkgress.schema.snapshot import Column, Domain, Schema

POSITIVE = Domain(schema="public", name="positive_int", base_type=integer(), not_null=True,
                  default="1", check="(VALUE > 0)")
CODE = Domain(schema="app", name="code", base_type=varchar(10))


@pytest.mark.parametrize(("op", "sql", "line"), [
    (CreateDomain(domain=POSITIVE),
     ['CREATE DOMAIN "public"."positive_int" AS integer DEFAULT 1 NOT NULL '
      'CONSTRAINT "positive_int_check" CHECK ((VALUE > 0))'],
     "Create domain 'positive_int' (INTEGER)"),
    (CreateDomain(domain=CODE), ['CREATE DOMAIN "app"."code" AS character varying(10)'],
     "Create domain 'app.code' (VARCHAR(10))"),
    (DropDomain(domain=CODE), ['DROP DOMAIN "app"."code"'], "Drop domain 'app.code'"),
    (AlterDomain(old=POSITIVE, new=replace(POSITIVE, default=None, not_null=False,
                                           check="(VALUE >= 0)")),
     ['ALTER DOMAIN "public"."positive_int" DROP DEFAULT',
      'ALTER DOMAIN "public"."positive_int" DROP NOT NULL',
      'ALTER DOMAIN "public"."positive_int" DROP CONSTRAINT "positive_int_check"',
      'ALTER DOMAIN "public"."positive_int" ADD CONSTRAINT "positive_int_check" '
      'CHECK ((VALUE >= 0))'],
     "Alter domain 'positive_int' (default, not null, check)"),
    (AlterDomain(old=replace(CODE, check="(a)", check_names=("x", "y")),
                 new=replace(CODE, default="'n'::character varying")),
     ['ALTER DOMAIN "app"."code" SET DEFAULT \'n\'::character varying',
      'ALTER DOMAIN "app"."code" DROP CONSTRAINT "x"',
      'ALTER DOMAIN "app"."code" DROP CONSTRAINT "y"'],
     "Alter domain 'app.code' (default, check)"),
])
def test_domain_sql_describe_and_reverse(op: object, sql: list[str], line: str) -> None:
    assert render(op) == sql
    assert op.describe() == line  # type: ignore[attr-defined]
    assert op.reverse().reverse() == op  # type: ignore[attr-defined]


def test_every_domain_operation_has_a_renderer_a_phase_and_a_scaffold_call() -> None:
    for kind in DOMAIN_OPERATIONS:
        assert kind in render.registry
    op = CreateDomain(domain=CODE)
    assert phase(CreateEnum(enum_name="e", values=("a",))) <= phase(op) \
        < phase(CreateTable(table=None))  # type: ignore[arg-type]
    assert phase(DropDomain(domain=CODE)) < phase(DropEnum(enum_name="e"))
    assert op_calls(op, Code()) == [
        "await schema.execute('CREATE DOMAIN \"app\".\"code\" AS character varying(10)')"]


def test_the_differ_creates_alters_and_drops_only_managed_domains() -> None:
    other = Domain(schema="public", name="dba_domain", base_type=integer())
    current = Schema(domains=(replace(POSITIVE, check=None), other, CODE))
    target = Schema(domains=(POSITIVE,))
    result = diff(current, target, managed=Schema(domains=(CODE,)))
    assert [op.describe() for op in result.operations] == [
        "Alter domain 'positive_int' (check)", "Drop domain 'app.code'"]
    assert "unmanaged domain 'public.dba_domain' left alone" in result.notes
    assert diff(Schema(domains=(POSITIVE,)), target).operations == []


def test_a_domain_base_type_change_is_a_note() -> None:
    result = diff(Schema(domains=(POSITIVE,)),
                  Schema(domains=(replace(POSITIVE, base_type=pg_type("bigint")),)))
    assert result.operations == []
    assert any("cannot change a domain's base type" in n for n in result.notes)


def test_domain_catalog_row() -> None:
    row = {"schema": "app", "name": "code", "type": "character varying(10)", "dims": 0,
           "is_array": False, "type_schema": "pg_catalog", "type_name": "varchar",
           "type_kind": "b", "not_null": True, "default": None,
           "check_names": ["c1", "c2"], "checks": ["(VALUE <> '')", "(length(VALUE) > 1)"]}
    assert parse_domain(row) == Domain(
        schema="app", name="code", base_type=varchar(10), not_null=True,
        check="((VALUE <> '')) AND ((length(VALUE) > 1))")
    assert parse_domain(row).check_names == ("c1", "c2")


class Thing(Entity):
    id: int
    qty: int = column(pg_type("positive_int"))


def _schema(setup: Any) -> Schema:
    config = DbModelConfig()
    setup(config)
    return schema_from_model(build_model({"things": Thing}, config))


def test_has_domain_builds_into_the_schema() -> None:
    schema = _schema(lambda m: m.has_domain("positive_int", "int4", not_null=True,
                                            default_sql="1", check="VALUE > 0"))
    assert schema.domains == (Domain(schema="public", name="positive_int",
                                     base_type=pg_type("int4"), not_null=True, default="1",
                                     check="VALUE > 0"),)


def test_a_python_default_on_a_domain_column_fits_the_domain_base_type() -> None:
    class Priced(Entity):
        id: int
        qty: int = column(pg_type("positive_int"), default=5)
        code: str = column(pg_type("code", schema="app"), default="x")

    config = DbModelConfig()
    config.has_domain("positive_int", integer()).has_domain("code", "text", schema="app")
    columns = build_model({"priced": Priced}, config).entities[0].columns
    assert [c.default for c in columns[1:]] == ["5", "'x'"]


@pytest.mark.parametrize(("setup", "message"), [
    (lambda m: m.has_domain("d", "not a type!"), "pg_type"),
    (lambda m: m.has_domain("d", integer()).has_domain("d", integer()), "declared twice"),
    (lambda m: m.has_domain("d" * 70, integer()), "63"),
])
def test_bad_domains_are_model_errors(setup: Any, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        _schema(setup)


# -- column DDL ----------------------------------------------------------------------------------

def test_generated_and_identity_column_definitions() -> None:
    assert column_definition(Column(name="total", type=integer(), generated="a * b")) \
        == '"total" integer GENERATED ALWAYS AS (a * b) STORED'
    assert column_definition(Column(name="id", type=integer(), nullable=False,
                                    identity="always", identity_start=100,
                                    identity_increment=5)) \
        == '"id" integer GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 5) NOT NULL'


def _alter(old: Column, new: Column) -> list[str]:
    return render(AlterColumn(schema="public", table_name="t", old=old, new=new))


def test_identity_options_alter_in_place() -> None:
    old = Column(name="id", type=integer(), identity="always", identity_start=100)
    assert _alter(old, replace(old, identity="by default", identity_start=None,
                               identity_increment=10)) == [
        'ALTER TABLE "public"."t" ALTER COLUMN "id" SET GENERATED BY DEFAULT, '
        'ALTER COLUMN "id" SET INCREMENT BY 10, ALTER COLUMN "id" SET START WITH 1']


def test_generated_expression_changes() -> None:
    plain = Column(name="g", type=integer())
    made = replace(plain, generated="a + 1")
    assert _alter(made, replace(made, generated="a + 2")) == [
        'ALTER TABLE "public"."t" DROP COLUMN "g", ADD COLUMN "g" integer GENERATED ALWAYS AS '
        '(a + 2) STORED']
    assert _alter(plain, made)[0].endswith('ADD COLUMN "g" integer GENERATED ALWAYS AS (a + 1) '
                                           'STORED')
    assert _alter(made, plain) == ['ALTER TABLE "public"."t" ALTER COLUMN "g" DROP EXPRESSION']
    # a generated column's type changes without USING (PostgreSQL computes it again)
    assert _alter(made, replace(made, type=pg_type("bigint"))) == [
        'ALTER TABLE "public"."t" ALTER COLUMN "g" TYPE bigint']


def test_a_model_using_expression_drives_the_type_change_and_its_probe() -> None:
    old = Column(name="taken", type=pg_type("numeric(10,5)"))
    new = Column(name="taken", type=pg_type("timestamp"), using="to_timestamp(taken)")
    op = AlterColumn(schema="public", table_name="t", old=old, new=new)
    assert _alter(old, new) == ['ALTER TABLE "public"."t" ALTER COLUMN "taken" TYPE timestamp '
                                'USING (to_timestamp(taken))']
    assert type_changes([op]) == [op]
    assert probe_sql(op) == ('SELECT ((to_timestamp(taken)))::timestamp FROM (SELECT '
                             'NULL::numeric(10,5) AS "taken") AS "t"')
    plain = replace(op, new=replace(new, using=None))
    assert probe_sql(plain).startswith('SELECT ("taken")::timestamp FROM')


def test_generated_and_identity_catalog_rows() -> None:
    row = {"name": "g", "type": "integer", "dims": 0, "is_array": False,
           "type_schema": "pg_catalog", "type_name": "int4", "type_kind": "b",
           "nullable": True, "default": "(a + 1)", "identity": "", "generated": "s",
           "comment": None, "serial": False, "identity_options": None}
    assert parse_column(row) == Column(name="g", type=integer(), generated="(a + 1)")
    ident = {**row, "default": None, "generated": "", "identity": "a",
             "identity_options": [100, 1]}
    assert parse_column(ident) == Column(name="g", type=integer(), identity="always",
                                         identity_start=100)
    assert parse_column({**ident, "identity_options": [-1, -1]}).identity_increment == -1
    assert parse_column({**ident, "identity_options": [-1, -1]}).identity_start is None


def test_a_deferred_domain_drop_stays_managed_until_contract() -> None:
    from linkgress.schema.contract import keep_deferred, split_destructive

    drop = DropDomain(domain=CODE)
    now, deferred = split_destructive([CreateDomain(domain=POSITIVE), drop])
    assert (now, deferred) == ([CreateDomain(domain=POSITIVE)], [drop])
    assert keep_deferred(Schema(domains=(POSITIVE,)), deferred).domains == (POSITIVE, CODE)


def test_scaffolded_migrations_write_generated_and_identity_options_as_sql() -> None:
    from linkgress.schema.operations import AddColumn

    gen = Column(name="g", type=integer(), generated="a + 1")
    assert op_calls(AddColumn(table_name="t", column=gen), Code()) == [
        "await schema.execute(\n            'ALTER TABLE \"public\".\"t\" ADD COLUMN \"g\" "
        "integer GENERATED ALWAYS AS (a + 1) STORED')"]
    old = Column(name="x", type=pg_type("numeric(10,5)"))
    new = Column(name="x", type=pg_type("timestamp"), using="to_timestamp(x)")
    assert op_calls(AlterColumn(table_name="t", old=old, new=new), Code()) == [
        'await schema.alter_column("t", "x", type=pg_type("timestamp"), '
        'using="(to_timestamp(x))")']
