"""A value that does not fit its column, in every kind of write: the error names the column
(table.column and Entity.attribute) and, for many rows, the row — and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from linkgress.errors import DatabaseError, TransactionError
from linkgress.query import mutations
from tests.integration.mutation_models import Club, Member


def _rows(count: int, bad_at: int, **bad: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"handle": f"m{i}", "score": i} for i in range(count)]
    rows[bad_at].update(bad)
    return rows


@pytest.mark.parametrize(("value", "problem"), [
    (2**31, "value out of int32 range"),
    ("lots", "'str' object cannot be interpreted as an integer"),
])
async def test_insert_names_the_column_of_the_argument(db: Club, value: Any, problem: str) -> None:
    with pytest.raises(DatabaseError) as info:
        await db.members.insert({"handle": "a", "email": "a@x", "score": value})
    message = str(info.value)
    assert "insert(): invalid value for members.score (Member.score, argument $3)" in message
    assert problem in message
    assert info.value.column == "score" and info.value.table == "members"
    assert isinstance(info.value.__cause__, asyncpg.DataError)
    assert await db.members.count() == 0


async def test_update_with_a_dict_names_the_column(db: Club) -> None:
    await db.members.insert(Member(handle="a", score=1))
    query = db.members.where(lambda m: m.handle == "a")
    with pytest.raises(DatabaseError, match=r"update\(\): invalid value for members\.score "
                       r"\(Member\.score, argument \$2\): .*int32") as info:
        await query.update({"email": "new@x", "score": 2**31})
    assert isinstance(info.value.__cause__, asyncpg.DataError)
    with pytest.raises(DatabaseError, match=r"members\.age \(Member\.age, argument \$1\)"):
        await query.update(lambda m: {"age": 2**31, "score": m.score + 1}).returning()
    assert (await query.single()).email is None


async def test_upsert_names_the_column_and_the_row(db: Club) -> None:
    await db.members.insert(Member(handle="a", score=1))
    with pytest.raises(DatabaseError, match=r"upsert\(\): invalid value for members\.score "
                       r"\(Member\.score, row 1\): .*int32") as info:
        await db.members.upsert([{"handle": "b", "score": 2}, {"handle": "c", "score": 2**31}],
                                conflict=["handle"], update=["score"])
    assert isinstance(info.value.__cause__, asyncpg.DataError)
    with pytest.raises(DatabaseError, match=r"members\.score \(Member\.score\): .*int32"):
        await db.members.upsert({"handle": "a", "score": 2}, conflict=["handle"],
                                update={"score": 2**31})
    assert [(m.handle, m.score) for m in await db.members.to_list()] == [("a", 1)]


async def test_insert_many_statements_name_the_row(db: Club) -> None:
    rows = _rows(5, 3, score=2**31)
    with pytest.raises(DatabaseError, match=r"insert_many\(\): invalid value for members\.score "
                       r"\(Member\.score, row 3\): 2147483648 \(value out of int32 range\)"):
        await db.members.insert_many(rows)
    assert await db.members.count() == 0


@pytest.mark.parametrize(("attr", "value", "problem", "cause"), [
    ("score", 2**31, "value out of int32 range", OverflowError),
    ("score", "lots", "'str' object cannot be interpreted as an integer", TypeError),
    ("age", 2**63, "int", OverflowError),
    ("balance", "12.x", "", ArithmeticError),
])
async def test_copy_names_the_column_and_the_row(db: Club, attr: str, value: Any, problem: str,
                                                 cause: type[Exception]) -> None:
    rows = [{**r, "balance": Decimal("1.5"), "age": 1} for r in _rows(250, 0)]
    rows[171][attr] = value
    with pytest.raises(DatabaseError) as info:
        await db.members.insert_many(rows)
    message = str(info.value)
    assert len(rows) >= mutations.COPY_THRESHOLD
    assert (f"insert_many(): invalid value for members.{attr} (Member.{attr}, row 171): "
            in message), message
    assert problem in message
    assert info.value.column == attr
    assert isinstance(info.value.__cause__, cause)  # what asyncpg's COPY raised
    assert await db.members.count() == 0


async def test_copy_of_several_groups_names_the_row_of_the_input(db: Club) -> None:
    rows = _rows(300, 250, score=2**31)
    for row in rows[::2]:
        row["email"] = "e@x"  # two groups of 150 rows: odd rows, even rows
    with pytest.raises(DatabaseError, match=r"members\.score \(Member\.score, row 250\)"):
        await db.members.insert_many(rows)

    def generated() -> Iterator[dict[str, Any]]:
        yield from rows

    with pytest.raises(DatabaseError,  # a consumed iterator: the row within its group
                       match=r"Member\.score, row 125 of those setting handle, email, score\)"):
        await db.members.insert_many(generated())
    assert await db.members.count() == 0


@pytest.mark.parametrize("bad_at", [60, 200])  # in the leading rows of one shape, or after
async def test_copy_after_a_row_of_another_shape_names_the_row_of_the_input(
    db: Club, bad_at: int
) -> None:
    rows = _rows(250, bad_at, score=2**31)
    rows[120]["email"] = "e@x"
    with pytest.raises(DatabaseError, match=rf"members\.score \(Member\.score, row {bad_at}\)"):
        await db.members.insert_many(rows)
    assert await db.members.count() == 0
    rows[bad_at]["score"] = 1
    assert await db.members.insert_many(rows) == 250


async def test_copy_inside_a_transaction_still_names_the_table(db: Club) -> None:
    with pytest.raises(DatabaseError, match=r"insert_many\(\): members rejected a value .*"
                       r"value out of int32 range") as info:
        async with db.transaction():
            await db.members.insert(Member(handle="first"))
            await db.members.insert_many(_rows(150, 20, score=2**31))
    assert isinstance(info.value.__cause__, OverflowError)
    assert info.value.sqlstate == "57014"  # the server cancelled the COPY
    assert await db.members.count() == 0
    await db.members.insert_many(_rows(150, 0))  # the connection is fine
    assert await db.members.count() == 150


async def test_a_caught_copy_failure_makes_the_transaction_roll_back_loudly(db: Club) -> None:
    with pytest.raises(TransactionError, match="rolled back") as info:
        async with db.transaction():
            await db.members.insert(Member(handle="first"))
            with pytest.raises(DatabaseError, match="int32"):
                await db.members.insert_many(_rows(150, 20, score=2**31))
    assert isinstance(info.value.__cause__, DatabaseError)
    assert await db.members.count() == 0
