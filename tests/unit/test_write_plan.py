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


def test_group_rows_converts_a_uniform_batch_of_entities_or_dicts() -> None:
    entities = [Thing(name=f"n{i}", colour=Colour.BLUE, data={"i": i}) for i in range(3)]
    expected = [(("name", "colour", "data"),
                 [(f"n{i}", "blue", f'{{"i":{i}}}') for i in range(3)])]
    assert group_rows(THINGS, entities, "insert_many()") == expected
    dicts = [{"data": {"i": i}, "name": f"n{i}", "colour": Colour.BLUE} for i in range(3)]
    assert group_rows(THINGS, dicts, "insert_many()") == expected  # in table order
    assert group_rows(THINGS, iter(dicts), "insert_many()") == expected
    assert group_rows(THINGS, [Thing(), Thing()], "insert_many()") == [((), [(), ()])]
    assert group_rows(THINGS, [], "insert_many()") == []
    assert group_rows(PAIRS, ({"a": 1, "b": None},), "upsert()") == [(("a", "b"), [(1, None)])]


def test_group_rows_after_a_run_of_one_shape_keeps_every_row() -> None:
    odd = Thing(name="with a note")
    odd.note = "not a column"  # type: ignore[attr-defined]  # held, never sent
    rows: list[Thing | dict[str, object]] = [
        Thing(name="a", colour="red"), Thing(name="b", colour=Colour.BLUE), {"name": "c"},
        Thing(name="d", colour=Colour.RED), odd, {"colour": Colour.BLUE, "name": "e"},
        Thing(name="f", data=[1])]
    assert group_rows(THINGS, rows, "insert_many()") == [
        (("name", "colour"), [("a", "red"), ("b", "blue"), ("d", "red"), ("e", "blue")]),
        (("name",), [("c",), ("with a note",)]),
        (("name", "data"), [("f", "[1]")])]
    more = [Thing(name="a"), Thing(name="b", colour=Colour.BLUE), Thing(colour=Colour.RED)]
    assert group_rows(THINGS, more, "insert_many()") == [
        (("name",), [("a",)]), (("name", "colour"), [("b", "blue")]), (("colour",), [("red",)])]
    noted = [Thing(name=str(i)) for i in range(3)]
    for thing in noted:
        thing.note = "x"  # type: ignore[attr-defined]
    assert group_rows(THINGS, noted, "insert_many()") == [(("name",), [("0",), ("1",), ("2",)])]


def test_a_later_row_of_another_table_or_with_an_unknown_key_is_refused() -> None:
    with pytest.raises(QueryBuildError, match="Thing"):
        group_rows(THINGS, [Thing(name="a"), Thing(name="b"), Pair(a=1)], "insert_many()")
    with pytest.raises(QueryBuildError, match="'colour_name'"):
        group_rows(THINGS, [{"name": "a"}, {"colour_name": "b"}], "insert_many()")
    with pytest.raises(QueryBuildError, match="None"):
        group_rows(THINGS, [{"name": "a"}, None], "insert_many()")


def test_a_value_its_encoder_rejects_raises_as_on_the_row_by_row_path() -> None:
    rows = [Thing(name="a", data={"ok": 1}), Thing(name="b", data={"bad": object()})]
    with pytest.raises(TypeError, match="object"):
        group_rows(THINGS, rows, "insert_many()")


def test_shape_is_the_row_class_and_the_columns_set_or_none() -> None:
    assert THINGS.shape(Thing(colour=Colour.RED, name="a")) == (Thing, ("name", "colour"))
    assert THINGS.shape({"colour": "red", "name": "a"}) == (dict, ("name", "colour"))
    assert THINGS.shape({"name": "a", "nope": 1}) is None  # the general path names the key
    noted = Thing(name="a")
    noted.note = "x"  # type: ignore[attr-defined]
    assert THINGS.shape(noted) is None
    assert THINGS.shape(Pair(a=1, b=2)) is None
    assert THINGS.shape(("a",)) is None


def test_a_stream_yields_converted_tuples_and_stops_at_another_shape() -> None:
    stream = THINGS.stream((Thing, ("name", "colour", "data")))
    rows = [Thing(name=str(i), colour=Colour.BLUE, data={"i": i}) for i in range(3)]
    expected = [(str(i), "blue", f'{{"i":{i}}}') for i in range(3)]
    assert list(stream(rows)) == expected
    assert THINGS.stream((Thing, ("name", "colour", "data"))) is stream  # cached
    for odd in (Thing(name="x", colour=Colour.RED), {"name": "x", "colour": "red", "data": 1},
                Thing(name="x", colour=Colour.RED, id=4)):
        assert list(stream([*rows, odd, *rows])) == expected
    rows[1].data = {"x": object()}  # not JSON: left to the general path, which raises
    assert list(stream(rows)) == expected[:1]


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
