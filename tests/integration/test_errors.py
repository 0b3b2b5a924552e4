"""asyncpg errors become linkgress errors at one point: the right class, the SQL, the SQLSTATE,
the constraint, the original chained — and the connection stays usable."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from linkgress import LinkgressError
from linkgress.errors import (
    CheckViolation,
    DatabaseError,
    ForeignKeyViolation,
    IntegrityError,
    NotNullViolation,
    QueryError,
    SerializationFailure,
    TransactionError,
    UniqueViolation,
)
from linkgress.query import session
from tests.integration.mutation_models import Club, Member, Note, open_club


async def test_unique_violation(db: Club) -> None:
    await db.members.insert(Member(handle="alice"))
    with pytest.raises(UniqueViolation) as info:
        await db.members.insert(Member(handle="alice"))
    err = info.value
    assert isinstance(err, IntegrityError | DatabaseError | QueryError | LinkgressError)
    assert err.sqlstate == "23505"
    assert err.constraint == "members_handle_key"
    assert err.table == "members"
    assert err.sql is not None and err.sql.startswith('INSERT INTO "public"."members"')
    assert "alice" not in err.sql  # values are bound, never in the SQL
    assert "alice" in (err.detail or "")
    assert isinstance(err.__cause__, asyncpg.UniqueViolationError)
    assert "duplicate key" in str(err)


async def test_foreign_key_violation(db: Club) -> None:
    with pytest.raises(ForeignKeyViolation) as info:
        await db.notes.insert(Note(member_id=12345, body="orphan"))
    assert info.value.sqlstate == "23503"
    assert info.value.constraint is not None and "member_id" in info.value.constraint
    assert isinstance(info.value.__cause__, asyncpg.ForeignKeyViolationError)


async def test_foreign_key_violation_on_the_copy_path(db: Club) -> None:
    with pytest.raises(ForeignKeyViolation) as info:
        await db.notes.insert_many([Note(member_id=999, body=str(i)) for i in range(150)])
    assert info.value.sql is not None and info.value.sql.startswith("COPY")
    assert await db.notes.count() == 0


async def test_not_null_violation(db: Club) -> None:
    with pytest.raises(NotNullViolation) as info:
        await db.members.insert({"email": "no handle"})
    assert info.value.column == "handle"
    await db.members.insert(Member(handle="a"))
    with pytest.raises(NotNullViolation):
        await db.members.update({"handle": None})


async def test_check_violation(db: Club) -> None:
    with pytest.raises(CheckViolation) as info:
        await db.members.insert(Member(handle="young", age=-1))
    assert info.value.sqlstate == "23514"
    assert info.value.constraint is not None


async def test_serialization_failure(db: Club, routed_module_database: str) -> None:
    alice = await db.members.insert(Member(handle="alice", score=0))
    other = await open_club(routed_module_database)
    try:
        with pytest.raises(SerializationFailure) as info:
            async with db.transaction(isolation="repeatable_read"):
                await db.members.where(lambda u: u.id == alice.id).first()  # snapshot taken
                await other.members.where(lambda u: u.id == alice.id).update({"score": 1})
                await db.members.where(lambda u: u.id == alice.id).update({"score": 2})
    finally:
        await other.dispose()
    assert info.value.sqlstate == "40001"
    assert info.value.sql is not None and info.value.sql.startswith('UPDATE "public"."members"')
    assert isinstance(info.value.__cause__, asyncpg.SerializationError)
    assert (await db.members.first()).score == 1


async def test_other_errors_are_database_errors_with_sql(db: Club) -> None:
    with pytest.raises(DatabaseError) as info:
        await session.fetch(db.query_scope, "SELECT 1 / $1::int", [0])
    assert type(info.value) is DatabaseError
    assert info.value.sqlstate == "22012"
    assert info.value.sql == "SELECT 1 / $1::int"
    with pytest.raises(DatabaseError) as syntax:
        await session.execute(db.query_scope, "SELEC nonsense", [])
    assert syntax.value.sqlstate == "42601"


async def test_client_side_data_errors_are_translated_too(db: Club) -> None:
    with pytest.raises(DatabaseError) as info:
        await session.fetchval(db.query_scope, "SELECT $1::int", ["not an int"])
    assert info.value.sqlstate is None
    assert isinstance(info.value.__cause__, asyncpg.DataError)
    assert "not an int" in str(info.value)
    assert await db.members.count() == 0  # the connection is still fine
    async with db.transaction():  # never reached the server: the transaction is not aborted
        await db.members.insert(Member(handle="a"))
        with pytest.raises(DatabaseError):
            await session.fetchval(db.query_scope, "SELECT $1::int", ["not an int"])
    assert await db.members.count() == 1


async def test_errors_leave_the_connection_usable(db: Club) -> None:
    await db.members.insert(Member(handle="a"))
    for _ in range(30):  # more failures than the pool has connections
        with pytest.raises(UniqueViolation):
            await db.members.insert(Member(handle="a"))
    async with asyncio.timeout(10):
        assert await db.members.count() == 1


async def test_error_in_transaction_is_translated_and_rolls_back(db: Club) -> None:
    with pytest.raises(UniqueViolation) as info:
        async with db.transaction():
            await db.members.insert(Member(handle="a"))
            await db.members.insert(Member(handle="a"))
    assert isinstance(info.value.__cause__, asyncpg.UniqueViolationError)
    assert await db.members.count() == 0


async def test_a_caught_failure_makes_the_transaction_roll_back_loudly(db: Club) -> None:
    with pytest.raises(TransactionError, match="rolled back") as info:
        async with db.transaction():
            await db.members.insert(Member(handle="a"))
            with pytest.raises(UniqueViolation):
                await db.members.insert(Member(handle="a"))
            with pytest.raises(DatabaseError) as aborted:
                await db.members.count()
            assert aborted.value.sqlstate == "25P02"  # in_failed_sql_transaction
    assert isinstance(info.value.__cause__, UniqueViolation)
    assert await db.members.count() == 0


async def test_a_caught_failure_in_a_savepoint_rolls_back_only_the_savepoint(db: Club) -> None:
    async with db.transaction():
        await db.members.insert(Member(handle="a"))
        with pytest.raises(TransactionError):
            async with db.transaction():
                await db.members.insert(Member(handle="b"))
                with pytest.raises(UniqueViolation):
                    await db.members.insert(Member(handle="a"))
        await db.members.insert(Member(handle="c"))
    assert await db.members.order_by(lambda u: u.handle).select(lambda u: u.handle).to_list() \
        == ["a", "c"]
