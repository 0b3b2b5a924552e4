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


COUNT = f'(SELECT count(*) {ARTICLES} WHERE (t1."author_id" = t0."id"))'


@pytest.mark.parametrize(("build", "where", "params"), [
    (lambda n: n > 1, f"({COUNT} > $1)", [1]),
    (lambda n: 1 < n,  # noqa: SIM300 (the reflected order is the point)
     f"({COUNT} > $1)", [1]),
    (lambda n: n == 2, f"({COUNT} = $1)", [2]),
    (lambda n: 2 == n,  # noqa: SIM300
     f"({COUNT} = $1)", [2]),
    (lambda n: n != 0, f"({COUNT} <> $1)", [0]),
    (lambda n: 0 != n,  # noqa: SIM300
     f"({COUNT} <> $1)", [0]),
    (lambda n: n >= 3, f"({COUNT} >= $1)", [3]),
    (lambda n: 3 <= n,  # noqa: SIM300
     f"({COUNT} >= $1)", [3]),
    (lambda n: n <= 3, f"({COUNT} <= $1)", [3]),
    (lambda n: n + 1 > 2, f"(({COUNT} + $1) > $2)", [1, 2]),
    (lambda n: 10 - n < 8, f"(($1 - {COUNT}) < $2)", [10, 8]),
    (lambda n: 2 * n == 4, f"(($1 * {COUNT}) = $2)", [2, 4]),
    (lambda n: n % 2 == 1, f"(({COUNT} % $1) = $2)", [2, 1]),
    (lambda n: -n < 0, f"((- {COUNT}) < $1)", [0]),
    (lambda n: n.between(1, 2), f"({COUNT} BETWEEN $1 AND $2)", [1, 2]),
    (lambda n: n.in_([1, 3]), f"({COUNT} = ANY($1))", [[1, 3]]),
])
def test_scalar_count_on_either_side_of_an_operator(
        db: Journal, build: object, where: str, params: list[object]) -> None:
    text, bound = names(db.authors.where(
        lambda a: build(  # type: ignore[operator]
            db.articles.where(lambda p: p.author_id == a.id).count())))
    assert text == f'SELECT t0."username" {AUTHORS} WHERE {where}'
    assert bound == params


def test_scalar_subqueries_combine_compare_and_sort(db: Journal) -> None:
    text, params = names(db.authors.where(
        lambda a: (db.articles.where(lambda p: p.author_id == a.id).count() > 0)
        & (a.score < db.articles.where(lambda p: p.author_id == a.id).count())))
    assert text.endswith(f'WHERE (({COUNT} > $1) AND (t0."score" < (SELECT count(*) FROM '
                         '"public"."articles" AS t2 WHERE (t2."author_id" = t0."id"))))')
    assert params == [0]
    text, params = names(db.authors.where(
        lambda a: db.articles.where(lambda p: p.author_id == a.id).order_by(
            lambda p: p.views.desc()).select(lambda p: p.title).first() == "Hello"))
    assert text.endswith(f'WHERE ((SELECT t1."title" {ARTICLES} WHERE (t1."author_id" = '
                         't0."id") ORDER BY t1."views" DESC LIMIT $1) = $2)')
    assert params == [1, "Hello"]
    text, params = names(db.authors.where(
        lambda a: db.articles.where(lambda p: p.author_id == a.id).select(
            lambda p: p.views).first().coalesce(0) >= 20))
    assert text.endswith(f'WHERE (coalesce((SELECT t1."views" {ARTICLES} WHERE '
                         '(t1."author_id" = t0."id") LIMIT $1), $2) >= $3)')
    assert params == [1, 0, 20]
    text, _ = names(db.authors.order_by(
        lambda a: db.articles.where(lambda p: p.author_id == a.id).count().desc()))
    assert text.endswith(f"{AUTHORS} ORDER BY {COUNT} DESC")
    text, _ = names(db.authors.order_by(
        lambda a: db.articles.where(lambda p: p.author_id == a.id).count(), descending=True))
    assert text.endswith(f"{AUTHORS} ORDER BY {COUNT} DESC")


def test_scalar_subquery_mistakes_still_fail_where_they_are_made(db: Journal) -> None:
    with pytest.raises(QueryBuildError, match="one column"):
        db.authors.where(lambda a: db.articles.first() == 1)
    with pytest.raises(QueryBuildError, match="cannot use '>'"):
        db.authors.where(lambda a: db.articles.where(
            lambda p: p.author_id == a.id).count() > "many")
    with pytest.raises(QueryBuildError, match="no truth value: await it"):
        bool(db.articles.count())


GROUPED = 'FROM "public"."articles" AS t0 GROUP BY t0."author_id"'


def test_grouped_query_subqueries_over_the_same_table_get_their_own_alias(db: Journal) -> None:
    text, params = db.articles.group_by(lambda p: p.author_id).having(
        lambda g: exists(db.articles.where(
            lambda p2: (p2.author_id == g.key) & (p2.views >= 20)))).select(lambda g: {
        "author": g.key,
        "popular": db.articles.where(
            lambda p2: (p2.author_id == g.key) & (p2.views >= 20)).count(),
    }).sql()
    assert text == (
        'SELECT t0."author_id", (SELECT count(*) FROM "public"."articles" AS t1 WHERE '
        '((t1."author_id" = t0."author_id") AND (t1."views" >= $1))) '
        f'{GROUPED} HAVING EXISTS (SELECT 1 FROM "public"."articles" AS t2 WHERE '
        '((t2."author_id" = t0."author_id") AND (t2."views" >= $2)))')
    assert params == [20, 20]


def test_grouped_having_compares_a_same_table_count(db: Journal) -> None:
    text, params = db.articles.group_by(lambda p: p.author_id).having(
        lambda g: db.articles.where(lambda p2: (p2.author_id == g.key)
                                    & (p2.views > 10)).count() > 1).select(
        lambda g: g.key).sql()
    assert text == (
        f'SELECT t0."author_id" {GROUPED} HAVING ((SELECT count(*) FROM "public"."articles" '
        'AS t1 WHERE ((t1."author_id" = t0."author_id") AND (t1."views" > $1))) > $2)')
    assert params == [10, 1]
