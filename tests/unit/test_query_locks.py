"""Row locks without a database: golden SQL of FOR UPDATE / FOR SHARE, their options and
``of=``, and the mistakes refused while the query is built."""

from __future__ import annotations

import re
from typing import Any

import pytest

from linkgress import PgClient
from linkgress.errors import QueryBuildError
from linkgress.query.shape import shape_of
from tests.integration.query_models import Journal

ARTICLES = '"public"."articles" AS t0'
ARTICLE_COLUMNS = ('t0."id", t0."title", t0."author_id", t0."editor_id", t0."views", '
                   't0."published_at"')


@pytest.fixture(scope="module")
def db() -> Journal:
    return Journal(PgClient(dsn="postgresql://nobody@127.0.0.1:1/none"))  # never connects


@pytest.mark.parametrize(("lock", "clause"), [
    (lambda q: q.for_update(), " FOR UPDATE"),
    (lambda q: q.for_share(), " FOR SHARE"),
    (lambda q: q.for_update(skip_locked=True), " FOR UPDATE SKIP LOCKED"),
    (lambda q: q.for_update(nowait=True), " FOR UPDATE NOWAIT"),
    (lambda q: q.for_share(nowait=True), " FOR SHARE NOWAIT"),
    (lambda q: q.for_update(of=lambda a: a), ' FOR UPDATE OF "t0"'),
])
def test_lock_clause_follows_the_page(db: Journal, lock: Any, clause: str) -> None:
    query = lock(db.articles.where(lambda a: a.views > 5).order_by(lambda a: a.id).limit(10))
    text, params = query.sql()
    assert text == (f'SELECT {ARTICLE_COLUMNS} FROM {ARTICLES} WHERE (t0."views" > $1) '
                    f'ORDER BY t0."id" LIMIT $2{clause}')
    assert params == [5, 10]


def test_queue_claim_renders_skip_locked_after_limit(db: Journal) -> None:
    text, params = db.articles.order_by(lambda a: a.id).for_update(skip_locked=True) \
        .limit(10).sql()
    assert text.endswith(' ORDER BY t0."id" LIMIT $1 FOR UPDATE SKIP LOCKED')
    assert params == [10]


def test_of_a_navigation_names_its_join_alias(db: Journal) -> None:
    text, _ = db.articles.where(lambda a: a.author.score > 1) \
        .for_update(of=lambda a: a.author).sql()
    assert 'JOIN "public"."authors" AS t1 ON t1."id" = t0."author_id"' in text
    assert text.endswith(' FOR UPDATE OF "t1"')


def test_of_several_sources_and_the_table(db: Journal) -> None:
    text, _ = db.articles.where(lambda a: a.author.score > 1) \
        .for_update(of=lambda a: (a, a.author)).sql()
    assert text.endswith(' FOR UPDATE OF "t0", "t1"')
    text, _ = db.articles.for_share(of=db.articles, skip_locked=True).sql()
    assert text == f"SELECT {ARTICLE_COLUMNS} FROM {ARTICLES} FOR SHARE OF \"t0\" SKIP LOCKED"


def test_lock_is_part_of_the_shape_key(db: Journal) -> None:
    plain = db.articles.where(lambda a: a.id == 1)
    keys = {shape_of(q._query)[0] for q in (
        plain, plain.for_update(), plain.for_share(), plain.for_update(nowait=True),
        plain.for_update(skip_locked=True), plain.for_update(of=lambda a: a))}
    assert len(keys) == 6


def test_count_and_exists_lock_inside_a_subquery(db: Journal) -> None:
    query = db.articles.where(lambda a: a.views > 5).for_update()
    assert query._prepare("count")[0] == (
        f'SELECT count(*) FROM (SELECT {ARTICLE_COLUMNS} FROM {ARTICLES} '
        'WHERE (t0."views" > $1) FOR UPDATE) AS q')
    assert query._prepare("exists")[0] == (
        f'SELECT EXISTS (SELECT 1 FROM {ARTICLES} WHERE (t0."views" > $1) FOR UPDATE)')


def test_update_of_a_locked_query_claims_through_a_subquery(db: Journal) -> None:
    claim = db.articles.order_by(lambda a: a.id).limit(3).for_update(skip_locked=True) \
        .update({"views": 1})
    text, params, _ = claim._prepare(None)
    assert text == (
        'UPDATE "public"."articles" AS t0 SET "views" = $1 WHERE (t0."id") IN '
        '(SELECT t1."id" FROM "public"."articles" AS t1 ORDER BY t1."id" LIMIT $2 '
        'FOR UPDATE SKIP LOCKED)')
    assert params == [1, 3]


@pytest.mark.parametrize(("build", "message"), [
    (lambda db: db.articles.for_update(skip_locked=True, nowait=True), "exclude each other"),
    (lambda db: db.articles.distinct().for_update(), "distinct() query cannot be locked"),
    (lambda db: db.articles.group_by(lambda a: a.author_id).for_share(),
     "group_by() query cannot be locked"),
    (lambda db: db.articles.for_update(of=db.authors), "the Author table, which is not"),
    (lambda db: db.articles.for_update(of=lambda a: a.title), "of= expects a lambda"),
    (lambda db: db.articles.for_update(of=lambda a: a.remarks), "of= expects a lambda"),
    (lambda db: db.articles.for_update(of=()), "of= names no table"),
    (lambda db: db.articles.for_update(of="articles"), "of= expects a lambda"),
])
def test_mistakes_fail_where_the_lock_is_asked_for(db: Journal, build: Any,
                                                   message: str) -> None:
    with pytest.raises(QueryBuildError, match=re.escape(message)):
        build(db)


def test_locking_a_query_then_making_it_distinct_fails_when_compiled(db: Journal) -> None:
    query = db.articles.for_update().distinct()
    with pytest.raises(QueryBuildError, match="distinct\\(\\) query cannot be locked"):
        query.sql()


def test_the_optional_side_of_a_left_join_is_not_locked(db: Journal) -> None:
    # editor is an optional reference (LEFT JOIN): PostgreSQL refuses to lock its side.
    query = db.articles.where(lambda a: a.editor.score > 1)
    for locked in (query.for_update(), db.articles.for_update(of=lambda a: a.editor)):
        with pytest.raises(QueryBuildError, match="optional side of a LEFT JOIN"):
            locked.sql()
    text, _ = query.for_update(of=lambda a: a).sql()
    assert 'LEFT JOIN "public"."authors" AS t1' in text and text.endswith('FOR UPDATE OF "t0"')


def test_a_locked_union_is_refused(db: Journal) -> None:
    query = db.articles.for_update().union(db.articles.where(lambda a: a.id == 1))
    with pytest.raises(QueryBuildError, match="cannot lock the rows of a union"):
        query.sql()


def test_builders_after_the_lock_keep_it(db: Journal) -> None:
    query = db.articles.for_update().where(lambda a: a.id == 2).select(lambda a: a.title)
    assert query.sql()[0] == ('SELECT t0."title" FROM "public"."articles" AS t0 '
                              'WHERE (t0."id" = $1) FOR UPDATE')
    assert query._locked == "UPDATE"


async def test_running_a_lock_outside_a_transaction_is_refused(db: Journal) -> None:
    query = db.articles.where(lambda a: a.id == 1).for_update(skip_locked=True)
    for run in (query.to_list, query.first, query.count, query.exists):
        with pytest.raises(QueryBuildError, match="for_update\\(\\) needs a transaction"):
            await run()
    with pytest.raises(QueryBuildError, match="for_share\\(\\) needs a transaction"):
        await db.articles.for_share().first_or_none()
    with pytest.raises(QueryBuildError, match="needs a transaction"):
        async for _ in query.stream():
            pass
