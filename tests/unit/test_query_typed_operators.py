"""Typed operators, without a database: JSONB, arrays, flags, window functions and full-text
search compile to golden SQL with every value bound, and a mistaken use fails when the query is
built, naming the problem."""

from __future__ import annotations

from typing import Any

import pytest

from linkgress import PgClient
from linkgress.errors import QueryBuildError
from linkgress.query import func
from tests.integration.typed_models import HOSTILE, Perm, Shop

COLUMNS = ('t0."id", t0."name", t0."category", t0."price", t0."description", t0."attrs", '
           't0."reviews", t0."tags", t0."perms", t0."search"')
FROM = '"public"."products" AS t0'


@pytest.fixture(scope="module")
def db() -> Shop:
    return Shop(PgClient(dsn="postgresql://nobody@127.0.0.1:1/none"))  # never connects


def where(db: Shop, build: Any) -> tuple[str, list[Any]]:
    text, params = db.products.where(build).sql()
    prefix = f"SELECT {COLUMNS} FROM {FROM} WHERE "
    assert text.startswith(prefix)
    return text[len(prefix):], params


@pytest.mark.parametrize(("build", "sql", "params"), [
    (lambda p: p.attrs["color"] == "red", '((t0."attrs" ->> $1::text) = $2)', ["color", "red"]),
    (lambda p: p.attrs["size"]["w"] > 5,
     '((((t0."attrs" -> $1::text) ->> $2::text))::numeric > $3)', ["size", "w", 5]),
    (lambda p: p.attrs["stock"] <= 1.5,
     '(((t0."attrs" ->> $1::text))::numeric <= $2::double precision)', ["stock", 1.5]),
    (lambda p: p.attrs["new"] == True,  # noqa: E712
     '(((t0."attrs" ->> $1::text))::boolean = $2)', ["new", True]),
    (lambda p: p.attrs["color"] == None,  # noqa: E711
     '((t0."attrs" ->> $1::text) IS NULL)', ["color"]),
    (lambda p: p.attrs["size"] == {"w": 10}, '((t0."attrs" -> $1::text) = $2::jsonb)',
     ["size", '{"w": 10}']),
    (lambda p: p.reviews[0]["stars"] >= 4,
     '((((t0."reviews" -> $1::integer) ->> $2::text))::numeric >= $3)', [0, "stars", 4]),
    (lambda p: p.attrs["color"].as_text().startswith("r"),
     '((t0."attrs" ->> $1::text) LIKE $2)', ["color", "r%"]),
    (lambda p: p.attrs["color"] == p.name, '((t0."attrs" ->> $1::text) = t0."name")',
     ["color"]),
    (lambda p: p.attrs["stock"] > p.price,
     '(((t0."attrs" ->> $1::text))::numeric > t0."price")', ["stock"]),
    (lambda p: p.attrs.contains({"tags": ["a"]}), '(t0."attrs" @> $1::jsonb)',
     ['{"tags": ["a"]}']),
    (lambda p: p.attrs["size"].contains({"w": 1}),
     '((t0."attrs" -> $1::text) @> $2::jsonb)', ["size", '{"w": 1}']),
    (lambda p: p.attrs.has_key("size"), '(t0."attrs" ? $1::text)', ["size"]),
    (lambda p: p.attrs["stock"].in_([1, 2]),
     '(((t0."attrs" ->> $1::text))::numeric = ANY($2))', ["stock", [1, 2]]),
    (lambda p: p.attrs["color"].not_in(["red"]), '((t0."attrs" ->> $1::text) <> ALL($2))',
     ["color", ["red"]]),
    (lambda p: p.attrs["stock"].between(1, 5),
     '(((t0."attrs" ->> $1::text))::numeric BETWEEN $2 AND $3)', ["stock", 1, 5]),
])
def test_jsonb_golden(db: Shop, build: Any, sql: str, params: list[Any]) -> None:
    assert where(db, build) == (sql, params)


@pytest.mark.parametrize(("build", "sql", "params"), [
    (lambda p: p.tags.contains(["a", "b"]), '(t0."tags" @> $1::text[])', [["a", "b"]]),
    (lambda p: p.tags.overlaps(("a",)), '(t0."tags" && $1::text[])', [["a"]]),
    (lambda p: p.tags.any_eq("a"), '($1 = ANY(t0."tags"))', ["a"]),
    (lambda p: p.tags.any_eq(p.name), '(t0."name" = ANY(t0."tags"))', []),
    (lambda p: p.category.in_(p.tags), '(t0."category" = ANY(t0."tags"))', []),
    (lambda p: func.array_length(p.tags, 1) > 2,
     '(array_length(t0."tags", $1::integer) > $2)', [1, 2]),
    (lambda p: func.cardinality(p.tags) == 0, '(cardinality(t0."tags") = $1)', [0]),
])
def test_array_golden(db: Shop, build: Any, sql: str, params: list[Any]) -> None:
    assert where(db, build) == (sql, params)


@pytest.mark.parametrize(("build", "sql", "params"), [
    (lambda p: p.perms.has_flag(Perm.WRITE), '((t0."perms" & $1) = $1)', [2]),
    (lambda p: p.perms.has_all(Perm.READ | Perm.WRITE), '((t0."perms" & $1) = $1)', [3]),
    (lambda p: p.perms.has_any(Perm.WRITE | Perm.ADMIN), '((t0."perms" & $1) <> 0)', [6]),
    (lambda p: p.perms.has_none(Perm.ADMIN), '((t0."perms" & $1) = 0)', [4]),
    (lambda p: ~p.perms.has_flag(4), '(NOT ((t0."perms" & $1) = $1))', [4]),
    (lambda p: p.perms == Perm.READ, '(t0."perms" = $1)', [Perm.READ]),
])
def test_flag_golden(db: Shop, build: Any, sql: str, params: list[Any]) -> None:
    assert where(db, build) == (sql, params)


@pytest.mark.parametrize(("build", "sql", "params"), [
    (lambda p: p.search.matches("orm & python", config="english"),
     '(t0."search" @@ to_tsquery($1::regconfig, $2::text))', ["english", "orm & python"]),
    (lambda p: p.search.matches("orm"), '(t0."search" @@ to_tsquery($1::text))', ["orm"]),
    (lambda p: p.description.matches("tea pot", config="simple", mode="plain"),
     '(to_tsvector($1::regconfig, t0."description") @@ plainto_tsquery($2::regconfig, '
     '$3::text))', ["simple", "simple", "tea pot"]),
    (lambda p: p.name.matches('"a b" -c', mode="web"),
     '(to_tsvector(t0."name") @@ websearch_to_tsquery($1::text))', ['"a b" -c']),
])
def test_full_text_golden(db: Shop, build: Any, sql: str, params: list[Any]) -> None:
    assert where(db, build) == (sql, params)


def test_window_functions_and_frames(db: Shop) -> None:
    text, params = db.products.select(lambda p: {
        "rn": func.row_number().over(partition_by=p.category, order_by=p.price.desc()),
        "total": func.sum(p.price).over(partition_by=(p.category, p.perms)),
        "moving": func.avg(p.price).over(order_by=p.id).rows_between(-2, 0),
        "rest": func.count().over(order_by=(p.price, p.id.desc())).rows_between(1, None),
        "all": func.max(p.price).over(order_by=p.id).rows_between(None, None),
    }).sql()
    assert text == (
        'SELECT row_number() OVER (PARTITION BY t0."category" ORDER BY t0."price" DESC), '
        'sum(t0."price") OVER (PARTITION BY t0."category", t0."perms"), '
        'avg(t0."price") OVER (ORDER BY t0."id" ROWS BETWEEN $1::bigint PRECEDING AND '
        'CURRENT ROW), '
        'count(*) OVER (ORDER BY t0."price", t0."id" DESC ROWS BETWEEN $2::bigint FOLLOWING '
        'AND UNBOUNDED FOLLOWING), '
        'max(t0."price") OVER (ORDER BY t0."id" ROWS BETWEEN UNBOUNDED PRECEDING AND '
        f'UNBOUNDED FOLLOWING) FROM {FROM}')
    assert params == [2, 1]


def test_window_lambdas_receive_the_query_lambdas_proxies(db: Shop) -> None:
    with_lambdas = db.products.select(lambda p: func.row_number().over(
        partition_by=lambda q: (q.category, q.perms), order_by=lambda q: q.price.desc())).sql()
    direct = db.products.select(lambda p: func.row_number().over(
        partition_by=(p.category, p.perms), order_by=p.price.desc())).sql()
    assert with_lambdas == direct
    assert with_lambdas[0].startswith('SELECT row_number() OVER (PARTITION BY t0."category", '
                                      't0."perms" ORDER BY t0."price" DESC)')
    with pytest.raises(QueryBuildError, match=r"works inside a query lambda"):
        func.rank().over(order_by=lambda q: q.price)  # not inside a query lambda


def _ranked_by_price() -> Any:
    """A helper the query lambda calls: over()'s lambdas still get the query's proxies."""
    return func.rank().over(order_by=lambda q: q.price.desc())


def test_window_lambdas_work_from_helpers_and_comprehensions(db: Shop) -> None:
    direct = db.products.select(lambda p: {"r": func.rank().over(order_by=p.price.desc())})
    via_helper = db.products.select(lambda p: {"r": _ranked_by_price()})
    via_comprehension = db.products.select(lambda p: {
        name: func.rank().over(order_by=lambda q: q.price.desc()) for name in ("r",)})
    assert via_helper.sql() == direct.sql() == via_comprehension.sql()


def test_window_in_order_by_and_typed_like_its_function(db: Shop) -> None:
    text, _ = db.products.order_by(
        lambda p: func.rank().over(order_by=p.price.desc())).select(lambda p: p.id).sql()
    assert text.endswith('ORDER BY rank() OVER (ORDER BY t0."price" DESC)')
    window = func.sum(db.products._query.source.proxy().price).over()
    assert window.category == "num"
    with pytest.raises(QueryBuildError, match="cannot use"):
        window == "x"  # noqa: B015


def test_range_frames_bind_numbers_and_intervals(db: Shop) -> None:
    from datetime import timedelta

    text, params = db.products.select(lambda p: (
        func.sum(p.price).over(order_by=p.price).range_between(-10, 0),
        func.count().over(order_by=p.id).range_between(None, 0),
        func.count().over(order_by=p.id).range_between(timedelta(days=-1),
                                                       timedelta(hours=2)))).sql()
    assert text == (
        'SELECT sum(t0."price") OVER (ORDER BY t0."price" RANGE BETWEEN $1::bigint PRECEDING '
        'AND CURRENT ROW), count(*) OVER (ORDER BY t0."id" RANGE BETWEEN UNBOUNDED PRECEDING '
        'AND CURRENT ROW), count(*) OVER (ORDER BY t0."id" RANGE BETWEEN $2::interval '
        f'PRECEDING AND $3::interval FOLLOWING) FROM {FROM}')
    assert params == [10, timedelta(days=1), timedelta(hours=2)]


def test_window_offsets_are_integers_and_keep_the_argument_type(db: Shop) -> None:
    text, params = db.products.select(lambda p: (
        func.lag(p.name, 1, "-").over(order_by=p.id), func.ntile(4).over(order_by=p.id),
        func.nth_value(p.price, 2).over(order_by=p.id))).sql()
    assert text == (
        'SELECT lag(t0."name", $1::integer, $2::text) OVER (ORDER BY t0."id"), '
        'ntile($3::integer) OVER (ORDER BY t0."id"), '
        f'nth_value(t0."price", $4::integer) OVER (ORDER BY t0."id") FROM {FROM}')
    assert params == [1, "-", 4, 2]
    p = db.products._query.source.proxy()
    assert func.lag(p.name, 1).category == "text"
    assert func.nth_value(p.price, 2).over().category == "num"


def test_coalesce_takes_its_type_from_its_arguments(db: Shop) -> None:
    p = db.products._query.source.proxy()
    assert func.coalesce(p.price, 0).category == "num"
    assert func.coalesce(None, p.name).category == "text"
    with pytest.raises(QueryBuildError, match=r"coalesce\(\) mixes .*price.*name"):
        func.coalesce(p.price, p.name)
    with pytest.raises(QueryBuildError, match="coalesce"):
        func.coalesce(p.price, "none")
    text, params = db.products.select(lambda p: func.coalesce(
        func.array_length(p.tags, 1), 0)).sql()
    assert text == f'SELECT coalesce(array_length(t0."tags", $1::integer), $2::bigint) FROM {FROM}'
    assert params == [1, 0]


@pytest.mark.parametrize("hostile", [HOSTILE, '"; DROP TABLE x; --', "$$x$$", "a' || 'b"])
def test_hostile_keys_and_values_stay_parameters(db: Shop, hostile: str) -> None:
    text, params = db.products.where(lambda p: (p.attrs[hostile] == hostile) | p.attrs.has_key(
        hostile) | p.attrs.contains({hostile: hostile}) | p.tags.any_eq(hostile)
        | p.search.matches(hostile, config="english")).sql()
    assert hostile not in text
    assert params[:2] == [hostile, hostile]


def test_projected_extraction_reads_back_decoded(db: Shop) -> None:
    reader = db.products.select(lambda p: {"size": p.attrs["size"],
                                           "color": p.attrs["color"].as_text()})
    _, read, _ = reader._prepare("rows")
    assert read is not None
    assert read(['{"w": 1}', "red"]) == {"size": {"w": 1}, "color": "red"}
    assert read([None, None]) == {"size": None, "color": None}


@pytest.mark.parametrize(("build", "message"), [
    (lambda p: p.name["k"] == 1, r"\[\.\.\.\] needs a json/jsonb column, got Product.name"),
    (lambda p: p.price.has_key("k"), r"has_key\(\) needs a json/jsonb column, got "
                                     r"Product.price \(num\)"),
    (lambda p: p.attrs.as_text() == "x", r"as_text\(\) reads an extracted value"),
    (lambda p: p.attrs[1.5] == 1, "a JSON key is a str"),
    (lambda p: p.attrs["k"] == object(), "cannot compare"),
    (lambda p: p.attrs.has_key(1), r"has_key\(\) on Product.attrs needs a str"),
    (lambda p: p.attrs.contains({1, 2}), "JSON-serialisable"),
    (lambda p: p.name.overlaps(["a"]), r"overlaps\(\) needs an array column, got Product.name"),
    (lambda p: p.tags.contains("a"), r"contains\(\) on Product.tags needs a list"),
    (lambda p: p.tags.any_eq(["a"]), "needs one element value"),
    (lambda p: p.name.in_(p.price), r"in_\(\) on Product.name expects a list of values"),
    (lambda p: p.price.has_flag(1), r"has_flag\(\) needs an enum.IntFlag column, got "
                                    r"Product.price"),
    (lambda p: p.name.has_any(Perm.READ), r"has_any\(\) needs an enum.IntFlag column"),
    (lambda p: p.perms.has_all("READ"), r"has_all\(\) on Product.perms needs Perm flags"),
    (lambda p: p.perms.has_none(-1), "needs Perm flags"),
    (lambda p: p.price.matches("x"), r"matches\(\) needs a text or a tsvector column, got "
                                     r"Product.price"),
    (lambda p: p.search.matches("x", mode="regex"), "mode must be one of"),
    (lambda p: p.search.matches("x", config=1), "config must be"),
    (lambda p: p.search.matches(None), "query is a str"),
])
def test_mistakes_fail_when_built(db: Shop, build: Any, message: str) -> None:
    with pytest.raises(QueryBuildError, match=message):
        db.products.where(build)


@pytest.mark.parametrize(("build", "message"), [
    (lambda p: p.price.over(), r"over\(\) needs a function call"),
    (lambda p: func.rank().over(order_by=lambda q, r: q.price),
     r"receives the parameters of the query lambda that calls over\(\) \(1 here: "
     r"EntityProxy\)"),
    (lambda p: func.rank().over(partition_by=1), r"partition_by=...\) needs columns"),
    (lambda p: func.sum(p.price).over().rows_between(-1, 0), "needs over\\(order_by"),
    (lambda p: func.sum(p.price).over(order_by=p.id).rows_between(1, -1), "start is after"),
    (lambda p: func.sum(p.price).over(order_by=p.id).rows_between("1", 0), "int or None"),
    (lambda p: func.sum(p.price).over(order_by=p.id).rows_between(1.5, 0), "int or None"),
    (lambda p: func.sum(p.price).over(order_by=(p.id, p.price)).range_between(-1, 0),
     "exactly one"),
    (lambda p: func.sum(p.price).over(order_by=p.id).range_between("a", 0),
     "int or float or Decimal or timedelta or None"),
    (lambda p: func.count().over(order_by=p.id).range_between(5, -5), "start is after"),
    (lambda p: func.count().over().range_between(None, 0), r"range_between\(\) needs over"),
])
def test_window_mistakes_fail_when_built(db: Shop, build: Any, message: str) -> None:
    with pytest.raises(QueryBuildError, match=message):
        db.products.select(build)


def test_unknown_attributes_of_expressions_stay_attribute_errors(db: Shop) -> None:
    p = db.products._query.source.proxy()
    assert not hasattr(p.price, "no_such_method")
    assert getattr(p.price, "__deepcopy__", None) is None


def test_an_intflag_annotation_is_an_integer_column_read_as_flags(db: Shop) -> None:
    from linkgress import DbContext, Entity, column, smallint

    perms = db.products.meta.column("perms")
    assert perms.type.name == "integer" and perms.type.is_enum is False
    assert perms.enum_class is Perm and perms.default == "1"

    class Role(Entity):
        id: int
        flags: Perm = column(smallint(), default=Perm.READ | Perm.ADMIN)

    class Roles(DbContext):
        roles = DbContext.table(Role)

    flags = Roles(PgClient(dsn="postgresql://nobody@127.0.0.1:1/none")).roles.meta.column(
        "flags")
    assert flags.type.name == "smallint" and flags.enum_class is Perm
    assert flags.default == "5"


def test_dict_and_list_of_dict_annotations_are_jsonb(db: Shop) -> None:
    attrs, reviews, tags = (db.products.meta.column(n) for n in ("attrs", "reviews", "tags"))
    assert (attrs.type.name, attrs.nullable, attrs.type.dims) == ("jsonb", True, 0)
    assert (reviews.type.name, reviews.nullable, reviews.type.dims) == ("jsonb", False, 0)
    assert (tags.type.name, tags.type.dims) == ("text", 1)


def test_a_window_in_where_group_by_or_having_is_refused_but_allowed_in_a_subquery(
        db: Shop) -> None:
    ranked = db.products.where(lambda p: func.rank().over(order_by=p.price.desc()) == 1)
    with pytest.raises(QueryBuildError, match=r"cannot be used in where\(\): .*cte"):
        ranked.sql()
    grouped = db.products.group_by(lambda p: func.rank().over(order_by=p.price))
    with pytest.raises(QueryBuildError, match=r"cannot be used in group_by\(\)"):
        grouped.select(lambda g: g.key).sql()
    # A window inside a subquery's own select list, in a WHERE, is fine.
    inner = db.products.select(lambda q: func.max(q.price).over())
    text, _ = db.products.where(lambda p: p.price.in_(inner)).sql()
    assert "OVER ()" in text
