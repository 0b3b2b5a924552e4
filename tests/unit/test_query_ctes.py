"""CTEs compiled without a database: golden SQL, parameters, names, mistakes."""

from __future__ import annotations

import pytest

from linkgress import PgClient, cte, recursive_cte
from linkgress.errors import QueryBuildError
from linkgress.query.shape import shape_of
from tests.integration.query_models import Journal

ARTICLE_NAMES = '"id", "title", "author_id", "editor_id", "views", "published_at"'


def article_columns(alias: str) -> str:
    return ", ".join(f"{alias}.{name}" for name in ARTICLE_NAMES.split(", "))


@pytest.fixture(scope="module")
def db() -> Journal:
    return Journal(PgClient(dsn="postgresql://nobody@127.0.0.1:1/none"))  # never connects


def test_cte_of_entities_is_a_source(db: Journal) -> None:
    busy = cte("busy", db.articles.where(lambda p: p.views > 10))
    text, params = busy.where(lambda p: p.title != "x").sql()
    assert text == (
        f'WITH "busy"({ARTICLE_NAMES}) AS (SELECT {article_columns("t1")} FROM '
        '"public"."articles" AS t1 WHERE (t1."views" > $1)) '
        f'SELECT {article_columns("t0")} FROM "busy" AS t0 WHERE (t0."title" <> $2)')
    assert params == [10, "x"]


@pytest.mark.parametrize(("materialized", "flag"), [
    (None, ""), (True, "MATERIALIZED "), (False, "NOT MATERIALIZED ")])
def test_cte_of_a_dict_joined_with_materialized_flag(db: Journal, materialized: bool | None,
                                                     flag: str) -> None:
    stats = cte("stats", db.articles.group_by(lambda p: p.author_id).select(
        lambda g: {"author_id": g.key, "views": g.sum(lambda p: p.views)}),
        materialized=materialized)
    text, params = (db.authors.join(stats, lambda a, s: s.author_id == a.id)
                    .select(lambda a, s: {"name": a.username, "views": s.views}).sql())
    assert text == (
        f'WITH "stats"("author_id", "views") AS {flag}(SELECT t2."author_id", '
        'sum(t2."views") FROM "public"."articles" AS t2 GROUP BY t2."author_id") '
        'SELECT t0."username", t1."views" FROM "public"."authors" AS t0 '
        'JOIN "stats" AS t1 ON (t1."author_id" = t0."id")')
    assert params == []


def test_recursive_cte(db: Journal) -> None:
    chain = recursive_cte(
        "chain",
        db.authors.where(lambda a: a.username == "alice").select(
            lambda a: {"id": a.id, "depth": 0}),
        lambda t: db.articles.join(t, lambda p, c: p.editor_id == c.id)
        .where(lambda p, c: c.depth < 5)
        .select(lambda p, c: {"id": p.author_id, "depth": c.depth + 1}))
    text, params = chain.order_by(lambda c: c.depth).sql()
    assert text == (
        'WITH RECURSIVE "chain"("id", "depth") AS ((SELECT t1."id", $2::bigint FROM '
        '"public"."authors" AS t1 WHERE (t1."username" = $1)) UNION ALL (SELECT '
        't2."author_id", (t3."depth" + $4) FROM "public"."articles" AS t2 JOIN "chain" AS t3 '
        'ON (t2."editor_id" = t3."id") WHERE (t3."depth" < $3))) '
        'SELECT t0."id", t0."depth" FROM "chain" AS t0 ORDER BY t0."depth"')
    assert params == ["alice", 0, 5, 1]


def test_union_flag_and_two_ctes_in_one_statement(db: Journal) -> None:
    first = cte("first_ones", db.articles.where(lambda p: p.views > 1))
    tree = recursive_cte("tree", db.articles.where(lambda p: p.editor_id == None),  # noqa: E711
                         lambda t: db.articles.join(t, lambda p, u: p.editor_id == u.author_id)
                         .select(lambda p, u: p), union=True)
    text, _ = first.join(tree, lambda f, t: f.id == t.id).select(lambda f, t: f.id).sql()
    assert text.startswith('WITH RECURSIVE "tree"(') and ', "first_ones"(' in text
    assert ') UNION (SELECT ' in text and text.count(" AS (") == 2
    assert text.endswith('FROM "first_ones" AS t0 JOIN "tree" AS t1 ON (t0."id" = t1."id")')


def test_cte_used_twice_is_defined_once_and_in_subqueries(db: Journal) -> None:
    busy = cte("busy", db.articles.where(lambda p: p.views > 10))
    text, params = db.authors.where(lambda a: a.id.in_(busy.select(lambda p: p.author_id))).select(
        lambda a: {"name": a.username,
                   "n": busy.where(lambda p: p.author_id == a.id).count()}).sql()
    assert text.count('"busy"(') == 1 and text.startswith('WITH "busy"(')
    assert params == [10]


def test_cte_shapes_share_cache_keys_and_bind_values(db: Journal) -> None:
    def build(n: int) -> object:
        return cte("busy", db.articles.where(lambda p: p.views > n))._statement()
    one, two = shape_of(build(1)), shape_of(build(2))  # type: ignore[arg-type]
    assert one[0] == two[0] and (one[1], two[1]) == ([1], [2])


@pytest.mark.parametrize("name", [
    'x"; DROP TABLE articles; --', "1abc", "", "a b", "a" * 64, None, "ünï"])
def test_invalid_cte_names_are_refused(db: Journal, name: object) -> None:
    with pytest.raises(QueryBuildError, match="cte name"):
        cte(name, db.articles)  # type: ignore[arg-type]


def test_two_ctes_with_one_name_are_refused(db: Journal) -> None:
    one = cte("same", db.articles.where(lambda p: p.views > 1))
    two = cte("same", db.articles.where(lambda p: p.views > 2))
    with pytest.raises(QueryBuildError, match="two different CTEs are named 'same'"):
        one.join(two, lambda a, b: a.id == b.id).sql()


@pytest.mark.parametrize(("build", "message"), [
    (lambda db: cte("x", db.articles.select(lambda p: p.id)), "dict of columns"),
    (lambda db: cte("x", db.articles, materialized="yes"), "materialized"),
    (lambda db: cte("x", [1, 2]), "needs a query"),
    (lambda db: recursive_cte("x", db.articles.select(lambda p: {"id": p.id}),
                              lambda t: db.articles.select(lambda p: {"other": p.id})),
     "anchor's keys"),
    (lambda db: recursive_cte("x", db.articles, lambda t: db.articles.join(
        t, lambda p, u: p.id == u.id)), "anchor's 6 column"),
    (lambda db: recursive_cte("x", db.articles, db.articles), "lambda self: query"),
    (lambda db: recursive_cte("x", db.articles, lambda t: t, "yes"), "union='yes'"),
])
def test_mistaken_ctes_fail_when_built(db: Journal, build: object, message: str) -> None:
    with pytest.raises(QueryBuildError, match=message):
        build(db)  # type: ignore[operator]


def test_cte_column_names_from_dict_keys_are_quoted(db: Journal) -> None:
    hostile = 'x") AS (SELECT 1); DROP TABLE articles; --'
    text, _ = cte("keys", db.articles.select(lambda p: {hostile: p.id})).sql()
    assert text.startswith('WITH "keys"("x"") AS (SELECT 1); DROP TABLE articles; --") AS (')
    with pytest.raises(QueryBuildError, match="cte column name"):
        cte("keys", db.articles.select(lambda p: {"": p.id}))


def test_write_filtered_through_a_cte_carries_its_with_clause(db: Journal) -> None:
    from linkgress.query.shape import shape_of_write
    from linkgress.query.statements import DeleteStatement
    from linkgress.query.writesql import compile_write

    quiet = cte("quiet", db.articles.where(lambda p: p.views < 10))
    statement = DeleteStatement(db.articles.where(
        lambda p: p.id.in_(quiet.select(lambda q: q.id)))._query)
    _, params, numbers = shape_of_write(statement)
    text = compile_write(statement, numbers)
    assert text == (
        'DELETE FROM "public"."articles" AS t0 WHERE (t0."id") IN (WITH "quiet"('
        f'{ARTICLE_NAMES}) AS (SELECT {article_columns("t3")} FROM "public"."articles" AS t3 '
        'WHERE (t3."views" < $1)) SELECT t1."id" FROM "public"."articles" AS t1 WHERE '
        '(t1."id" IN (SELECT t2."id" FROM "quiet" AS t2)))')
    assert params == [10]


def test_rebuilt_recursive_cte_has_one_shape(db: Journal) -> None:
    def build(name: str) -> object:
        return recursive_cte(
            "chain", db.authors.where(lambda a: a.username == name).select(
                lambda a: {"id": a.id, "depth": 0}),
            lambda t: db.articles.join(t, lambda p, c: p.editor_id == c.id).select(
                lambda p, c: {"id": p.author_id, "depth": c.depth + 1}))._statement()
    one, two = shape_of(build("a")), shape_of(build("b"))  # type: ignore[arg-type]
    assert one[0] == two[0] and one[1][0] == "a" and two[1][0] == "b"


def test_cte_over_another_cte_defines_the_inner_one_first(db: Journal) -> None:
    busy = cte("busy", db.articles.where(lambda p: p.views > 10))
    busier = cte("busier", busy.where(lambda p: p.views > 50))
    text, params = busier.select(lambda p: p.title).sql()
    assert text == (
        f'WITH "busy"({ARTICLE_NAMES}) AS (SELECT {article_columns("t2")} FROM '
        '"public"."articles" AS t2 WHERE (t2."views" > $1)), '
        f'"busier"({ARTICLE_NAMES}) AS (SELECT {article_columns("t1")} FROM "busy" AS t1 '
        'WHERE (t1."views" > $2)) SELECT t0."title" FROM "busier" AS t0')
    assert params == [10, 50]
