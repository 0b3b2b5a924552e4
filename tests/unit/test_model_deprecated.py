"""``column(deprecated=True)`` in the model and the differ (no database)."""

from __future__ import annotations

from typing import Any

import pytest

from linkgress import Entity, ModelError, column, text, varchar
from linkgress.model.build import build_model
from linkgress.model.fluent import DbModelConfig
from linkgress.schema import operations as ops
from linkgress.schema.diff import diff
from linkgress.schema.from_model import schema_from_model


class Customer(Entity):
    id: int
    name: str = column(varchar(100), deprecated=True)
    tag: str = column(text(), default="x", deprecated=True)
    display_name: str | None = column(text())


def model(*entities: type[Any]) -> Any:
    return build_model({"customers": entities[0]}, DbModelConfig())


def test_the_orm_sees_only_live_columns_and_the_table_keeps_all() -> None:
    meta = model(Customer).entity(Customer)
    assert [c.attr for c in meta.columns] == ["id", "display_name"]
    assert set(meta.by_attr) == {"id", "display_name"}
    assert [(c.attr, c.nullable) for c in meta.deprecated_columns] == [
        ("name", True), ("tag", False)]  # nullable unless the database can fill it
    table = schema_from_model(model(Customer)).tables[0]
    assert [(c.name, c.nullable) for c in table.columns] == [
        ("id", False), ("display_name", True), ("name", True), ("tag", False)]


def test_the_differ_relaxes_not_null_and_never_drops_a_deprecated_column() -> None:
    class Before(Entity):
        id: int
        name: str = column(varchar(100))
        tag: str = column(text(), default="x")
        display_name: str | None = column(text())

    current = schema_from_model(model(Before))
    target = schema_from_model(model(Customer))
    result = diff(current, target, managed=current)
    [relax] = result.operations
    assert isinstance(relax, ops.AlterColumn)
    assert relax.describe() == "Alter column 'customers.name' (drop NOT NULL)"
    assert not relax.is_destructive

    class Removed(Entity):
        id: int
        display_name: str | None = column(text())

    drops = diff(target, schema_from_model(model(Removed)), managed=target).operations
    assert sorted(op.describe() for op in drops) == [
        "Drop column 'customers.name'", "Drop column 'customers.tag'"]
    assert all(op.is_destructive for op in drops)


def test_a_primary_key_cannot_be_deprecated() -> None:
    class Bad(Entity):
        id: int = column(primary_key=True, deprecated=True)
        name: str

    with pytest.raises(ModelError, match="a primary key column cannot be deprecated"):
        model(Bad)
