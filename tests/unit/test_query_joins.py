"""Explicit joins compiled without a database: golden SQL, parameters, mistakes."""

from __future__ import annotations

import pytest

from linkgress import PgClient
from linkgress.errors import QueryBuildError
from tests.integration.query_models import Journal

ARTICLES = '"public"."articles" AS t0'
AUTHOR_COLUMNS = ('{a}."id", {a}."username", {a}."email", {a}."mood", {a}."score", '
                  '{a}."profile", {a}."created_at"')


@pytest.fixture(scope="module")
def db() -> Journal:
    return Journal(PgClient(dsn="postgresql://nobody@127.0.0.1:1/none"))  # never connects


def test_join_selects_one_entity_per_source(db: Journal) -> None:
    text, params = db.articles.join(db.authors, lambda p, a: p.author_id == a.id).sql()
    assert text == (
        'SELECT t0."id", t0."title", t0."author_id", t0."editor_id", t0."views", '
        f't0."published_at", {AUTHOR_COLUMNS.format(a="t1")} FROM {ARTICLES} '
        'JOIN "public"."authors" AS t1 ON (t0."author_id" = t1."id")')
    assert params == []


def test_left_join_then_where_select_order_take_one_parameter_per_source(db: Journal) -> None:
    text, params = (db.articles.left_join(db.authors, lambda p, a: p.editor_id == a.id)
                    .where(lambda p, a: (a.score > 5) | (p.views == 7))
                    .select(lambda p, a: {"title": p.title, "editor": a.username})
                    .order_by(lambda p, a: a.username).sql())
    assert text == (
        f'SELECT t0."title", t1."username" FROM {ARTICLES} '
        'LEFT JOIN "public"."authors" AS t1 ON (t0."editor_id" = t1."id") '
        'WHERE ((t1."score" > $1) OR (t0."views" = $2)) ORDER BY t1."username"')
    assert params == [5, 7]


def test_filtered_query_joins_as_a_derived_table(db: Journal) -> None:
    low = 6
    text, params = (db.articles.join(db.authors.where(lambda a: a.score > low),
                                     lambda p, a: p.author_id == a.id)
                    .select(lambda p, a: (p.id, a.id)).sql())
    assert text == (
        f'SELECT t0."id", t1."id" FROM {ARTICLES} JOIN (SELECT '
        f'{AUTHOR_COLUMNS.format(a="t2")} FROM "public"."authors" AS t2 WHERE '
        '(t2."score" > $1)) AS t1 ON (t0."author_id" = t1."id")')
    assert params == [6]


def test_self_join_and_three_sources(db: Journal) -> None:
    text, params = (db.authors.join(db.authors, lambda a, b: a.score < b.score)
                    .join(db.articles, lambda a, b, p: p.author_id == b.id)
                    .select(lambda a, b, p: (a.id, b.id, p.title)).sql())
    assert text == (
        'SELECT t0."id", t1."id", t2."title" FROM "public"."authors" AS t0 '
        'JOIN "public"."authors" AS t1 ON (t0."score" < t1."score") '
        'JOIN "public"."articles" AS t2 ON (t2."author_id" = t1."id")')
    assert params == []


def test_self_join_of_a_filtered_query_keeps_the_outer_alias(db: Journal) -> None:
    text, _ = (db.authors.join(db.authors.where(lambda b: b.score > 1),
                               lambda a, b: a.id == b.id)
               .select(lambda a, b: a.id).sql())
    assert text.endswith('WHERE (t2."score" > $1)) AS t1 ON (t0."id" = t1."id")')


def test_navigation_from_a_joined_source_joins_after_it(db: Journal) -> None:
    text, _ = (db.authors.join(db.articles, lambda a, p: p.author_id == a.id)
               .select(lambda a, p: p.editor.username).sql())
    assert text == (
        'SELECT t2."username" FROM "public"."authors" AS t0 '
        'JOIN "public"."articles" AS t1 ON (t1."author_id" = t0."id") '
        'LEFT JOIN "public"."authors" AS t2 ON t2."id" = t1."editor_id"')


def test_group_by_after_join(db: Journal) -> None:
    text, _ = (db.articles.join(db.authors, lambda p, a: p.author_id == a.id)
               .group_by(lambda p, a: a.username)
               .select(lambda g: {"name": g.key, "views": g.sum(lambda p, a: p.views)}).sql())
    assert text == (
        f'SELECT t1."username", sum(t0."views") FROM {ARTICLES} '
        'JOIN "public"."authors" AS t1 ON (t0."author_id" = t1."id") GROUP BY t1."username"')


def test_hostile_value_in_a_join_condition_stays_a_parameter(db: Journal) -> None:
    hostile = "'; DROP TABLE authors; --"
    text, params = db.articles.join(
        db.authors, lambda p, a: (p.author_id == a.id) & (a.username == hostile)).sql()
    assert hostile not in text and params == [hostile]


def test_join_shapes_share_one_cache_entry(db: Journal) -> None:
    from linkgress.query.shape import shape_of

    def build(n: int) -> object:
        return db.articles.join(db.authors.where(lambda a: a.score > n),
                                lambda p, a: p.author_id == a.id)._statement()  # type: ignore
    one, two = shape_of(build(1)), shape_of(build(2))  # type: ignore[arg-type]
    assert one[0] == two[0] and one[1] == [1] and two[1] == [2]
    left = db.articles.left_join(db.authors, lambda p, a: p.author_id == a.id)._statement()
    inner = db.articles.join(db.authors, lambda p, a: p.author_id == a.id)._statement()
    assert shape_of(left)[0] != shape_of(inner)[0]


@pytest.mark.parametrize(("build", "message"), [
    (lambda db: db.articles.join(db.authors, lambda p: p.id == 1), "takes 1 parameter"),
    (lambda db: db.articles.join(db.authors, lambda p, a: p.id == a.id).where(
        lambda p: p.id == 1), "one parameter per joined query"),
    (lambda db: db.articles.join(db.authors, lambda p, a: p.views + a.score),
     "needs a condition"),
    (lambda db: db.articles.select(lambda p: p.id).join(
        db.authors, lambda p, a: p.author_id == a.id), "before select()"),
    (lambda db: db.articles.limit(3).join(db.authors, lambda p, a: p.author_id == a.id),
     "before limit()"),
    (lambda db: db.articles.join(db.authors.select(lambda a: a.id),
                                 lambda p, a: p.author_id == a.id), "cannot be joined"),
    (lambda db: db.articles.join(db.authors, lambda p, a: p.author_id == a.id).update(
        {"views": 1}), "joined query"),
    (lambda db: db.articles.join(db.authors, lambda p, a: p.author_id == a.id).delete(),
     "joined query"),
])
def test_mistaken_joins_fail_when_built(db: Journal, build: object, message: str) -> None:
    with pytest.raises(QueryBuildError, match=message):
        build(db)  # type: ignore[operator]


def test_required_navigation_from_a_left_joined_source_stays_a_left_join(db: Journal) -> None:
    text, _ = (db.authors.left_join(db.articles, lambda a, p: p.editor_id == a.id)
               .select(lambda a, p: p.author.username).sql())
    assert text == (
        'SELECT t2."username" FROM "public"."authors" AS t0 '
        'LEFT JOIN "public"."articles" AS t1 ON (t1."editor_id" = t0."id") '
        'LEFT JOIN "public"."authors" AS t2 ON t2."id" = t1."author_id"')
    # ... and so does one behind an optional navigation
    text, _ = db.remarks.select(lambda r: r.article.author.username).sql()
    assert 'JOIN "public"."authors" AS t2' in text and "LEFT" not in text


def test_a_join_condition_may_follow_the_left_sides_navigation_not_the_joined_ones(
        db: Journal) -> None:
    text, _ = db.remarks.join(
        db.authors, lambda r, a: r.article.author_id == a.id).select(lambda r, a: a.id).sql()
    assert " JOIN " in text and text.count("JOIN") == 2
    with pytest.raises(QueryBuildError, match="cannot follow a navigation of the table being "
                                              "joined"):
        db.authors.join(db.articles, lambda a, p: p.author.id == a.id).sql()
