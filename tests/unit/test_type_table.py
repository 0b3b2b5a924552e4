"""The table of column types (``linkgress.model.typetable``): every row is checked for what
each part of linkgress takes from it — the builder, inference, literal rendering, conversion,
the describe() form and the scaffold's rendering."""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import uuid
from decimal import Decimal
from typing import Any

import pytest

import linkgress
from linkgress.migrations.render import Code, type_expr
from linkgress.migrations.table_builder import TableBuilder
from linkgress.model import types as t
from linkgress.model.inference import infer_type
from linkgress.model.literals import sql_literal
from linkgress.model.types import ColumnType, pg_type
from linkgress.model.typetable import BY_PYTHON, TYPES, TypeSpec, spec_for
from linkgress.query.convert import decoder_for, encoder_for

# One case per row: (a fitting default, its literal, a value that does not fit, display).
CASES: dict[str, tuple[Any, str, Any, str]] = {
    "smallint": (-3, "(-3)", 1.5, "SMALLINT"),
    "integer": (7, "7", "7", "INTEGER"),
    "bigint": (decimal.Decimal(9), "9", True, "BIGINT"),
    "numeric": (decimal.Decimal("0.50"), "0.50", "0.5", "NUMERIC"),
    "real": (1.5, "1.5", "x", "REAL"),
    "double precision": (float("inf"), "'Infinity'", "1.5", "DOUBLE PRECISION"),
    "character varying": ("it's", "'it''s'", 3, "VARCHAR"),
    "character": ("y", "'y'", b"y", "CHAR"),
    "text": ("", "''", 1, "TEXT"),
    "boolean": (True, "true", 1, "BOOLEAN"),
    "date": (dt.date(2024, 2, 29), "'2024-02-29'", dt.datetime(2024, 1, 1), "DATE"),
    "time without time zone": (dt.time(12, 30), "'12:30:00'", "12:30", "TIME"),
    "timestamp without time zone": (dt.datetime(2024, 1, 2, 3, 4), "'2024-01-02T03:04:00'",
                                    dt.date(2024, 1, 2), "TIMESTAMP"),
    "timestamp with time zone": (dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
                                 "'2024-01-02T00:00:00+00:00'", "now", "TIMESTAMPTZ"),
    "interval": (dt.timedelta(days=1, seconds=5), "'1 days 5 seconds 0 microseconds'", 5,
                 "INTERVAL"),
    "uuid": (uuid.UUID(int=1), "'00000000-0000-0000-0000-000000000001'", "x", "UUID"),
    "json": ({"b": 1, "a": [True]}, "'{\"a\": [true], \"b\": 1}'", {1j}, "JSON"),
    "jsonb": ([1, "x"], "'[1, \"x\"]'", {"k": "\x00"}, "JSONB"),
    "bytea": (b"\x00\xff", "E'\\\\x00ff'", "00", "BYTEA"),
    "inet": (ipaddress.ip_address("10.0.0.1"), "'10.0.0.1'", 10, "INET"),
    "cidr": (ipaddress.ip_network("10.0.0.0/8"), "'10.0.0.0/8'", 10, "CIDR"),
}


def test_every_row_has_a_case_and_names_are_unique() -> None:
    assert sorted(CASES) == sorted(spec.sql for spec in TYPES)
    assert len({spec.sql for spec in TYPES}) == len(TYPES)
    owners = [py for spec in TYPES for py in spec.python]
    assert len(owners) == len(set(owners))  # an annotation infers to one type only


@pytest.mark.parametrize("spec", TYPES, ids=lambda s: s.sql)
def test_row(spec: TypeSpec) -> None:
    value, literal, bad, display = CASES[spec.sql]
    ctype = ColumnType(spec.sql)
    assert spec_for(ctype) is spec
    assert ctype.display == display
    # literal rendering, and a value that does not fit
    assert sql_literal(value, ctype) == literal
    with pytest.raises(TypeError):
        sql_literal(bad, ctype)
    # inference from every annotation of the row
    for py in spec.python:
        assert infer_type(py) == (ctype, None)
        assert BY_PYTHON[py] is spec
    # the builder (public, and a TableBuilder method of the same name) and the scaffold
    if spec.builder is not None:
        assert getattr(linkgress, spec.builder) is getattr(t, spec.builder)
        assert callable(getattr(TableBuilder, spec.builder))
        params = (1,) * max(spec.arity)
        if spec.sql == "numeric":
            params = (10, 2)
        built = getattr(t, spec.builder)(*params)
        assert built == ColumnType(spec.sql, params)
        assert type_expr(built, Code()) == f"{spec.builder}({', '.join(map(str, params))})"
    else:
        assert type_expr(ctype, Code()) == f'pg_type("{spec.sql}")'
        assert pg_type(spec.sql) == ctype


@pytest.mark.parametrize("spec", TYPES, ids=lambda s: s.sql)
def test_conversion(spec: TypeSpec) -> None:
    meta = linkgress_column(ColumnType(spec.sql))
    encode, decode = encoder_for(meta), decoder_for(meta)
    assert (encode, decode) == (spec.encode, spec.decode)
    if spec.family == "json":
        assert encode is not None and decode is not None
        assert decode(encode({"a": [1]})) == {"a": [1]}
        assert encode(None) is None and decode(None) is None
    elif spec.sql == "numeric":  # a float is sent as the decimal it prints as
        assert encode is not None and decode is None
        assert encode(0.99) == Decimal("0.99") and encode(None) is None
    else:
        assert encode is None and decode is None  # asyncpg converts these itself


def linkgress_column(ctype: ColumnType) -> Any:
    from linkgress.model.meta import ColumnMeta
    return ColumnMeta(attr="a", name="a", type=ctype, nullable=True, python_type=object,
                      primary_key=False, identity=None, default=None)


def test_arrays_of_a_row_render_each_element() -> None:
    assert sql_literal([1, -2], t.array(t.integer())) == "ARRAY[1, (-2)]::integer[]"
    assert sql_literal([], t.array(t.varchar(20))) == "'{}'::character varying(20)[]"
    assert type_expr(t.array(t.varchar(20)), Code()) == "array(varchar(20))"


@pytest.mark.parametrize(("text", "sql", "display"), [
    ("tsvector", "tsvector", "TSVECTOR"),
    ("geometry(Point,4326)", "geometry(Point,4326)", "GEOMETRY(Point,4326)"),
    ("ltree[]", "ltree[]", "LTREE[]"),
    ("timestamp(3) with time zone", "timestamp(3) with time zone", "TIMESTAMPTZ(3)"),
    ("public.citext", '"public"."citext"', "CITEXT"),
    ("numeric(10, 2)[]", "numeric(10,2)[]", "NUMERIC(10,2)[]"),
])
def test_pg_type_spells_any_type(text: str, sql: str, display: str) -> None:
    ctype = pg_type(text)
    assert (ctype.sql, ctype.display) == (sql, display)


@pytest.mark.parametrize("text", ["x; drop table t", "a(b", "'x'", "", "int)"])
def test_pg_type_refuses_what_is_not_a_type_name(text: str) -> None:
    with pytest.raises(ValueError, match="pg_type\\(\\) expects a type name"):
        pg_type(text)


def test_a_type_outside_the_table_takes_a_str_default_cast_to_it() -> None:
    assert sql_literal("a & b", pg_type("tsquery")) == "'a & b'::tsquery"
    with pytest.raises(TypeError, match="must be a str"):
        sql_literal(5, pg_type("money"))
