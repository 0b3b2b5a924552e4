"""Introspection's pure parts on recorded catalog rows (plain dicts, as PostgreSQL 15 printed
them), and normalisation's pure planning and merging."""

from __future__ import annotations

from typing import Any

import pytest

from linkgress.model.types import ColumnType
from linkgress.schema.introspect.catalog import COLUMNS, columns_sql
from linkgress.schema.introspect.mirror import (
    TEMP_PREFIX,
    Existing,
    Printed,
    apply_printed,
    blame_statements,
    mirror_plan,
    needs_printing,
)
from linkgress.schema.introspect.parse import (
    CatalogRows,
    build_schema,
    canonical_schema,
    index_element,
    is_excluded,
    normalize_sequence,
    parse_column,
    parse_column_type,
    parse_constraint,
    parse_index,
    parse_sequence,
    parse_type_text,
)
from linkgress.schema.introspect.reader import catalog_queries, catalog_rows, checked_snapshot_id
from linkgress.schema.snapshot import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    PrimaryKey,
    Schema,
    Sequence,
    Table,
    UniqueConstraint,
)


def column_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "table_oid": 16400, "position": 1, "name": "email", "type": "text", "dims": 0,
        "is_array": False, "type_schema": "pg_catalog", "type_name": "text",
        "type_kind": "b", "nullable": False, "default": None, "identity": "",
        "generated": "", "comment": None}
    row.update(overrides)
    return row


@pytest.mark.parametrize(("text", "expected"), [
    ("integer", ColumnType("integer")),
    ("character varying(50)", ColumnType("character varying", (50,))),
    ("character varying", ColumnType("character varying")),
    ("character(3)", ColumnType("character", (3,))),
    ("numeric(10,2)", ColumnType("numeric", (10, 2))),
    ("numeric", ColumnType("numeric")),
    ("timestamp(3) with time zone", ColumnType("timestamp with time zone", (3,))),
    ("timestamp without time zone", ColumnType("timestamp without time zone")),
    ("double precision", ColumnType("double precision")),
    ("bit varying(5)", ColumnType("bit varying", (5,))),
    ("interval day to second(3)", ColumnType("interval day to second", (3,))),
    ("integer[]", ColumnType("integer")),
    ("character varying(20)[]", ColumnType("character varying", (20,))),
])
def test_format_type_text_parses_to_the_model_spelling(text: str, expected: ColumnType) -> None:
    assert parse_type_text(text) == expected


def test_array_dimensions_come_from_attndims_not_the_printed_brackets() -> None:
    # format_type prints "integer[]" for integer[][] too; attndims says 2.
    assert parse_column_type(column_row(type="integer[]", dims=2, is_array=True)) == \
        ColumnType("integer", dims=2)
    # attndims is 0 for an array column whose type came from elsewhere (e.g. CREATE TABLE AS).
    assert parse_column_type(column_row(type="text[]", dims=0, is_array=True)) == \
        ColumnType("text", dims=1)


def test_an_enum_column_is_named_by_its_schema_and_type_name_unquoted() -> None:
    row = column_row(type='"Billing Dept"."Mood"[]', dims=1, is_array=True,
                     type_schema="Billing Dept", type_name="Mood", type_kind="e")
    assert parse_column_type(row) == ColumnType("Mood", dims=1, schema="Billing Dept",
                                                is_enum=True)
    domain = column_row(type="positive", type_schema="public", type_name="positive",
                        type_kind="d")
    assert parse_column_type(domain) == ColumnType("positive", schema="public")


def test_column_fields_nullability_default_comment() -> None:
    row = column_row(name="select", type="character varying(50)", nullable=True,
                     default="''::character varying", comment="it's a comment")
    assert parse_column(row) == Column(
        name="select", type=ColumnType("character varying", (50,)), nullable=True,
        default="''::character varying", comment="it's a comment")


@pytest.mark.parametrize(("code", "identity"), [("a", "always"), ("d", "by default"),
                                                ("", None)])
def test_identity_codes(code: str, identity: str | None) -> None:
    assert parse_column(column_row(identity=code, type="bigint")).identity == identity


def test_identity_and_generated_columns_have_no_default() -> None:
    assert parse_column(column_row(identity="a", default="whatever")).default is None
    assert parse_column(column_row(generated="s", default="(a + b)")).default is None


def pk_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "table_oid": 16400, "name": "users_pkey", "kind": "p", "columns": ["id"],
        "ref_schema": None, "ref_table": None, "ref_columns": [], "on_delete": " ",
        "on_update": " ", "expression": None, "nulls_not_distinct": False}
    row.update(overrides)
    return row


def test_primary_key_unique_and_check_constraints() -> None:
    assert parse_constraint(pk_row(columns=["tenant", "id"])) == PrimaryKey(
        name="users_pkey", columns=("tenant", "id"))
    assert parse_constraint(pk_row(kind="u", name="uq", columns=["a", "b"],
                                   nulls_not_distinct=True)) == UniqueConstraint(
        name="uq", columns=("a", "b"), nulls_not_distinct=True)
    assert parse_constraint(pk_row(kind="c", name="ck", columns=["i"],
                                   expression="(i >= 0)")) == CheckConstraint(
        name="ck", expression="(i >= 0)")


@pytest.mark.parametrize(("code", "action"), [
    ("a", "NO ACTION"), ("r", "RESTRICT"), ("c", "CASCADE"), ("n", "SET NULL"),
    ("d", "SET DEFAULT")])
def test_foreign_key_actions(code: str, action: str) -> None:
    fk = parse_constraint(pk_row(kind="f", name="orders_user_id_fkey", columns=["user_id"],
                                 ref_schema="Billing Dept", ref_table="users",
                                 ref_columns=["id"], on_delete=code, on_update="a"))
    assert fk == ForeignKey(name="orders_user_id_fkey", columns=("user_id",),
                            ref_schema="Billing Dept", ref_table="users", ref_columns=("id",),
                            on_delete=action, on_update="NO ACTION")


def test_an_unknown_constraint_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="'x'"):
        parse_constraint(pk_row(kind="x"))


def index_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "table_oid": 16400, "name": "ix", "is_unique": False, "method": "btree",
        "is_valid": True, "columns": ["email"], "expressions": [None], "where": None,
        "nulls_not_distinct": False, "include": [], "opclasses": [None],
        "collations": [None], "options": [0]}
    row.update(overrides)
    return row


def test_index_elements_columns_and_expressions() -> None:
    # pg_get_indexdef(oid, k, false) prints a function call bare and wraps anything else.
    row = index_row(name="ix_sinks_lower_vc", is_unique=True,
                    columns=[None, "Mixed Case", None],
                    expressions=["lower((vc)::text)", None, '(("select" + 1))'],
                    where="((vc)::text <> ''::text)", nulls_not_distinct=True)
    assert parse_index(row) == Index(
        name="ix_sinks_lower_vc", columns=("(lower((vc)::text))", "Mixed Case",
                                           '(("select" + 1))'),
        unique=True, where="((vc)::text <> ''::text)", nulls_not_distinct=True)
    assert parse_index(index_row(method="gin")).method == "gin"


def test_index_element_needs_a_column_or_an_expression() -> None:
    assert index_element("a", None) == "a"
    assert index_element(None, "coalesce(a, 0)") == "(coalesce(a, 0))"
    with pytest.raises(ValueError):
        index_element(None, None)


def test_sequence_bounds_equal_to_the_implicit_ones_become_none() -> None:
    row = {"schema": "public", "name": "order_no", "data_type": "bigint", "start": 100,
           "increment": 5, "min_value": 1, "max_value": 2**63 - 1, "cache": 1, "cycle": False}
    assert parse_sequence(row) == Sequence(schema="public", name="order_no", start=100,
                                           increment=5)
    down = Sequence(schema="s", name="d", data_type="integer", start=-1, increment=-1,
                    min_value=-(2**31), max_value=-1)
    assert normalize_sequence(down) == Sequence(schema="s", name="d", data_type="integer",
                                                start=-1, increment=-1)
    explicit = Sequence(schema="s", name="e", data_type="smallint", min_value=10,
                        max_value=100)
    assert normalize_sequence(explicit) == explicit
    assert normalize_sequence(Sequence(schema="s", name="e", data_type="smallint",
                                       max_value=32767)).max_value is None


@pytest.mark.parametrize(("schema", "name", "patterns", "expected"), [
    ("public", "audit_log", ["audit_*"], True),
    ("public", "audit_log", ["public.audit_*"], True),
    ("shop", "audit_log", ["public.*"], False),
    ("shop", "Orders", ["orders"], False),  # case-sensitive, like PostgreSQL names
    ("shop", "orders", [], False),
])
def test_exclude_patterns(schema: str, name: str, patterns: list[str], expected: bool) -> None:
    assert is_excluded(schema, name, patterns) is expected


def recorded_rows() -> CatalogRows:
    return CatalogRows(
        schemas=[{"name": "public"}, {"name": "shop"}],
        enums=[{"schema": "shop", "name": "status", "labels": ["new", "it's"]},
               {"schema": "public", "name": "tmp_status", "labels": ["x"]}],
        sequences=[{"schema": "shop", "name": "order_no", "data_type": "bigint", "start": 1,
                    "increment": 1, "min_value": 1, "max_value": 2**63 - 1, "cache": 1,
                    "cycle": False}],
        tables=[{"oid": 2, "schema": "shop", "name": "orders", "comment": "money"},
                {"oid": 1, "schema": "public", "name": "users", "comment": None},
                {"oid": 3, "schema": "public", "name": "__linkgress_schema_state",
                 "comment": None},
                {"oid": 4, "schema": "public", "name": "__linkgress_migrations",
                 "comment": None},
                {"oid": 5, "schema": "public", "name": "tmp_import", "comment": None}],
        columns=[column_row(table_oid=1, name="id", type="integer", identity="d"),
                 column_row(table_oid=1, name="email"),
                 column_row(table_oid=2, name="id", type="bigint"),
                 column_row(table_oid=2, name="user_id", type="integer", nullable=True),
                 column_row(table_oid=3, name="state_name"),
                 column_row(table_oid=99, name="orphan")],
        constraints=[pk_row(table_oid=1), pk_row(table_oid=2, name="orders_pkey"),
                     pk_row(table_oid=2, kind="f", name="orders_user_id_fkey",
                            columns=["user_id"], ref_schema="public", ref_table="users",
                            ref_columns=["id"], on_delete="c", on_update="a"),
                     pk_row(table_oid=1, kind="u", name="users_email_key",
                            columns=["email"])],
        indexes=[index_row(table_oid=1, name="z_ix"), index_row(table_oid=1, name="a_ix"),
                 index_row(table_oid=2, name="ix_broken", is_valid=False),
                 index_row(table_oid=1, name="ix_desc", options=[1])])


def test_build_schema_assembles_tables_in_canonical_order() -> None:
    schema = build_schema(recorded_rows(), exclude=["tmp_*"])
    assert schema.schemas == ("public", "shop")
    assert schema.enums == (EnumType(schema="shop", name="status", values=("new", "it's")),)
    assert schema.sequences == (Sequence(schema="shop", name="order_no"),)
    assert [t.key for t in schema.tables] == [("public", "users"), ("shop", "orders")]
    users = schema.tables[0]
    assert [c.name for c in users.columns] == ["id", "email"]
    assert users.column("id") == Column(name="id", type=ColumnType("integer"), nullable=False,
                                        identity="by default")
    assert users.primary_key == PrimaryKey(name="users_pkey", columns=("id",))
    assert users.uniques == (UniqueConstraint(name="users_email_key", columns=("email",)),)
    assert [i.name for i in users.indexes] == ["a_ix", "ix_desc", "z_ix"]
    orders = schema.tables[1]
    assert orders.comment == "money"
    assert orders.foreign_keys == (ForeignKey(
        name="orders_user_id_fkey", columns=("user_id",), ref_schema="public",
        ref_table="users", ref_columns=("id",), on_delete="CASCADE"),)
    # The sort order is compared now, not a note.
    assert users.indexes[1].descending == (True,)
    (broken,) = schema.notes
    assert "ix_broken" in broken and "shop.orders" in broken


def test_build_schema_without_exclusions_keeps_other_tables_but_never_linkgress_own() -> None:
    schema = build_schema(recorded_rows())
    assert [t.name for t in schema.tables] == ["tmp_import", "users", "orders"]
    assert [e.name for e in schema.enums] == ["tmp_status", "status"]


def test_canonical_schema_sorts_everything_but_columns() -> None:
    cols = (Column(name="b", type=ColumnType("text")), Column(name="a", type=ColumnType("text")))
    table = Table(schema="s", name="t", columns=cols,
                  checks=(CheckConstraint(name="z", expression="true"),
                          CheckConstraint(name="a", expression="true")),
                  indexes=(Index(name="y", columns=("a",)), Index(name="x", columns=("b",))))
    schema = canonical_schema(Schema(schemas=("s", "public"), tables=(
        table, Table(schema="public", name="u", columns=cols))))
    assert schema.schemas == ("public", "s")
    assert [t.name for t in schema.tables] == ["u", "t"]
    assert schema.tables[1].columns == cols
    assert [c.name for c in schema.tables[1].checks] == ["a", "z"]
    assert [i.name for i in schema.tables[1].indexes] == ["x", "y"]


@pytest.mark.parametrize("value", ["00000003-0000001B-1", "0000000A-00000002-3F"])
def test_snapshot_ids_are_accepted(value: str) -> None:
    assert checked_snapshot_id(value) == value


@pytest.mark.parametrize("value", [None, "", "1'; DROP TABLE x; --", "abc def",
                                   "00000003-0000001B-1'"])
def test_anything_else_is_refused_before_it_reaches_set_transaction_snapshot(
        value: Any) -> None:
    with pytest.raises(ValueError, match="snapshot id"):
        checked_snapshot_id(value)


MOOD = ColumnType("mood", schema="shop", is_enum=True)


def target_schema() -> Schema:
    table = Table(
        schema="shop", name="orders",
        columns=(Column(name="id", type=ColumnType("integer"), nullable=False,
                        identity="always"),
                 Column(name="select", type=MOOD, default="'new'::\"shop\".\"mood\""),
                 Column(name="n", type=ColumnType("bigint"),
                        default="nextval('shop.order_no')")),
        checks=(CheckConstraint(name="ck", expression="n > 0"),),
        indexes=(Index(name="ix_orders_lower", columns=("(lower(select::text))",),
                       where="n > 0", concurrently=True),))
    return Schema(schemas=("shop",),
                  enums=(EnumType(schema="shop", name="mood", values=("new", "it's")),),
                  sequences=(Sequence(schema="shop", name="order_no"),), tables=(table,))


def test_the_mirror_creates_what_is_missing_in_the_savepoint() -> None:
    sql = [s.sql for s in mirror_plan(target_schema(), Existing()).statements]
    assert sql[:3] == ['CREATE SCHEMA "shop"',
                       """CREATE TYPE "shop"."mood" AS ENUM ('new', 'it''s')""",
                       'CREATE SEQUENCE "shop"."order_no"']
    # one column per distinct (type, default); identity and NOT NULL do not change printing
    assert sql[3] == (
        f'CREATE TEMPORARY TABLE "{TEMP_PREFIX}d0" (c0 integer, '
        """c1 "shop"."mood" DEFAULT 'new'::"shop"."mood", """
        "c2 bigint DEFAULT nextval('shop.order_no'))")
    # checks and printable indexes on a table with the model table's columns
    assert sql[4] == (f'CREATE TEMPORARY TABLE "{TEMP_PREFIX}s0" ("id" integer, '
                      '"select" "shop"."mood", "n" bigint, CONSTRAINT ck0 CHECK (n > 0))')
    assert sql[5] == (f'CREATE INDEX "{TEMP_PREFIX}s0_0" ON "pg_temp"."{TEMP_PREFIX}s0" '
                      "USING btree ((lower(select::text))) WHERE n > 0")
    assert len(sql) == 6


def test_the_mirror_reuses_what_exists_and_sets_aside_an_enum_lacking_a_label() -> None:
    existing = Existing(schemas=frozenset({"shop"}), enums={("shop", "mood"): ("new",)},
                        relations=frozenset({("shop", "order_no")}))
    sql = [s.sql for s in mirror_plan(target_schema(), existing).statements]
    assert sql[:2] == [f'ALTER TYPE "shop"."mood" RENAME TO "{TEMP_PREFIX}enum_0"',
                       """CREATE TYPE "shop"."mood" AS ENUM ('new', 'it''s')"""]
    assert sql[2].startswith("CREATE TEMPORARY TABLE")
    complete = Existing(schemas=frozenset({"shop"}),
                        enums={("shop", "mood"): ("it's", "old", "new")},
                        relations=frozenset({("shop", "order_no")}))
    plan = mirror_plan(target_schema(), complete)
    assert plan.statements[0].sql.startswith("CREATE TEMPORARY")


def wide_schema(tables: int) -> Schema:
    """``tables`` tables of the same shape, each with a check and an expression index."""
    cols = (Column(name="id", type=ColumnType("integer"), nullable=False),
            Column(name="name", type=ColumnType("text"), default="''"))
    return Schema(schemas=("public",), tables=tuple(
        Table(schema="public", name=f"t{i}", columns=cols,
              checks=(CheckConstraint(name=f"ck_t{i}", expression="id > 0"),),
              indexes=(Index(name=f"ix_t{i}_lower", columns=("(lower(name))",)),
                       Index(name=f"ix_t{i}_name", columns=("name",))))
        for i in range(tables)))


def test_the_mirror_of_many_alike_tables_is_two_tables_and_one_index() -> None:
    plan = mirror_plan(wide_schema(500), Existing(schemas=frozenset({"public"})))
    assert len(plan.temp_tables) == 2
    assert [s.sql.split(" (")[0] for s in plan.statements] == [
        f'CREATE TEMPORARY TABLE "{TEMP_PREFIX}d0"', f'CREATE TEMPORARY TABLE "{TEMP_PREFIX}s0"',
        f'CREATE INDEX "{TEMP_PREFIX}s0_0" ON "pg_temp"."{TEMP_PREFIX}s0" USING btree']
    assert set(plan.checks.values()) == {(f"{TEMP_PREFIX}s0", "ck0")}
    assert (499, 1) not in plan.indexes  # a plain column index needs no printing
    assert not needs_printing(Index(name="x", columns=("name",)))
    assert needs_printing(Index(name="x", columns=("name",), where="id > 0"))


def test_blame_statements_name_each_default_check_and_index() -> None:
    statements = blame_statements(wide_schema(2), Existing(schemas=frozenset({"public"})))
    assert [s.what for s in statements] == [
        "column types of table 't0'", "default of column 't0.name'",
        "check 'ck_t0' on table 't0'", "index 'ix_t0_lower' on table 't0'",
        "index 'ix_t0_name' on table 't0'",
        "column types of table 't1'", "default of column 't1.name'",
        "check 'ck_t1' on table 't1'", "index 'ix_t1_lower' on table 't1'",
        "index 'ix_t1_name' on table 't1'"]
    temp = f'"{TEMP_PREFIX}b0"'
    assert [s.sql for s in statements[:3]] == [
        f'CREATE TEMPORARY TABLE {temp} ("id" integer, "name" text)',
        f'ALTER TABLE {temp} ALTER COLUMN "name" SET DEFAULT \'\'',
        f'ALTER TABLE {temp} ADD CONSTRAINT "ck_t0" CHECK (id > 0)']


def test_apply_printed_replaces_only_the_printed_text() -> None:
    target = target_schema()
    plan = mirror_plan(target, Existing())
    defaults, shape = f"{TEMP_PREFIX}d0", f"{TEMP_PREFIX}s0"
    printed = {
        defaults: Printed(columns={
            "c0": Column(name="c0", type=ColumnType("integer")),
            "c1": Column(name="c1", type=MOOD, default="'new'::shop.mood"),
            "c2": Column(name="c2", type=ColumnType("bigint"),
                         default="nextval('shop.order_no'::regclass)")}),
        shape: Printed(checks={"ck0": "(n > 0)"}, indexes={f"{shape}_0": Index(
            name=f"{shape}_0", columns=('(lower(("select")::text))',), where="(n > 0)")})}
    (table,) = apply_printed(target, plan, printed).tables
    assert [c.default for c in table.columns] == [
        None, "'new'::shop.mood", "nextval('shop.order_no'::regclass)"]
    assert table.columns[0] == target.tables[0].columns[0]  # identity, NOT NULL kept
    assert table.checks == (CheckConstraint(name="ck", expression="(n > 0)"),)
    assert table.indexes == (Index(name="ix_orders_lower",
                                   columns=('(lower(("select")::text))',), where="(n > 0)",
                                   concurrently=True),)


def test_an_empty_comment_normalises_to_none_as_postgresql_stores_it() -> None:
    table = Table(schema="public", name="t", comment="",
                  columns=(Column(name="a", type=ColumnType("text"), comment=""),))
    schema = Schema(schemas=("public",), tables=(table,))
    (result,) = apply_printed(schema, mirror_plan(schema, Existing()), {}).tables
    assert result.comment is None and result.columns[0].comment is None


def test_the_columns_query_splits_into_shards_that_catalog_rows_joins_again() -> None:
    queries = catalog_queries(15, column_shards=2)
    assert list(queries)[:3] == ["columns", "columns:1", "indexes"]
    assert queries["columns:1"] == columns_sql(2, 1)
    assert "% 2 = 1" in columns_sql(2, 1) and "% 2 = 0" in columns_sql(2, 0)
    assert catalog_queries(15)["columns"] == COLUMNS == columns_sql()
    with pytest.raises(ValueError):
        columns_sql(2, 2)
    rows = catalog_rows({"columns": [column_row(name="a")], "columns:1": [column_row(name="b")],
                         "tables": [], "indexes": []})
    assert [r["name"] for r in rows.columns] == ["a", "b"]


def test_tables_whose_columns_agree_share_one_mirror() -> None:
    def table(name: str, *columns: tuple[str, str]) -> Table:
        return Table(schema="public", name=name,
                     columns=tuple(Column(name=n, type=ColumnType(t)) for n, t in columns),
                     checks=(CheckConstraint(name=f"ck_{name}", expression="id > 0"),))

    schema = Schema(schemas=("public",), tables=(
        table("a", ("id", "integer"), ("x", "text")),
        table("b", ("id", "integer"), ("y", "date")),      # agrees with a: same mirror
        table("c", ("id", "bigint"), ("x", "text")),       # id differs: a second mirror
        table("d", ("id", "bigint"), ("z", "boolean"))))   # agrees with c
    plan = mirror_plan(schema, Existing(schemas=frozenset({"public"})))
    shapes = [s.sql for s in plan.statements if "_s" in s.sql.split(" (")[0]]
    assert shapes == [
        f'CREATE TEMPORARY TABLE "{TEMP_PREFIX}s0" ("id" integer, "x" text, "y" date, '
        "CONSTRAINT ck0 CHECK (id > 0))",
        f'CREATE TEMPORARY TABLE "{TEMP_PREFIX}s1" ("id" bigint, "x" text, "z" boolean, '
        "CONSTRAINT ck0 CHECK (id > 0))"]
    assert plan.checks[(1, "ck_b")] == (f"{TEMP_PREFIX}s0", "ck0")
    assert plan.checks[(3, "ck_d")] == (f"{TEMP_PREFIX}s1", "ck0")
