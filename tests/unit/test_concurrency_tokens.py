"""Concurrency tokens without a database: the model's validation, and the SQL of
``update(entity)`` / ``delete(entity)`` / bulk updates of an entity with a token."""

from __future__ import annotations

from typing import Any

import pytest

from linkgress import (
    DbContext,
    DbModelConfig,
    Entity,
    ModelError,
    PgClient,
    QueryBuildError,
    bigint,
    column,
    serial,
    smallint,
    text,
)
from linkgress.model.build import build_model
from linkgress.model.fluent import DbModelConfig as Config
from linkgress.query.statements import InsertStatement, OnConflict
from linkgress.query.writesql import compile_insert


class Doc(Entity):
    id: int
    title: str = column(text())
    version: int = column(concurrency_token=True)


class Page(Entity):
    id: int
    body: str = column(text())
    revision: int = column(bigint(), default=10)


class Wiki(DbContext):
    docs = DbContext.table(Doc)
    pages = DbContext.table(Page)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Page).has_concurrency_token(lambda p: p.revision)


@pytest.fixture(scope="module")
def db() -> Wiki:
    return Wiki(PgClient(dsn="postgresql://nobody@127.0.0.1:1/none"))  # never connects


def make(*entities: type[Any], setup: Any = None) -> Any:
    config = Config()
    if setup is not None:
        setup(config)
    return build_model({e.__name__.lower() + "s": e for e in entities}, config)


def test_the_token_is_in_the_model_and_starts_at_1(db: Wiki) -> None:
    docs = db.model.entity(Doc)
    assert docs.concurrency_token == "version"
    assert docs.column("version").default == "1" and not docs.column("version").nullable
    pages = db.model.entity(Page)
    assert pages.concurrency_token == "revision"
    assert pages.column("revision").default == "10"  # its own default is kept


def test_entities_without_a_token_have_none(db: Wiki) -> None:
    class Plain(Entity):
        id: int
        version: int = 0

    assert make(Plain).entity(Plain).concurrency_token is None


def _entity(annotation: Any, info: Any) -> type[Any]:
    return type("Bad", (Entity,), {"__annotations__": {"id": int, "version": annotation},
                                   "version": info})


@pytest.mark.parametrize(("annotation", "info", "message"), [
    (str, column(text(), concurrency_token=True), "must be an integer column"),
    (int, column(serial(), concurrency_token=True), "must be an integer column"),
    ("int | None", column(concurrency_token=True), "must be NOT NULL"),
    (int, column(concurrency_token=True, identity=True), "cannot be an identity"),
    (int, column(concurrency_token=True, generated="id * 2"), "generated column"),
    (int, column(concurrency_token=True, deprecated=True), "cannot be deprecated"),
])
def test_a_token_must_be_a_plain_not_null_integer(annotation: Any, info: Any,
                                                  message: str) -> None:
    bad = _entity(annotation, info)
    with pytest.raises(ModelError, match=message) as caught:
        make(bad)
    assert caught.value.entity == "Bad" and caught.value.field == "version"


def test_a_token_cannot_be_the_primary_key() -> None:
    class Keyed(Entity):
        id: int = column(concurrency_token=True)

    with pytest.raises(ModelError, match="cannot be the primary key") as caught:
        make(Keyed)
    assert caught.value.field == "id"


def test_one_token_per_entity() -> None:
    class Twice(Entity):
        id: int
        version: int = column(concurrency_token=True)
        revision: int = column(smallint(), concurrency_token=True)

    with pytest.raises(ModelError, match="more than one concurrency token") as caught:
        make(Twice)
    assert caught.value.entity == "Twice" and caught.value.field == "revision"

    class Fluent(Entity):
        id: int
        version: int = column(concurrency_token=True)
        revision: int = 0

    with pytest.raises(ModelError, match=r"more than one concurrency token \(version, "
                                         r"revision\)"):
        make(Fluent, setup=lambda m: m.entity(Fluent).has_concurrency_token("revision"))


def test_the_fluent_token_must_name_a_column() -> None:
    class Named(Entity):
        id: int

    with pytest.raises(ModelError, match="not a column") as caught:
        make(Named, setup=lambda m: m.entity(Named).has_concurrency_token("version"))
    assert caught.value.field == "version"


def test_update_of_an_entity_checks_and_increments_the_token(db: Wiki) -> None:
    doc = Doc(id=3, title="new", version=7)
    text, params, _ = db.docs.update(doc)._prepare(None)
    assert text == ('UPDATE "public"."docs" AS t0 SET "title" = $1, "version" = '
                    '(t0."version" + $2) WHERE ((t0."id" = $3) AND (t0."version" = $4))')
    assert params == ["new", 1, 3, 7]


def test_delete_of_an_entity_checks_the_token(db: Wiki) -> None:
    text, params, _ = db.docs.delete(Doc(id=3, version=2))._prepare(None)
    assert text == ('DELETE FROM "public"."docs" AS t0 '
                    'WHERE ((t0."id" = $1) AND (t0."version" = $2))')
    assert params == [3, 2]


def test_bulk_updates_move_the_token_on_without_a_check(db: Wiki) -> None:
    text, params, _ = db.pages.where(lambda p: p.id > 5).update({"body": "x"})._prepare(None)
    assert text == ('UPDATE "public"."pages" AS t0 SET "body" = $1, "revision" = '
                    '(t0."revision" + $2) WHERE (t0."id" > $3)')
    assert params == ["x", 1, 5]
    # A token set explicitly is written as given.
    text, params, _ = db.pages.update({"revision": 1})._prepare(None)
    assert text == 'UPDATE "public"."pages" AS t0 SET "revision" = $1'


def test_the_token_value_of_the_entity_is_never_written(db: Wiki) -> None:
    with pytest.raises(QueryBuildError, match="no field set besides its primary key"):
        db.docs.update(Doc(id=1, version=4))


def test_an_unread_token_is_refused(db: Wiki) -> None:
    with pytest.raises(QueryBuildError, match=r"Doc.version \(concurrency token\) is not set"):
        db.docs.update(Doc(id=1, title="blind"))
    with pytest.raises(QueryBuildError, match=r"where\(\.\.\.\)\.delete"):
        db.docs.delete(Doc(id=1))



def test_an_upsert_update_renders_the_increment(db: Wiki) -> None:
    conflict = OnConflict(("id",), "excluded", ("title",), increment="version")
    sql = compile_insert(InsertStatement(db.model.entity(Doc), ("id", "title"), 1, False,
                                         conflict))
    assert sql == ('INSERT INTO "public"."docs" ("id", "title") VALUES ($1, $2) '
                   'ON CONFLICT ("id") DO UPDATE SET "title" = EXCLUDED."title", '
                   '"version" = "public"."docs"."version" + 1')
