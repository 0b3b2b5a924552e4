"""The recorded-state encoding: ``to_json`` / ``from_json`` / ``from_json_text`` round trips."""

from __future__ import annotations

import json

from linkgress.model.types import ColumnType
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
    from_json,
    from_json_text,
    to_json,
)

SCHEMA = Schema(
    schemas=("public", "shop"),
    enums=(EnumType(schema="shop", name="mood", values=("happy", "it's")),),
    sequences=(Sequence(schema="shop", name="seq", start=5, max_value=99, cycle=True),),
    tables=(
        Table(schema="shop", name="orders",
              columns=(Column(name="id", type=ColumnType("bigint"), nullable=False,
                              identity="always"),
                       Column(name="price", type=ColumnType("numeric", (10, 2)),
                              default="0.00", comment="net"),
                       Column(name="tags", type=ColumnType("text", dims=2)),
                       Column(name="mood", type=ColumnType("mood", schema="shop",
                                                           is_enum=True))),
              primary_key=PrimaryKey(name="orders_pkey", columns=("id",)),
              uniques=(UniqueConstraint(name="u", columns=("price", "tags"),
                                        nulls_not_distinct=True),),
              checks=(CheckConstraint(name="c", expression="(price > (0)::numeric)"),),
              indexes=(Index(name="ix", columns=("(lower(tags[1]))",), where="(id > 0)"),),
              foreign_keys=(ForeignKey(name="fk", columns=("id",), ref_schema="public",
                                       ref_table="t", ref_columns=("id",),
                                       on_delete="CASCADE"),),
              comment="orders"),
    ),
    notes=("linkgress:model-sha256=abc",),
)


def test_round_trip_through_json_text_keeps_every_field() -> None:
    text = json.dumps(to_json(SCHEMA))
    for decoded in (from_json(json.loads(text)), from_json_text(text)):
        assert decoded == SCHEMA
        assert repr(decoded) == repr(SCHEMA)  # also the fields outside equality (notes)
        assert isinstance(decoded.tables[0].columns, tuple)
        assert decoded.tables[0].columns[1].type.params == (10, 2)


def test_fields_missing_from_an_older_record_take_their_defaults() -> None:
    data = to_json(SCHEMA)
    del data["tables"][0]["indexes"][0]["nulls_not_distinct"]
    del data["notes"]
    decoded = from_json_text(json.dumps(data))
    assert decoded == SCHEMA and decoded.notes == ()


def test_the_encoding_names_each_kind() -> None:
    data = to_json(SCHEMA)
    assert data["__kind__"] == "Schema"
    assert data["tables"][0]["columns"][0]["type"] == {
        "name": "bigint", "params": [], "dims": 0, "schema": None, "is_enum": False,
        "serial": False, "modifier": None, "__kind__": "ColumnType"}
    assert from_json_text(json.dumps([to_json(SCHEMA.enums[0])])) == SCHEMA.enums
