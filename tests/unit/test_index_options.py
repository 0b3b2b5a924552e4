"""Index options and unique constraint options: model building, canonical form, DDL, diff and
adoption of existing names (no database)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from linkgress import Entity, ModelError, column, integer, text, varchar
from linkgress.model.build import build_model
from linkgress.model.fluent import DbModelConfig
from linkgress.schema import operations as ops
from linkgress.schema.ddl import create_index_sql, render
from linkgress.schema.diff.adopt import adopt_existing_names
from linkgress.schema.snapshot import Index, UniqueConstraint, canonical_index
from tests.unit.test_diff_support import col, db, ops_of, table


class Doc(Entity):
    id: int
    title: str = column(varchar(100))
    body: str = column(text())
    score: int = column(integer(), name="points")


def _index(**options: Any) -> Index:
    members = options.pop("members", ("title",))

    def setup(model: DbModelConfig) -> None:
        model.entity(Doc).has_index("ix", *members, **options)

    config = DbModelConfig()
    setup(config)
    (entity,) = build_model({"doc": Doc}, config).entities
    (index,) = entity.indexes
    return index


def test_one_value_applies_to_every_key_member_and_a_mapping_to_some() -> None:
    index = _index(members=("title", lambda d: d.score, "(lower(body))"),
                   opclasses={"title": "varchar_pattern_ops"}, collations="C",
                   descending=["score"], nulls={"(lower(body))": "first"},
                   include=[lambda d: d.body])
    assert index.columns == ("title", "points", "(lower(body))")
    assert index.opclasses == ("varchar_pattern_ops", None, None)
    assert index.collations == ("C", "C", "C")
    assert index.descending == (False, True, False)
    assert index.nulls == (None, None, "first")
    assert index.include == ("body",)


def test_defaults_are_canonical_so_they_compare_equal_to_nothing_said() -> None:
    # ASC NULLS LAST and DESC NULLS FIRST are the defaults of their direction.
    assert _index(descending=False, nulls="last") == _index()
    assert _index(descending=True, nulls="first") == _index(descending=True)
    assert _index(descending=True, nulls="last").nulls == ("last",)
    assert canonical_index(Index(name="i", columns=("a", "b"), opclasses=(None, None),
                                 descending=(False, False), nulls=("last", None))) == Index(
        name="i", columns=("a", "b"))


@pytest.mark.parametrize(("options", "message"), [
    ({"opclasses": {"nope": "text_ops"}}, "opclasses= names 'nope'"),
    ({"descending": ["body"]}, "descending= names 'body'"),
    ({"nulls": "middle"}, "nulls= must be 'first' or 'last'"),
    ({"include": ["missing"]}, "include= names unknown column 'missing'"),
    ({"include": ["(lower(body))"]}, "INCLUDE takes columns"),
    ({"method": "gin", "include": ["body"]}, "does not support include="),
    ({"opclasses": ""}, "operator class name ''"),
])
def test_bad_options_are_model_errors_naming_the_index(options: dict[str, Any],
                                                       message: str) -> None:
    with pytest.raises(ModelError, match=message) as info:
        _index(**options)
    assert "'ix'" in str(info.value)


def test_initially_deferred_needs_deferrable() -> None:
    with pytest.raises(ModelError, match="initially_deferred=True needs deferrable=True"):
        DbModelConfig().entity(Doc).has_unique("uq", "title", initially_deferred=True)


def test_create_index_renders_every_option_in_postgresql_order() -> None:
    index = Index(name="ix", columns=("title", "(lower(body))"), unique=True,
                  opclasses=("varchar_pattern_ops", None), collations=("C", None),
                  descending=(True, False), nulls=("last", "first"), include=("points",),
                  where="points > 0")
    assert create_index_sql("public", "doc", index) == (
        'CREATE UNIQUE INDEX "ix" ON "public"."doc" USING btree ('
        '"title" COLLATE "C" "varchar_pattern_ops" DESC NULLS LAST, '
        '(lower(body)) NULLS FIRST) INCLUDE ("points") WHERE points > 0')


def test_unique_constraint_renders_deferrable_and_nulls_not_distinct() -> None:
    unique = UniqueConstraint(name="uq", columns=("a",), nulls_not_distinct=True,
                              deferrable=True, initially_deferred=True)
    assert render(ops.CreateUniqueConstraint(schema="public", table_name="t",
                                             unique=unique)) == [
        'ALTER TABLE "public"."t" ADD CONSTRAINT "uq" UNIQUE NULLS NOT DISTINCT ("a") '
        'DEFERRABLE INITIALLY DEFERRED']


IX = Index(name="ix", columns=("email",))


@pytest.mark.parametrize("changed", [
    replace(IX, opclasses=("text_pattern_ops",)), replace(IX, collations=("C",)),
    replace(IX, descending=(True,)), replace(IX, nulls=("first",)),
    replace(IX, include=("team",)), replace(IX, method="hash"),
])
def test_every_index_option_is_compared(changed: Index) -> None:
    current = db(table("users", col("email"), col("team"), indexes=(IX,)))
    target = db(table("users", col("email"), col("team"), indexes=(changed,)))
    assert [op.type for op in ops_of(current, target)] == ["drop_index", "create_index"]
    assert ops_of(target, target) == []


UQ = UniqueConstraint(name="users_email_key", columns=("email",), generated=True)


def test_unnamed_unique_and_index_adopt_an_equal_existing_one() -> None:
    current = db(table("users", col("email"), uniques=(replace(UQ, name="other"),),
                       indexes=(replace(IX, name="users_email_idx"),)))
    target = db(table("users", col("email"), uniques=(UQ,),
                      indexes=(replace(IX, name="ix_users_email", generated=True),)))
    assert ops_of(current, target) == []
    adopted = adopt_existing_names(current, target).tables[0]
    assert [u.name for u in adopted.uniques] == ["other"]
    assert [i.name for i in adopted.indexes] == ["users_email_idx"]


@pytest.mark.parametrize("existing", [
    replace(UQ, name="other", columns=("team",)),  # another definition
    replace(UQ, name="other", deferrable=True),
])
def test_only_an_equal_definition_is_adopted(existing: UniqueConstraint) -> None:
    current = db(table("users", col("email"), col("team"), uniques=(existing,)))
    target = db(table("users", col("email"), col("team"), uniques=(UQ,)))
    assert [op.type for op in ops_of(current, target)] == ["create_unique_constraint"]


def test_a_named_constraint_is_never_adopted_and_one_existing_serves_once() -> None:
    named = replace(UQ, name="uq_named", generated=False)
    current = db(table("users", col("email"), uniques=(replace(UQ, name="other"),)))
    assert [op.type for op in ops_of(current, db(table("users", col("email"),
                                                       uniques=(named,))))] == [
        "create_unique_constraint"]
    twice = (UQ, replace(UQ, name="users_email_key1"))
    assert [op.type for op in ops_of(current, db(table("users", col("email"),
                                                       uniques=twice)))] == [
        "create_unique_constraint"]


def test_migration_files_keep_index_and_unique_options_as_sql() -> None:
    from linkgress.migrations.render import render_migration

    index = replace(IX, descending=(True,), include=("team",))
    unique = UniqueConstraint(name="uq", columns=("email",), deferrable=True)
    source = render_migration("M", [
        ops.CreateIndex(schema="public", table_name="users", index=index),
        ops.CreateUniqueConstraint(schema="public", table_name="users", unique=unique)],
        docstring="options")
    assert 'DESC) INCLUDE' in source
    assert "DEFERRABLE" in source


def test_nulls_not_distinct_on_an_older_server_is_a_clear_error() -> None:
    from linkgress.schema.server_features import check_server_supports

    schema = db(table("users", col("email"), uniques=(replace(UQ, nulls_not_distinct=True),)))
    check_server_supports(schema, 15)
    with pytest.raises(ModelError, match=r"unique constraint 'users_email_key' on table "
                       r"'public.users' uses nulls_not_distinct, which needs PostgreSQL 15 "
                       r"or newer; the server is PostgreSQL 14"):
        check_server_supports(schema, 14)
    indexed = db(table("users", col("email"), indexes=(replace(IX, nulls_not_distinct=True),)))
    with pytest.raises(ModelError, match="index 'ix'"):
        check_server_supports(indexed, 13)
