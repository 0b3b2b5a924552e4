"""``render_model`` (pure): names that are not identifiers, names that would shadow what the
module imports, enums, composite keys, notes — the source compiles and builds the model."""

from __future__ import annotations

import sys
import types

from linkgress import DbContext, PgClient
from linkgress.model.types import ColumnType
from linkgress.schema.from_model import schema_from_model
from linkgress.schema.introspect.parse import canonical_table
from linkgress.schema.pull import render_model
from linkgress.schema.snapshot import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    PrimaryKey,
    Schema,
    Table,
    UniqueConstraint,
)

INT = ColumnType("integer")
TEXT = ColumnType("text")


def _model_schema(context: type[DbContext]) -> Schema:
    """The schema the context's model states (a client that never connects)."""
    return schema_from_model(context(PgClient(dsn="postgresql://nobody@127.0.0.1:1/none")).model)


def _load(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, name, "exec"), module.__dict__)
    return module


SHADOWING = Table(
    schema="public", name="transaction",
    columns=(Column(name="id", type=INT, nullable=False, identity="by default"),
             Column(name="text", type=TEXT),
             Column(name="column", type=ColumnType("bytea")),
             Column(name="bytes", type=ColumnType("bytea")),
             Column(name="date", type=ColumnType("date")),
             Column(name="dt", type=ColumnType("timestamp with time zone")),
             Column(name="class", type=TEXT),
             Column(name="2nd place", type=ColumnType("integer", dims=1)),
             Column(name="--", type=TEXT)),
    primary_key=PrimaryKey(name="transaction_pkey", columns=("id",)))


def test_attributes_never_shadow_what_the_module_uses() -> None:
    source = render_model(Schema(schemas=("public",), tables=(SHADOWING,)))
    assert "from linkgress import (" in source
    assert "column as column_" in source and "text as text_" in source
    assert "import datetime as dt_" in source
    assert 'bytes_2: bytes | None = column_(bytea(), name="bytes")' in source
    assert 'class_: str | None = column_(text_(), name="class")' in source
    assert 'n2nd_place: list[int] | None = column_(array(integer()), name="2nd place")' in source
    assert 'field: str | None = column_(text_(), name="--")' in source
    assert "    transaction_2 = DbContext.table(Transaction)" in source
    (table,) = _model_schema(_load(source, "pulled_shadowing").Database).tables
    assert canonical_table(table) == canonical_table(SHADOWING)


def test_enums_keys_constraints_and_indexes_are_stated_in_setup_model() -> None:
    rating = EnumType(schema="public", name="mpaa_rating", values=("G", "PG-13", "NC-17", "13"))
    film = Table(
        schema="shop", name="film",
        columns=(Column(name="film_id", type=INT, nullable=False),
                 Column(name="store_id", type=INT, nullable=False),
                 Column(name="rating", type=ColumnType("mpaa_rating", schema="public",
                                                       is_enum=True)),
                 Column(name="title", type=TEXT, nullable=False)),
        primary_key=PrimaryKey(name="film_pk", columns=("store_id", "film_id")),
        uniques=(UniqueConstraint(name="film_title_key", columns=("title",)),
                 UniqueConstraint(name="film_title_store", columns=("title", "store_id"))),
        checks=(CheckConstraint(name="film_title_check", expression="(length(title) > 0)"),),
        indexes=(Index(name="ix_film_lower", columns=("(lower(title))",), where="(film_id > 0)"),
                 Index(name="ix_film_rating", columns=("rating",))))
    credit = Table(
        schema="shop", name="credit",
        columns=(Column(name="id", type=INT, nullable=False, identity="always"),
                 Column(name="film_id", type=INT, nullable=False),
                 Column(name="store_id", type=INT, nullable=False)),
        primary_key=PrimaryKey(name="credit_pkey", columns=("id",)),
        foreign_keys=(ForeignKey(name="credit_film_fk", columns=("store_id", "film_id"),
                                 ref_schema="shop", ref_table="film",
                                 ref_columns=("store_id", "film_id"), on_delete="CASCADE"),))
    schema = Schema(schemas=("public", "shop"), enums=(rating,), tables=(film, credit),
                    notes=("view 'shop.films_by_store' is not managed by linkgress: left "
                           "alone, never dropped",))
    source = render_model(schema, default_schema="shop", context="Shop")
    assert "# - view 'shop.films_by_store' is not managed by linkgress" in source
    assert 'PG_13 = "PG-13"' in source and 'N13 = "13"' in source
    assert 'model.has_enum(MpaaRating, name="mpaa_rating", schema="public")' in source
    assert 'model.entity(Film).has_key("store_id", "film_id", name="film_pk")' in source
    assert 'model.entity(Film).has_unique("film_title_store", "title", "store_id")' in source
    assert 'title: str = column(text(), unique=True)' in source
    assert 'rating: MpaaRating | None = column(index=True)' in source
    assert ('has_index("ix_film_lower", "(lower(title))", where="(film_id > 0)")' in source)
    assert '.with_principal_key("store_id", "film_id")' in source
    assert 'identity="always"' in source
    assert all(len(line) <= 100 for line in source.splitlines())
    module = _load(source, "pulled_shop")
    assert module.MpaaRating("PG-13").name == "PG_13"
    stated = _model_schema(module.Shop)
    assert stated.enums == (rating,)
    assert {t.name: canonical_table(t) for t in stated.tables} == {
        "film": canonical_table(film), "credit": canonical_table(credit)}
