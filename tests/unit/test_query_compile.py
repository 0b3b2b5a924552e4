"""The query compiler, without a database: golden SQL and parameters, hostile values, shape
keys, and build-time errors."""

from __future__ import annotations

from typing import Any

import pytest

from linkgress import PgClient
from linkgress.errors import QueryBuildError
from linkgress.query import func, sql
from linkgress.query.shape import shape_of
from linkgress.query.writesql import compile_predicate
from tests.integration.query_models import Journal, Mood

AUTHOR_COLUMNS = ('t0."id", t0."username", t0."email", t0."mood", t0."score", t0."profile", '
                  't0."created_at"')
AUTHORS = '"public"."authors" AS t0'


@pytest.fixture(scope="module")
def db() -> Journal:
    return Journal(PgClient(dsn="postgresql://nobody@127.0.0.1:1/none"))  # never connects


@pytest.mark.parametrize(("build", "where", "params"), [
    (lambda a: a.username == "alice", '(t0."username" = $1)', ["alice"]),
    (lambda a: a.email == None, '(t0."email" IS NULL)', []),  # noqa: E711
    (lambda a: a.email != None, '(t0."email" IS NOT NULL)', []),  # noqa: E711
    (lambda a: a.email.is_null() | ~(a.score >= 3),
     '((t0."email" IS NULL) OR (NOT (t0."score" >= $1)))', [3]),
    (lambda a: a.id.in_([1, 2]), '(t0."id" = ANY($1::integer[]))', [[1, 2]]),
    (lambda a: a.id.in_([]), '(t0."id" = ANY($1::integer[]))', [[]]),
    (lambda a: a.score.between(1, 5), '(t0."score" BETWEEN $1 AND $2)', [1, 5]),
    (lambda a: a.username.startswith("50%_off\\"), '(t0."username" LIKE $1)',
     ["50\\%\\_off\\\\%"]),
    (lambda a: a.username.ilike("A%"), '(t0."username" ILIKE $1)', ["A%"]),
    (lambda a: a.mood == Mood.GRUMPY, '(t0."mood" = $1)', ["grumpy"]),
    (lambda a: (a.score + 1) * 2 > a.id, '(((t0."score" + $1) * $2) > t0."id")', [1, 2]),
    (lambda a: 10 < a.score, '(t0."score" > $1)', [10]),  # noqa: SIM300
    (lambda a: func.lower(a.username) == "x", '(lower(t0."username") = $1)', ["x"]),
    (lambda a: a.email.coalesce("-") == "-", '(coalesce(t0."email", $1) = $2)', ["-", "-"]),
    (lambda a: sql("$1 % $2 = 0", a.score, 2), '((t0."score") % ($1::bigint) = 0)', [2]),
])
def test_where_golden(db: Journal, build: object, where: str, params: list[object]) -> None:
    text, bound = db.authors.where(build).sql()  # type: ignore[arg-type]
    assert text == f"SELECT {AUTHOR_COLUMNS} FROM {AUTHORS} WHERE {where}"
    assert bound == params


@pytest.mark.parametrize("hostile", [
    "'; DROP TABLE authors; --", 'x" OR "1"="1', "$$ $x$ $9", "\\'", "ünï\x7f",
    "a' || (SELECT 1) || '",
])
def test_hostile_values_stay_parameters(db: Journal, hostile: str) -> None:
    text, params = db.authors.where(lambda a: (a.username == hostile) | (
        a.email.contains(hostile))).sql()
    assert hostile not in text
    assert text.endswith('WHERE ((t0."username" = $1) OR (t0."email" LIKE $2))')
    assert params[0] == hostile


def test_ordering_paging_distinct(db: Journal) -> None:
    text, params = (db.authors.order_by(lambda a: a.score, descending=True, nulls="last")
                    .then_by(lambda a: (a.username, a.id.desc()))
                    .offset(20).limit(10).select(lambda a: a.username).distinct().sql())
    assert text == (f'SELECT DISTINCT t0."username" FROM {AUTHORS} ORDER BY t0."score" DESC '
                    'NULLS LAST, t0."username", t0."id" DESC LIMIT $1 OFFSET $2')
    assert params == [10, 20]


def test_reference_navigations_join_once(db: Journal) -> None:
    text, params = db.articles.where(lambda p: p.author.username == "bob").select(
        lambda p: {"t": p.title, "a": p.author.score, "e": p.editor.username}).sql()
    assert text == (
        'SELECT t0."title", t1."score", t2."username" FROM "public"."articles" AS t0 '
        'JOIN "public"."authors" AS t1 ON t1."id" = t0."author_id" '
        'LEFT JOIN "public"."authors" AS t2 ON t2."id" = t0."editor_id" '
        'WHERE (t1."username" = $1)')
    assert params == ["bob"]


def test_collections_compile_to_correlated_subqueries(db: Journal) -> None:
    text, params = db.authors.select(lambda u: {
        "n": u.articles.count(),
        "any": u.articles.any(lambda p: p.views > 5),
        "titles": u.articles.order_by(lambda p: p.title).limit(3).select(
            lambda p: (p.title, p.author.username)).to_list(),
    }).sql()
    assert text == (
        'SELECT (SELECT count(*) FROM "public"."articles" AS t1 WHERE t1."author_id" = t0."id"'
        '), EXISTS (SELECT 1 FROM "public"."articles" AS t2 WHERE t2."author_id" = t0."id" '
        'AND (t2."views" > $1)), array(SELECT ROW(t3."title", t4."username") FROM '
        '"public"."articles" AS t3 JOIN "public"."authors" AS t4 ON t4."id" = t3."author_id" '
        'WHERE t3."author_id" = t0."id" ORDER BY t3."title" LIMIT $2) '
        f'FROM {AUTHORS}')
    assert params == [5, 3]


def test_group_by_reuses_a_parameter_used_twice(db: Journal) -> None:
    text, params = db.articles.group_by(
        lambda p: func.date_trunc("day", p.published_at)).having(
        lambda g: g.count() > 1).select(lambda g: {"day": g.key, "n": g.count()}).sql()
    assert text == (
        'SELECT date_trunc($1::text, t0."published_at"), count(*) FROM "public"."articles" AS t0'
        ' GROUP BY date_trunc($1::text, t0."published_at") HAVING (count(*) > $2)')
    assert params == ["day", 1]


def test_union_parenthesises_parts(db: Journal) -> None:
    a = db.authors.where(lambda x: x.score > 1).order_by(lambda x: x.id).limit(1)
    text, params = a.select(lambda x: x.id).union_all(
        db.authors.select(lambda x: x.id)).sql()
    assert text == (f'(SELECT t0."id" FROM {AUTHORS} WHERE (t0."score" > $1) ORDER BY t0."id" '
                    'LIMIT $2) UNION ALL (SELECT t1."id" FROM "public"."authors" AS t1)')
    assert params == [1, 1]


def where_sql(query: Any, offset: int = 0) -> tuple[str, list[Any]]:
    """The filter of ``query`` as UPDATE / DELETE render it, parameters from ``$offset+1``."""
    statement = query._statement()
    _, params, numbers = shape_of(statement, "where")
    shifted = {k: v + offset for k, v in numbers.items()}
    return compile_predicate(statement, shifted), params


def test_where_sql_for_mutations(db: Journal) -> None:
    assert where_sql(db.authors) == ("", [])
    assert where_sql(db.authors.where(lambda a: a.id == 5), 2) == ('(t0."id" = $3)', [5])
    text, params = where_sql(db.articles.where(lambda p: p.author.username == "x"), 1)
    assert text == ('(t0."id") IN (SELECT t1."id" FROM "public"."articles" AS t1 JOIN '
                    '"public"."authors" AS t2 ON t2."id" = t1."author_id" '
                    'WHERE (t2."username" = $2))')
    assert params == ["x"]


def test_shape_key_ignores_values_but_not_structure(db: Journal) -> None:
    def key(value: object) -> object:
        query = db.authors.where(lambda a: a.email == value)._query
        return shape_of(query)[0]

    assert key("a@x") == key("b@y")
    assert key("a@x") != key(None)
    by_score = shape_of(db.authors.where(lambda a: a.score == 1)._query)[0]
    by_id = shape_of(db.authors.where(lambda a: a.id == 1)._query)[0]
    assert by_score != by_id


@pytest.mark.parametrize(("build", "message"), [
    (lambda a: a.nickname == "x", "nickname"),
    (lambda a: a.score == "3", r"Author\.score"),
    (lambda a: a.username < 3, r"Author\.username"),
    (lambda a: a.id.in_("123"), "list"),
    (lambda a: a.mood == "sleepy", r"Author\.mood"),
    (lambda a: a.score & a.id, "condition"),
    (lambda a: a.articles, "collection"),
    (lambda a: a, "entity"),
    (lambda a: 1 < a.score < 5, "truth value"),
])
def test_bad_input_fails_at_build_time(db: Journal, build: object, message: str) -> None:
    with pytest.raises(QueryBuildError, match=message):
        db.authors.where(build)  # type: ignore[arg-type]


def test_bad_builder_arguments(db: Journal) -> None:
    with pytest.raises(QueryBuildError):
        db.authors.limit(-1)
    with pytest.raises(QueryBuildError):
        db.authors.order_by(lambda a: a.id, nulls="middle")
    with pytest.raises(QueryBuildError):
        db.authors.select(lambda a: [a.id])
    with pytest.raises(QueryBuildError, match="having"):
        db.authors.having(lambda g: g.count() > 1)
    with pytest.raises(QueryBuildError, match="select"):
        db.authors.group_by(lambda a: a.mood).sql()


def test_generated_readers_rebuild_nested_rows(db: Journal) -> None:
    from linkgress.query.readers import build_row_reader, build_rows_reader

    query = db.authors.select(lambda u: {
        "name": u.username, "mood": u.mood,
        "articles": u.articles.select(lambda p: (p.title, p.remarks.select(
            lambda r: r.body).to_list())).to_list()})
    projection = query._query.projection
    assert projection is not None
    record = ("ann", "grumpy", [("t1", ["a", "b"]), ("t2", [])])
    expected = {"name": "ann", "mood": Mood.GRUMPY,
                "articles": [("t1", ["a", "b"]), ("t2", [])]}
    assert build_row_reader(projection)(record) == expected
    assert build_rows_reader(projection)([record, record]) == [expected, expected]


def test_group_and_sort_key_mistakes(db: Journal) -> None:
    grouped = db.articles.group_by(lambda p: p.author_id)
    with pytest.raises(QueryBuildError, match="views"):
        grouped.select(lambda g: {"v": g.views})
    with pytest.raises(QueryBuildError, match="sort key"):
        db.authors.order_by(lambda a: "username")


def test_entity_readers_store_converted_values_past_a_custom_setattr(
        db: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    from linkgress.query.projection import PEntity
    from linkgress.query.readers import build_row_reader, build_rows_reader
    from tests.integration.query_models import Author

    record = (7, "ann", None, "grumpy", 3, '{"a": [1]}', None)
    expected = {"id": 7, "username": "ann", "email": None, "mood": Mood.GRUMPY, "score": 3,
                "profile": {"a": [1]}, "created_at": None}
    source = db.authors._query.source
    assert build_rows_reader(PEntity(source))([record])[0].__dict__ == expected
    calls: list[str] = []

    def tracking(self: Any, name: str, value: Any) -> None:
        calls.append(name)
        object.__setattr__(self, name, value)

    monkeypatch.setattr(Author, "__setattr__", tracking)
    for read in (build_rows_reader(PEntity(source)),
                 lambda rows: [build_row_reader(PEntity(source))(r) for r in rows]):
        author = read([record])[0]
        assert type(author) is Author and author.__dict__ == expected
    # A class with its own __setattr__ gets its whole __dict__ at once (as it always did), never
    # one call per column.
    assert calls == ["__dict__", "__dict__"]


def test_read_entities_are_ordinary_instances(db: Journal) -> None:
    import pickle

    from linkgress.query.projection import PEntity
    from linkgress.query.readers import build_row_reader, build_rows_reader
    from tests.integration.query_models import Author

    record = (7, "ann", None, "grumpy", 3, None, None)
    source = db.authors._query.source
    many = build_rows_reader(PEntity(source))([record, record])
    one = build_row_reader(PEntity(source))(record)
    for author in (*many, one):
        assert author == Author(id=7, username="ann", email=None, mood=Mood.GRUMPY, score=3,
                                profile=None, created_at=None)
        assert pickle.loads(pickle.dumps(author)) == author
        assert repr(author).startswith("Author(id=7, username='ann', email=None, ")
        author.score += 1  # ordinary attributes: set after loading, seen by __dict__
        assert author.__dict__["score"] == 4 and author.score == 4
