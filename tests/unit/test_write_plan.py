"""Statement text and value extraction for mutations, without a database."""

from __future__ import annotations

import enum

import asyncpg
import pytest

from linkgress import DbContext, DbModelConfig, Entity, PgClient, column, jsonb, varchar
from linkgress.errors import (
    CheckViolation,
    DatabaseError,
    ForeignKeyViolation,
    NotNullViolation,
    QueryBuildError,
    SerializationFailure,
    UniqueViolation,
)
from linkgress.query.convert import encoder_for
from linkgress.query.session import affected_rows, translate_error
from linkgress.query.writeplan import group_rows, table_plan


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Thing(Entity):
    id: int
    name: str = column(varchar(50), name="the name")
    colour: Colour = column(default=Colour.RED)
    data: dict[str, int] | None = column(jsonb())


class Pair(Entity):
    a: int = column()
    b: int = column()


class Shop(DbContext):
    things = DbContext.table(Thing)
    pairs = DbContext.table(Pair)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Thing).to_table("things", schema="odd schema")
        model.entity(Pair).has_key("a", "b")


DB = Shop(PgClient(dsn="postgresql://nobody@localhost/none"))
THINGS = table_plan(DB.entity_meta(Thing))
PAIRS = table_plan(DB.entity_meta(Pair))
ALL = '"id", "the name", "colour", "data"'


def test_insert_sql_quotes_names_and_returns_every_column() -> None:
    assert THINGS.insert_sql(("name", "colour")) == (
        f'INSERT INTO "odd schema"."things" ("the name", "colour") VALUES ($1, $2) '
        f"RETURNING {ALL}")
    assert THINGS.insert_sql(()) == (
        f'INSERT INTO "odd schema"."things" DEFAULT VALUES RETURNING {ALL}')
    assert THINGS.insert_sql(("name",)) is THINGS.insert_sql(("name",))  # cached


def test_values_sql_numbers_parameters_row_by_row() -> None:
    assert PAIRS.values_sql(("a", "b"), 3) == (
        'INSERT INTO "public"."pairs" ("a", "b") VALUES ($1, $2), ($3, $4), ($5, $6)')
    assert THINGS.values_sql((), 2) == (
        'INSERT INTO "odd schema"."things" ("id") VALUES (DEFAULT), (DEFAULT)')


def test_params_convert_enums_and_json() -> None:
    values = {"name": "x", "colour": Colour.BLUE, "data": {"k": 1}}
    assert THINGS.params(("name", "colour", "data"), values) == ["x", "blue", '{"k":1}']
    assert THINGS.params(("data",), {"data": None}) == [None]


def test_encoders_exist_only_where_needed() -> None:
    meta = DB.entity_meta(Thing)
    assert encoder_for(meta.column("id")) is None
    assert encoder_for(meta.column("name")) is None
    enc = encoder_for(meta.column("colour"))
    assert enc is not None and enc(Colour.RED) == "red" and enc("blue") == "blue"


def test_group_rows_keeps_order_within_groups_and_splits_by_given_fields() -> None:
    rows = [Thing(name="a"), {"name": "b"}, Thing(name="c", colour=Colour.BLUE),
            Thing(name="d")]
    groups = group_rows(THINGS, rows, "insert_many()")
    assert groups == [(("name",), [("a",), ("b",), ("d",)]),
                      (("name", "colour"), [("c", "blue")])]


def test_rows_must_belong_to_the_table() -> None:
    with pytest.raises(QueryBuildError, match="'colour_name'"):
        group_rows(THINGS, [{"colour_name": "x"}], "insert_many()")
    with pytest.raises(QueryBuildError, match="Thing"):
        group_rows(THINGS, [Pair(a=1, b=2)], "insert_many()")
    with pytest.raises(QueryBuildError, match="'nope'"):
        THINGS.member("nope", "upsert(conflict=...)")
    assert THINGS.member(lambda t: t.name, "upsert") == "name"


@pytest.mark.parametrize(("status", "count"), [
    ("UPDATE 3", 3), ("INSERT 0 12", 12), ("DELETE 0", 0), ("COPY 100", 100), ("SELECT 1", 1),
    ("BEGIN", 0)])
def test_affected_rows(status: str, count: int) -> None:
    assert affected_rows(status) == count


@pytest.mark.parametrize(("error", "expected"), [
    (asyncpg.UniqueViolationError, UniqueViolation),
    (asyncpg.ForeignKeyViolationError, ForeignKeyViolation),
    (asyncpg.NotNullViolationError, NotNullViolation),
    (asyncpg.CheckViolationError, CheckViolation),
    (asyncpg.SerializationError, SerializationFailure),
    (asyncpg.UndefinedTableError, DatabaseError),
])
def test_translate_error_picks_the_class_by_sqlstate(
    error: type[asyncpg.PostgresError], expected: type[DatabaseError]
) -> None:
    exc = error.new({"S": "ERROR", "C": error.sqlstate, "M": "boom", "n": "c_name",
                     "t": "things", "c": "name", "D": "Key (name)=(x)."})
    translated = translate_error(exc, "SELECT 1")
    assert type(translated) is expected
    assert (translated.sql, translated.sqlstate, translated.constraint) == (
        "SELECT 1", error.sqlstate, "c_name")
    assert (translated.table, translated.column, translated.detail) == (
        "things", "name", "Key (name)=(x).")
    assert str(translated) == "boom\nDETAIL:  Key (name)=(x)."
