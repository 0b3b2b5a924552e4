"""Lambda plans (``where(lambda a: a.id == i)`` replayed with new closure values): a replay
must give exactly the SQL and parameters evaluating the lambda gives, and lambdas whose result
could depend on more than the closure value types must not be replayed."""

from __future__ import annotations

import decimal
from collections.abc import Callable
from typing import Any

import pytest

from linkgress import PgClient
from linkgress.errors import QueryBuildError
from linkgress.query.queryable import PlannedQueryable, Queryable
from tests.integration.query_models import Journal, Mood


@pytest.fixture
def db() -> Journal:
    return Journal(PgClient(dsn="postgresql://nobody@127.0.0.1:1/none"))  # never connects


def by_id(value: Any) -> Callable[[Any], Any]:
    return lambda a: a.id == value


def test_a_replayed_lambda_binds_the_new_value(db: Journal) -> None:
    first = db.authors.where(by_id(1))
    second = db.authors.where(by_id(2))
    assert not isinstance(first, PlannedQueryable)
    assert isinstance(second, PlannedQueryable)
    assert second.sql() == ('SELECT t0."id", t0."username", t0."email", t0."mood", '
                            't0."score", t0."profile", t0."created_at" FROM '
                            '"public"."authors" AS t0 WHERE (t0."id" = $1)', [2])
    assert second.sql() == (first.sql()[0], [2])  # replaying is the lambda's own result


def test_limited_and_counted_replays_bind_the_new_value(db: Journal) -> None:
    for i in range(1, 5):
        query = db.authors.where(by_id(i))
        text, _, params = query._prepare_limited(1)
        assert text.endswith('WHERE (t0."id" = $1) LIMIT $2')
        assert params == [i, 1]
        assert query._prepare("count")[2] == [i]
        assert query.where(lambda a: a.score > 3).sql()[1] == [i, 3]


def test_none_and_other_types_get_plans_of_their_own(db: Journal) -> None:
    def by_email(value: Any) -> Callable[[Any], Any]:
        return lambda a: a.email == value

    def by_score(value: Any) -> Callable[[Any], Any]:
        return lambda a: a.score < value

    for _ in range(2):
        assert db.authors.where(by_email("x")).sql()[0].endswith('(t0."email" = $1)')
        assert db.authors.where(by_email(None)).sql() == (
            db.authors.where(lambda a: a.email == None).sql())  # noqa: E711
        assert db.authors.where(by_score(2)).sql()[0].endswith('(t0."score" < $1)')
        assert db.authors.where(by_score(1.5)).sql()[0].endswith(
            '(t0."score" < $1::double precision)')
        assert db.authors.where(by_score(decimal.Decimal("2.5"))).sql()[1] == [
            decimal.Decimal("2.5")]
    with pytest.raises(QueryBuildError):
        db.authors.where(by_score("3"))
    with pytest.raises(QueryBuildError):
        db.authors.where(by_score(True))


def replays(db: Journal, make: Callable[..., Callable[[Any], Any]], *calls: tuple[Any, ...]
            ) -> list[bool]:
    """For each argument tuple: whether the lambda was replayed, after checking it gives the
    SQL and parameters of a fresh evaluation (on a second context, without plans)."""
    fresh = Journal(db.client)
    out = []
    for args in calls:
        query = db.authors.where(make(*args))
        expected = fresh.authors.where(make(*args))
        expected._bare = False  # type: ignore[misc]  # evaluate, never replay
        expected_sql = type(expected).sql(expected)
        fresh.authors._plans.clear()
        assert query.sql() == expected_sql, args
        out.append(isinstance(query, PlannedQueryable))
    return out


def test_closure_values_used_beyond_comparisons_are_not_replayed(db: Journal) -> None:
    assert replays(db, lambda x: lambda a: a.username == x.strip(), (" a",), ("b",),
                   (" c ",)) == [False, False, False]
    assert replays(db, lambda x: lambda a: a.score == x * 0, (0,), (5,)) == [False, False]
    assert replays(db, lambda x: lambda a: a.score == abs(x), (5,), (-5,)) == [False, False]
    assert replays(db, lambda x: lambda a: (a.score == x) if x > 0 else (a.id == x),
                   (1,), (2,), (-1,)) == [False, False, False]
    assert replays(db, lambda x, y: lambda a: a.score == x + y, (1, 2), (2, 1)) == [
        False, False]


def test_ambiguous_or_converted_values_are_not_replayed(db: Journal) -> None:
    # the same object in two cells: which parameter is which cannot be told (once a plan
    # exists, equal values replay fine)
    assert replays(db, lambda x, y: lambda a: (a.score == x) & (a.id == y),
                   (3, 3), (3, 3), (3, 4), (5, 5), (6, 7)) == [False, False, False, True, True]
    # a constant equal to the value
    assert replays(db, lambda x: lambda a: (a.score == 7) | (a.id == x), (7,), (8,), (9,)) == [
        False, False, True]
    # enum and JSON columns check or convert their values
    assert replays(db, lambda x: lambda a: a.mood == x, ("happy",), ("grumpy",)) == [
        False, False]
    assert replays(db, lambda x: lambda a: a.mood == x, (Mood.GRUMPY,), (Mood.GRUMPY,)) == [
        False, False]
    assert replays(db, lambda x: lambda a: a.username.startswith(x), ("a",), ("b",)) == [
        False, False]
    assert replays(db, lambda x: lambda a: a.id.in_(x), ([1],), ([2],)) == [False, False]


def test_between_and_constants_replay(db: Journal) -> None:
    assert replays(db, lambda x, y: lambda a: a.score.between(x, y) & (a.id > 1000),
                   (1, 2), (3, 4), (5, 6)) == [False, True, True]


def test_an_invalid_enum_label_still_fails_at_build_time(db: Journal) -> None:
    for label in ("happy", "grumpy"):
        db.authors.where(lambda a, label=label: a.mood == label)
    with pytest.raises(QueryBuildError):
        db.authors.where((lambda x: lambda a: a.mood == x)("furious"))


def chained(db: Journal, value: int, count: int, skip: int) -> Any:
    return (db.authors.where(by_id(value)).order_by(lambda a: a.score, descending=True)
            .then_by(lambda a: a.username.desc(nulls="last")).offset(skip).limit(count))


def test_sorting_and_paging_stay_on_the_plan(db: Journal) -> None:
    fresh = Journal(db.client)
    for value, count, skip in ((1, 5, 0), (2, 3, 7), (3, 0, 1), (4, 3, 7)):
        query = chained(db, value, count, skip)
        expected = chained(fresh, value, count, skip)
        fresh.authors._plans.clear()
        assert query.sql() == Queryable.sql(expected)
        assert query.sql()[1] == [value, count, skip]  # LIMIT before OFFSET
    assert isinstance(chained(db, 5, 1, 1), PlannedQueryable)
    assert chained(db, 5, 2, 4)._query.limit.value == 2  # the tree, built on demand
    assert chained(db, 5, 2, 4).count is not None


def test_first_after_limit_binds_the_smaller_limit(db: Journal) -> None:
    for count in (5, 0, 3):
        query = db.authors.where(by_id(1)).order_by(lambda a: a.id).limit(count)
        text, _, params = query._prepare_limited(1)
        assert text.endswith("LIMIT $2") and params == [1, min(count, 1)]


def test_sort_keys_reading_closures_leave_the_plan(db: Journal) -> None:
    def by(column: str) -> Any:
        return db.authors.where(by_id(1)).order_by(lambda a: getattr(a, column))

    db.authors.where(by_id(1))  # make the plan
    assert not isinstance(by("score"), PlannedQueryable)
    assert by("score").sql()[0].endswith('ORDER BY t0."score"')
    assert by("username").sql()[0].endswith('ORDER BY t0."username"')
