"""Subqueries compiled without a database: EXISTS, IN (SELECT ...), scalar subqueries."""

from __future__ import annotations

import pytest

from linkgress import PgClient, exists
from linkgress.errors import QueryBuildError
from linkgress.query.shape import shape_of
from tests.integration.query_models import Journal

AUTHORS = 'FROM "public"."authors" AS t0'
ARTICLES = 'FROM "public"."articles" AS t1'


@pytest.fixture(scope="module")
def db() -> Journal:
    return Journal(PgClient(dsn="postgresql://nobody@127.0.0.1:1/none"))  # never connects


def names(query: object) -> tuple[str, list[object]]:
    return query.select(lambda a: a.username).sql()  # type: ignore[attr-defined, no-any-return]


def test_correlated_exists_and_not_exists(db: Journal) -> None:
    text, params = names(db.authors.where(lambda a: exists(
        db.articles.where(lambda p: (p.author_id == a.id) & (p.views > 10)))))
    assert text == (f'SELECT t0."username" {AUTHORS} WHERE EXISTS (SELECT 1 {ARTICLES} '
                    'WHERE ((t1."author_id" = t0."id") AND (t1."views" > $1)))')
    assert params == [10]
    text, _ = names(db.authors.where(
        lambda a: ~exists(db.articles.where(lambda p: p.author_id == a.id))))
    assert text == (f'SELECT t0."username" {AUTHORS} WHERE (NOT EXISTS (SELECT 1 {ARTICLES} '
                    'WHERE (t1."author_id" = t0."id")))')


def test_in_and_not_in_a_query(db: Journal) -> None:
    text, params = names(db.authors.where(lambda a: a.id.in_(
        db.articles.where(lambda p: p.views > 10).select(lambda p: p.author_id))))
    assert text == (f'SELECT t0."username" {AUTHORS} WHERE (t0."id" IN (SELECT '
                    f't1."author_id" {ARTICLES} WHERE (t1."views" > $1)))')
    assert params == [10]
    text, _ = names(db.authors.where(
        lambda a: a.id.not_in(db.articles.select(lambda p: p.author_id))))
    assert text.endswith('WHERE (t0."id" NOT IN (SELECT t1."author_id" '
                         f'{ARTICLES}))')


def test_scalar_subqueries_in_a_projection(db: Journal) -> None:
    text, params = db.authors.select(lambda a: {
        "name": a.username,
        "articles": db.articles.where(lambda p: p.author_id == a.id).count(),
        "top": db.articles.where(lambda p: p.author_id == a.id)
                          .order_by(lambda p: p.views.desc()).select(lambda p: p.title).first(),
    }).sql()
    assert text == (
        f'SELECT t0."username", (SELECT count(*) {ARTICLES} WHERE (t1."author_id" = t0."id")), '
        '(SELECT t2."title" FROM "public"."articles" AS t2 WHERE (t2."author_id" = t0."id") '
        f'ORDER BY t2."views" DESC LIMIT $1) {AUTHORS}')
    assert params == [1]


def test_scalar_count_compared_in_where(db: Journal) -> None:
    text, params = names(db.authors.where(
        lambda a: a.score < db.articles.where(lambda p: p.author_id == a.id).count()))
    assert text.endswith(f'WHERE (t0."score" < (SELECT count(*) {ARTICLES} '
                         'WHERE (t1."author_id" = t0."id")))')
    assert params == []


def test_subquery_values_stay_parameters_and_shapes_are_shared(db: Journal) -> None:
    def build(value: str) -> object:
        return db.authors.where(lambda a: exists(db.articles.where(
            lambda p: (p.author_id == a.id) & (p.title == value))))._statement()
    hostile = "'; DROP TABLE articles; --"
    one, two = shape_of(build("x")), shape_of(build(hostile))  # type: ignore[arg-type]
    assert one[0] == two[0] and two[1] == [hostile]
    assert hostile not in names(db.authors.where(lambda a: exists(
        db.articles.where(lambda p: p.title == hostile))))[0]


@pytest.mark.parametrize(("build", "message"), [
    (lambda db: db.authors.where(lambda a: a.id.in_(db.articles)), "one column"),
    (lambda db: db.authors.where(lambda a: a.id.in_(db.articles.select(lambda p: p.title))),
     "cannot compare"),
    (lambda db: db.authors.select(lambda a: db.articles.first()), "one column"),
    (lambda db: db.authors.where(lambda a: exists(
        db.articles.union(db.articles))), "union"),
])
def test_mistaken_subqueries_fail_when_built(db: Journal, build: object, message: str) -> None:
    with pytest.raises(QueryBuildError, match=message):
        build(db)  # type: ignore[operator]


def test_other_coroutines_are_refused_not_bound(db: Journal) -> None:
    async def elsewhere() -> int:
        return 1

    with pytest.raises(QueryBuildError, match="is a coroutine, not a value"):
        db.authors.select(lambda a: {"x": elsewhere()})


def test_subquery_over_the_outer_table_gets_its_own_source(db: Journal) -> None:
    text, _ = names(db.authors.where(
        lambda a: exists(db.authors.where(lambda b: b.score > a.score))))
    assert text == (f'SELECT t0."username" {AUTHORS} WHERE EXISTS (SELECT 1 FROM '
                    '"public"."authors" AS t1 WHERE (t1."score" > t0."score"))')
    text, _ = db.authors.select(lambda a: db.authors.order_by(lambda b: b.score).where(
        lambda b: b.score > a.score).select(lambda b: b.username).first()).sql()
    assert text == ('SELECT (SELECT t1."username" FROM "public"."authors" AS t1 WHERE '
                    f'(t1."score" > t0."score") ORDER BY t1."score" LIMIT $1) {AUTHORS}')


def test_joined_subquery_over_the_outer_table_gets_its_own_source(db: Journal) -> None:
    text, _ = names(db.authors.where(lambda a: exists(db.authors.join(
        db.articles, lambda b, p: (p.author_id == b.id) & (b.score > a.score)))))
    assert text.endswith(
        'WHERE EXISTS (SELECT 1 FROM "public"."authors" AS t1 JOIN "public"."articles" AS t2 '
        'ON ((t2."author_id" = t1."id") AND (t1."score" > t0."score")))')
