"""Python defaults rendered as SQL literals."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

import pytest

from linkgress.model.literals import sql_literal
from linkgress.model.types import (
    ColumnType,
    array,
    boolean,
    bytea,
    char,
    date,
    double_precision,
    enum_type,
    integer,
    interval,
    jsonb,
    numeric,
    text,
    timestamptz,
    varchar,
)
from linkgress.model.types import (
    uuid as uuid_type,
)
from linkgress.schema.quoting import quote_ident, quote_literal


class Mood(enum.Enum):
    OK = "ok"
    QUOTE = "it's"


CASES: list[tuple[Any, ColumnType, str]] = [
    (0, integer(), "0"),
    (-5, integer(), "(-5)"),
    (1.5, double_precision(), "1.5"),
    (float("inf"), double_precision(), "'Infinity'"),
    (decimal.Decimal("12.50"), numeric(10, 2), "12.50"),
    (True, boolean(), "true"),
    ("", text(), "''"),
    ("it's", varchar(10), "'it''s'"),
    ("back\\slash", text(), "E'back\\\\slash'"),
    ("ab", char(2), "'ab'"),
    (dt.date(2024, 1, 2), date(), "'2024-01-02'"),
    (dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), timestamptz(),
     "'2024-01-02T03:04:05+00:00'"),
    (dt.timedelta(days=1, seconds=5), interval(), "'1 days 5 seconds 0 microseconds'"),
    (uuid.UUID(int=1), uuid_type(), "'00000000-0000-0000-0000-000000000001'"),
    (b"\x01\xff", bytea(), "E'\\\\x01ff'"),
    ({"b": 1, "a": [1, "x"]}, jsonb(), """'{"a": [1, "x"], "b": 1}'"""),
    (Mood.QUOTE, enum_type("mood"), """'it''s'::"public"."mood\""""),
    ([], array(integer()), "'{}'::integer[]"),
    ([1, 2], array(integer()), "ARRAY[1, 2]::integer[]"),
    (["a'b"], array(text()), "ARRAY['a''b']::text[]"),
    (None, text(), "NULL"),
]


@pytest.mark.parametrize(("value", "ctype", "sql"), CASES)
def test_literals(value: Any, ctype: ColumnType, sql: str) -> None:
    assert sql_literal(value, ctype) == sql


@pytest.mark.parametrize(("value", "ctype"), [
    ("1", integer()), (True, integer()), (1.5, integer()), (1, boolean()), (1, text()),
    ("toolong", varchar(3)), (dt.datetime(2024, 1, 1), date()), ("x", uuid_type()),
    ({1, 2}, jsonb()), (1, array(integer())),
])
def test_values_that_do_not_fit_are_rejected(value: Any, ctype: ColumnType) -> None:
    with pytest.raises(TypeError):
        sql_literal(value, ctype)


def test_quoting() -> None:
    assert quote_ident('a"b') == '"a""b"'
    assert quote_ident("select") == '"select"'
    assert quote_literal("it's") == "'it''s'"
    with pytest.raises(ValueError, match="NUL"):
        quote_literal("a\x00")
