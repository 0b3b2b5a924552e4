"""The error path of writes, without a database: which column and row an argument asyncpg
could not encode belongs to, and how the error says it."""

from __future__ import annotations

import asyncpg

from linkgress import DbContext, DbModelConfig, Entity, PgClient, column, varchar
from linkgress.errors import DatabaseError
from linkgress.query.writeerrors import (
    BadValue,
    RowsRejected,
    bad_argument,
    bad_value,
    input_row,
    named_argument_error,
    value_error,
)
from linkgress.query.writeplan import table_plan


class Gadget(Entity):
    id: int
    label: str = column(varchar(20), name="the label")
    size: int = column(default=0)


class Store(DbContext):
    gadgets = DbContext.table(Gadget)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Gadget).to_table("gadgets", schema="shop")


PLAN = table_plan(Store(PgClient(dsn="postgresql://nobody@localhost/none")).entity_meta(Gadget))


def _client_error(number: int, problem: str) -> DatabaseError:
    error = DatabaseError(f"invalid input for query argument ${number}: {problem}", sql="SQL")
    error.__cause__ = asyncpg.DataError(f"invalid input for query argument ${number}: {problem}")
    return error


def test_bad_argument_reads_asyncpgs_encoding_error_only() -> None:
    assert bad_argument(_client_error(4, "'x' (oops)")) == (4, "'x' (oops)")
    server = _client_error(4, "'x' (oops)")
    server.sqlstate = "22P02"  # the server's error: not about encoding
    assert bad_argument(server) is None
    assert bad_argument(DatabaseError("invalid input for query argument $1: x")) is None


def test_named_argument_error_names_table_column_and_attribute() -> None:
    error = named_argument_error(_client_error(2, "99 (value out of int32 range)"), PLAN,
                                 "insert()", lambda n: ("label", "size")[n - 1])
    assert error is not None
    assert str(error) == ('insert(): invalid value for shop.gadgets.size (Gadget.size, '
                          'argument $2): 99 (value out of int32 range)')
    assert (error.table, error.column, error.sql) == ("gadgets", "size", "SQL")
    assert named_argument_error(_client_error(3, "x"), PLAN, "insert()", lambda n: None) is None


def test_bad_value_maps_an_argument_to_its_row_and_column() -> None:
    attrs = ("label", "size")
    assert bad_value(_client_error(5, "p"), attrs, 3, ()) == BadValue(2, "label", "p")
    assert bad_value(_client_error(4, "p"), attrs, 3, ()) == BadValue(1, "size", "p")
    # after the rows' 6 arguments: the ON CONFLICT ... SET values, not a row's
    assert bad_value(_client_error(7, "p"), attrs, 3, ("size",)) == BadValue(None, "size", "p")
    assert bad_value(_client_error(8, "p"), attrs, 3, ("size",)) is None


def test_input_row_counts_in_the_callers_input() -> None:
    rows = [{"label": "a"}, {"label": "b", "size": 1}, {"label": "c"}, {"label": "d", "size": 2}]
    assert input_row(PLAN, rows, 1, ("label",), 1, "insert_many()") == "row 1"
    assert input_row(PLAN, rows, 2, ("label", "size"), 1, "insert_many()") == "row 3"
    assert input_row(PLAN, iter(rows), 2, ("label", "size"), 1, "insert_many()") == (
        "row 1 of those setting label, size")


def test_rejected_rows_without_a_culprit_still_name_the_table_and_the_problem() -> None:
    rejected = RowsRejected(("label", "size"), [], OverflowError("value out of int32 range"),
                            "COPY ...", sqlstate="57014")
    error = rejected.to_error(PLAN, "insert_many()", None)
    assert str(error) == ("insert_many(): shop.gadgets rejected a value while encoding the rows "
                          "(the label, size): OverflowError: value out of int32 range")
    assert error.sqlstate == "57014"
    rejected.bad = BadValue(7, "label", "5 (expected str, got int)")
    assert str(rejected.to_error(PLAN, "insert_many()", "row 9")) == (
        "insert_many(): invalid value for shop.gadgets.the label (Gadget.label, row 9): "
        "5 (expected str, got int)")
    assert value_error(PLAN, "size", "p", what="w").column == "size"
