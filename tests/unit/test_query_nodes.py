"""Every node type has a walker and a renderer, and the statement values render as SQL.

A node class registered with ``linkgress.query.expressions.node`` but missing from the shape
walker's or the compiler's table would fail only when a user's query first contains it; this
fails here instead (SQLAlchemy's compiler tests do the same for its visitors).
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import linkgress.query
from linkgress import PgClient
from linkgress.query.compiler import RENDERERS
from linkgress.query.expressions import NODE_TYPES, Param
from linkgress.query.proxies import CollectionAggregate, CollectionExists, CollectionList
from linkgress.query.shape import WALKERS, shape_of_write
from linkgress.query.statements import (
    WHERE,
    DeleteStatement,
    InsertStatement,
    OnConflict,
    UpdateStatement,
    replace_field,
)
from linkgress.query.writesql import compile_insert, compile_write
from tests.integration.query_models import Journal

AUTHORS = '"public"."authors"'


@pytest.fixture(scope="module")
def db() -> Journal:
    return Journal(PgClient(dsn="postgresql://nobody@127.0.0.1:1/none"))  # never connects


def test_every_node_type_has_a_walker_and_a_renderer() -> None:
    for module in pkgutil.iter_modules(linkgress.query.__path__):
        importlib.import_module(f"linkgress.query.{module.name}")  # every module registers
    assert {CollectionAggregate, CollectionExists, CollectionList} <= set(NODE_TYPES)
    assert len(NODE_TYPES) >= 13
    missing_walkers = [t.__name__ for t in NODE_TYPES if t not in WALKERS]
    missing_renderers = [t.__name__ for t in NODE_TYPES if t not in RENDERERS]
    assert missing_walkers == [] and missing_renderers == []


def test_replace_field_changes_one_field_only(db: Journal) -> None:
    query = db.authors.where(lambda a: a.id == 1)._query
    condition = db.authors.where(lambda a: a.score > 2)._query.where
    changed = replace_field(query, WHERE, condition)
    assert changed.where is condition and changed.source is query.source
    assert query.where is not condition  # the original value is unchanged


def test_update_statement_renders_sets_then_filter_then_key(db: Journal) -> None:
    filter = db.authors.where(lambda a: a.score > 3)._query
    source = filter.source
    sets = ((source.columns["score"], Param(7, None)),)
    key = source.columns["id"] == 5
    statement = UpdateStatement(filter, sets, key)
    _, params, numbers = shape_of_write(statement)
    assert params == [7, 5, 3]  # SET values first, then the key, then the filter
    assert compile_write(statement, numbers) == (
        f'UPDATE {AUTHORS} AS t0 SET "score" = $1 WHERE (t0."score" > $3) AND '
        '(t0."id" = $2)')


def test_delete_statement_with_returning(db: Journal) -> None:
    filter = db.authors._query
    projection = db.authors.select(lambda a: a.username)._query.projection
    statement = DeleteStatement(filter, None, projection)
    _, params, numbers = shape_of_write(statement)
    assert params == []
    assert compile_write(statement, numbers) == (
        f'DELETE FROM {AUTHORS} AS t0 RETURNING t0."username"')


def test_insert_statement_renders_values_conflict_and_returning(db: Journal) -> None:
    meta = db.authors.meta
    assert compile_insert(InsertStatement(meta, ("username", "score"), 2)) == (
        f'INSERT INTO {AUTHORS} ("username", "score") VALUES ($1, $2), ($3, $4)')
    assert compile_insert(InsertStatement(meta, (), returning=True)).startswith(
        f'INSERT INTO {AUTHORS} DEFAULT VALUES RETURNING "id", "username"')
    bound = OnConflict(("username",), "bound", ("score",))
    assert compile_insert(InsertStatement(meta, ("username",), 2, conflict=bound)) == (
        f'INSERT INTO {AUTHORS} ("username") VALUES ($1), ($2) '
        'ON CONFLICT ("username") DO UPDATE SET "score" = $3')
    excluded = OnConflict(("username",), "excluded", ("score",))
    assert compile_insert(InsertStatement(meta, ("username", "score"), conflict=excluded)) == (
        f'INSERT INTO {AUTHORS} ("username", "score") VALUES ($1, $2) '
        'ON CONFLICT ("username") DO UPDATE SET "score" = EXCLUDED."score"')
    nothing = OnConflict(("username",))
    assert compile_insert(InsertStatement(meta, ("username",), conflict=nothing)).endswith(
        'ON CONFLICT ("username") DO NOTHING')


def test_update_by_key_reuses_the_statement_of_the_general_path(db: Journal) -> None:
    from tests.integration.query_models import Author, Mood

    def prepared(author: Author, general: bool) -> tuple[str, list[object]]:
        query = db.authors.update(author)
        if general:
            query._by_key = None
        text, params, _ = query._prepare(None)
        return text, params

    for author_id, mood in ((3, Mood.GRUMPY), (4, Mood.HAPPY)):
        author = Author(username="ann", mood=mood, score=2)
        author.id = author_id
        expected = prepared(author, general=True)
        assert expected[1] == ["ann", mood.value, 2, author_id]
        assert prepared(author, general=False) == expected
        assert prepared(author, general=False) == expected  # from the key-only cache entry
