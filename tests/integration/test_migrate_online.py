"""``migrate(online=True)`` on the real server: each online form ends in the same catalog as
the offline migration, post-commit steps are resumed after a failure or a cancelled task, and an
INVALID leftover index is dropped and rebuilt."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from linkgress import DatabaseClient, DbContext, DbModelConfig, MigrationError, column
from tests.integration.catalog import dump
from tests.integration.migrate_support import context, entity, execute, opened, rows

FORMS = ("index", "foreign_key", "check", "not_null", "unique")

# What each form logs for its step after the commit.
STEP_LOGGED = {
    "index": "build index 'ix_accounts_code' CONCURRENTLY",
    "foreign_key": "validate constraint 'fk_accounts_owner' on 'accounts'",
    "check": "validate constraint 'ck_accounts_code' on 'accounts'",
    "not_null": "set NOT NULL on 'accounts.email' through check 'email__linkgress_nn'",
    "unique": "build unique index 'uq_accounts_email' CONCURRENTLY and attach it as "
              "constraint 'uq_accounts_email'",
}

Owner = entity("Owner", {"id": int, "name": str | None})
STATE = "__linkgress_schema_state"

# PostgreSQL 18 catalogues each NOT NULL as a constraint (contype n): not what these tests count.
NOT_NOT_NULL = "AND contype <> 'n'"


def accounts(*forms: str) -> type[DbContext]:
    """owners + accounts; ``forms`` add an index, a foreign key, a check, NOT NULL on email
    and a UNIQUE constraint on email (none: the starting model)."""
    email: Any = str if "not_null" in forms else str | None
    owner: Any = ((int | None, column(references=Owner, constraint_name="fk_accounts_owner"))
                  if "foreign_key" in forms else int | None)
    account = entity("Account", {"id": int, "email": email, "code": int | None,
                                 "owner_id": owner})

    def setup(model: DbModelConfig) -> None:
        builder = model.entity(account)
        if "index" in forms:
            builder.has_index("ix_accounts_code", "code")
        if "check" in forms:
            builder.has_check("ck_accounts_code", "code >= 0")
        if "unique" in forms:
            builder.has_unique("uq_accounts_email", "email")

    return context({"owners": Owner, "accounts": account}, setup)


async def _start(dsn: str) -> None:
    """The starting model with rows that satisfy every form."""
    async with opened(accounts(), dsn) as db:
        await db.get_schema_manager().migrate()
    await execute(dsn, "INSERT INTO owners (name) SELECT 'o' || g FROM generate_series(1, 3) g")
    await execute(dsn, "INSERT INTO accounts (email, code, owner_id) "
                       "SELECT 'a' || g || '@x', g, 1 + g % 3 FROM generate_series(1, 200) g")


async def _catalog(dsn: str) -> dict[str, Any]:
    """The catalog dump without linkgress's own state table."""
    return {kind: [r for r in entries if r.get("table") != STATE]
            for kind, entries in (await dump(dsn)).items()}


async def _pending(dsn: str) -> list[tuple[Any, ...]]:
    return await rows(dsn, f"SELECT jsonb_array_length(pending) FROM {STATE}")


@pytest.mark.parametrize("form", FORMS)
async def test_online_form_ends_in_the_offline_catalog(
        form: str, linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    dsn = linkgress_database
    await _start(dsn)
    async with opened(accounts(form), dsn) as db:
        sm = db.get_schema_manager()
        offline = await sm.migrate()
        expected = await _catalog(dsn)
        await sm.ensure_deleted()
    await _start(dsn)
    caplog.set_level(logging.INFO, logger="linkgress.migrate")
    async with opened(accounts(form), dsn) as db:
        sm = db.get_schema_manager()
        online = await sm.migrate(online=True)
        assert [op.describe() for op in online] == [op.describe() for op in offline]
        assert await _catalog(dsn) == expected
        assert await sm.analyze() == []
        assert await sm.migrate(online=True) == []
    assert await _pending(dsn) == [(0,)]
    assert f"after commit (outside the transaction): {STEP_LOGGED[form]}" in caplog.text


async def test_rows_that_break_a_step_are_refused_before_anything_changes(
        linkgress_database: str) -> None:
    # The data pre-checks run before the online forms: rows already there that a step after
    # the commit would meet are refused while nothing has changed yet.
    dsn = linkgress_database
    await _start(dsn)
    await execute(dsn, "UPDATE accounts SET code = -1 WHERE id = 7")  # breaks the check
    await execute(dsn, "UPDATE accounts SET email = NULL WHERE id = 8")  # and NOT NULL
    before = await dump(dsn)
    async with opened(accounts(*FORMS), dsn) as db:
        with pytest.raises(MigrationError, match="data pre-check failed, nothing was changed"
                           ) as info:
            await db.get_schema_manager().migrate(online=True)
    assert "'accounts.email' (set NOT NULL)" in str(info.value)
    assert "violate CHECK ((code >= 0)) (keys: id=7)" in str(info.value)
    assert await dump(dsn) == before
    assert await rows(dsn, f"SELECT to_jsonb(s) ? 'pending' FROM {STATE} AS s") == [(False,)]


async def test_failing_steps_stay_pending_and_the_next_migrate_completes_them(
        linkgress_database: str) -> None:
    dsn = linkgress_database
    await _start(dsn)
    async with opened(accounts(*FORMS), dsn) as db:
        sm = db.get_schema_manager()
        error = await _migrate_racing_a_writer(
            sm, dsn, "UPDATE accounts SET code = -1 WHERE id = 7",  # breaks the check
            "UPDATE accounts SET email = NULL WHERE id = 8")  # and NOT NULL
        assert re.search(r"set NOT NULL on 'accounts\.email'", str(error))
        assert isinstance(error.__cause__, asyncpg.CheckViolationError)
        assert "also failed (and stays pending): validate constraint 'ck_accounts_code'" in str(
            error)
        assert "the next migrate() resumes it" in str(error)
        # Committed: the checks exist NOT VALID and are enforced for new rows already.
        assert await rows(dsn, "SELECT conname, convalidated FROM pg_constraint WHERE "
                               f"conrelid = 'accounts'::regclass {NOT_NOT_NULL} ORDER BY 1") == [
            ("accounts_pkey", True), ("ck_accounts_code", False),
            ("email__linkgress_nn", False), ("fk_accounts_owner", True),
            ("uq_accounts_email", True)]  # the steps that could run did
        for bad in ("'new@x', -5", "NULL, 5"):
            with pytest.raises(asyncpg.CheckViolationError):
                await execute(dsn, f"INSERT INTO accounts (email, code) VALUES ({bad})")
        assert await _pending(dsn) == [(2,)]
        await execute(dsn, "UPDATE accounts SET code = 7 WHERE id = 7")
        await execute(dsn, "UPDATE accounts SET email = 'a8@x' WHERE id = 8")
        assert await sm.migrate() == []  # a plain migrate() finishes the recorded steps
        assert await sm.analyze() == []
    assert await _pending(dsn) == [(0,)]
    assert await rows(dsn, "SELECT count(*) FROM pg_constraint WHERE conrelid = "
                           "'accounts'::regclass AND NOT convalidated") == [(0,)]
    assert await rows(dsn, "SELECT count(*) FROM pg_index WHERE indrelid = "
                           "'accounts'::regclass AND NOT indisvalid") == [(0,)]
    assert await rows(dsn, "SELECT attnotnull FROM pg_attribute WHERE attrelid = "
                           "'accounts'::regclass AND attname = 'email'") == [(True,)]
    assert await rows(dsn, "SELECT conname FROM pg_constraint WHERE conname LIKE "
                           "'%linkgress_nn'") == []


# linkgress migrate sessions on the test's database (other tests may run on the same server).
MIGRATE_SESSIONS = ("SELECT 1 FROM pg_stat_activity WHERE application_name = 'linkgress migrate' "
                    "AND datname = current_database()")


async def _wait_for_lock_wait(dsn: str) -> None:
    """Until a linkgress migrate session waits for a lock."""
    with anyio.fail_after(20):
        while not await rows(dsn, MIGRATE_SESSIONS + " AND wait_event_type = 'Lock'"):
            await anyio.sleep(0.05)


async def _migrate_racing_a_writer(sm: Any, dsn: str, *statements: str) -> MigrationError:
    """The MigrationError of ``sm.migrate(online=True)`` run while another connection's
    transaction holds ``statements``' changes: the data pre-check reads the rows without them
    (they are not committed yet), the migration's DDL waits for the writer's lock, and the
    writer commits — the race the steps after the commit must survive."""
    writer = await asyncpg.connect(dsn)
    failures: list[MigrationError] = []

    async def migrate_online() -> None:
        try:
            await sm.migrate(online=True)
        except MigrationError as exc:
            failures.append(exc)

    try:
        tr = writer.transaction()
        await tr.start()
        for sql in statements:
            await writer.execute(sql)
        async with anyio.create_task_group() as tg:
            tg.start_soon(migrate_online)
            await _wait_for_lock_wait(dsn)
            await tr.commit()
    finally:
        await writer.close()
    assert len(failures) == 1, "migrate(online=True) did not fail"
    return failures[0]


# gate() waits while advisory lock 4242 is held, once it is armed: the on_migration_complete
# hook of gated() arms it, after the data pre-check read the rows (which therefore passes at
# once) and before the commit, so it is the VALIDATE after the commit that waits.
GATE = """
CREATE TABLE gate_armed ();
CREATE FUNCTION gate(c integer) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF EXISTS (SELECT FROM gate_armed) THEN
        PERFORM pg_advisory_xact_lock_shared(4242);
    END IF;
    RETURN c >= 0;
END $$
"""


def gated() -> type[DbContext]:
    """accounts with NOT NULL email and a check that, once the migration transaction armed
    it, waits while advisory lock 4242 is held."""
    account = entity("Account", {"id": int, "email": str, "code": int | None,
                                 "owner_id": int | None})

    def setup(model: DbModelConfig) -> None:
        model.entity(account).has_check("ck_accounts_gate", "gate(code)")

    class Gated(context({"owners": Owner, "accounts": account}, setup)):  # type: ignore[misc]
        async def on_migration_complete(self, client: DatabaseClient) -> None:
            await client.execute("INSERT INTO gate_armed DEFAULT VALUES")

    return Gated


async def test_a_cancelled_migration_is_completed_by_the_next_one(
        linkgress_database: str) -> None:
    dsn = linkgress_database
    await _start(dsn)
    await execute(dsn, GATE)
    blocker = await asyncpg.connect(dsn)
    try:
        await blocker.execute("SELECT pg_advisory_lock(4242)")  # VALIDATE waits for it
        async with opened(gated(), dsn) as db:
            sm = db.get_schema_manager()

            async def migrate_online() -> None:
                await sm.migrate(online=True)

            async with anyio.create_task_group() as tg:
                tg.start_soon(migrate_online)
                await _wait_for_lock_wait(dsn)
                tg.cancel_scope.cancel()
            await blocker.execute("SELECT pg_advisory_unlock(4242)")
            assert await rows(dsn, "SELECT jsonb_array_length(pending) > 0 FROM "
                                   f"{STATE}") == [(True,)]
            assert await rows(dsn, "SELECT convalidated FROM pg_constraint WHERE "
                                   "conname = 'ck_accounts_gate'") == [(False,)]
            notes = (await sm.analyze_full()).notes
            assert any("of an interrupted migrate(online=True) are pending" in note
                       and "validate constraint 'ck_accounts_gate'" in note for note in notes)
            assert await sm.migrate() == []
            assert await sm.analyze() == []
    finally:
        await blocker.close()
    assert await rows(dsn, "SELECT conname, convalidated FROM pg_constraint WHERE "
                           "conrelid = 'accounts'::regclass AND contype = 'c'") == [
        ("ck_accounts_gate", True)]
    assert await rows(dsn, "SELECT attnotnull FROM pg_attribute WHERE attrelid = "
                           "'accounts'::regclass AND attname = 'email'") == [(True,)]
    assert await _pending(dsn) == [(0,)]


async def test_an_invalid_leftover_index_is_dropped_and_rebuilt(linkgress_database: str) -> None:
    dsn = linkgress_database
    await _start(dsn)
    writer = await asyncpg.connect(dsn)
    builder = await asyncpg.connect(dsn)
    try:
        # An open writer makes CREATE INDEX CONCURRENTLY wait after it created the (INVALID)
        # index; the statement timeout then interrupts it, leaving the leftover behind.
        tr = writer.transaction()
        await tr.start()
        await writer.execute("INSERT INTO accounts (email, code) VALUES ('w@x', 1)")
        await builder.execute("SET statement_timeout = '300ms'")
        with pytest.raises(asyncpg.QueryCanceledError):
            await builder.execute("CREATE INDEX CONCURRENTLY ix_accounts_code ON accounts "
                                  "(code)")
        await tr.rollback()
    finally:
        await writer.close()
        await builder.close()
    valid = "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_accounts_code'::regclass"
    assert await rows(dsn, valid) == [(False,)]
    async with opened(accounts("index"), dsn) as db:
        sm = db.get_schema_manager()
        await sm.migrate(online=True)
        assert await rows(dsn, valid) == [(True,)]
        assert await sm.analyze() == []
        assert (await sm.analyze_full()).notes == []


async def test_validation_waits_past_lock_timeout_without_failing(
        linkgress_database: str) -> None:
    # VALIDATE's lock lets writers through, so it may wait longer than lock_timeout (which
    # bounds only the statements writers would queue behind).
    dsn = linkgress_database
    await _start(dsn)
    await execute(dsn, GATE)
    blocker = await asyncpg.connect(dsn)
    try:
        await blocker.execute("SELECT pg_advisory_lock(4242)")
        async with opened(gated(), dsn) as db:
            sm = db.get_schema_manager(lock_timeout=0.2, lock_retries=0)
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: sm.migrate(online=True))
                await _wait_for_lock_wait(dsn)
                await anyio.sleep(0.6)
                await blocker.execute("SELECT pg_advisory_unlock(4242)")
            assert await sm.analyze() == []
    finally:
        await blocker.close()
    assert await rows(dsn, "SELECT convalidated FROM pg_constraint WHERE "
                           "conname = 'ck_accounts_gate'") == [(True,)]
    assert await _pending(dsn) == [(0,)]


async def test_through_pgbouncer_a_plan_with_steps_is_refused_before_anything(
        linkgress_database: str) -> None:
    dsn = linkgress_database
    await _start(dsn)
    before = await dump(dsn)
    async with opened(accounts("index", "check"), dsn, pgbouncer=True) as db:
        sm = db.get_schema_manager()
        with pytest.raises(MigrationError, match="PgBouncer") as info:
            await sm.migrate(online=True)
        assert "nothing was applied" in str(info.value)
        assert await dump(dsn) == before
        assert len(await sm.migrate()) == 2  # the offline form needs no session


async def test_a_newer_model_drops_the_pending_steps_it_no_longer_wants(
        linkgress_database: str) -> None:
    dsn = linkgress_database
    await _start(dsn)
    async with opened(accounts("unique", "not_null", "index"), dsn) as db:
        error = await _migrate_racing_a_writer(
            db.get_schema_manager(), dsn,
            "UPDATE accounts SET email = 'a1@x' WHERE id = 2",  # a duplicate
            "UPDATE accounts SET email = NULL WHERE id = 3")  # a NULL
        assert "uq_accounts_email" in str(error)
    assert await _pending(dsn) == [(2,)]
    # Rather than fix the rows, the next release gives up the constraint and NOT NULL.
    async with opened(accounts("index"), dsn) as db:
        sm = db.get_schema_manager()
        assert [op.describe() for op in await sm.migrate()] == []
        assert await sm.analyze() == []
        assert (await sm.analyze_full()).notes == []
    assert await _pending(dsn) == [(0,)]
    assert await rows(dsn, "SELECT conname FROM pg_constraint WHERE conrelid = "
                           f"'accounts'::regclass {NOT_NOT_NULL} ORDER BY 1") == [
        ("accounts_pkey",)]
    assert await rows(dsn, "SELECT indexrelid::regclass::text, indisvalid FROM pg_index "
                           "WHERE indrelid = 'accounts'::regclass ORDER BY 1") == [
        ("accounts_pkey", True), ("ix_accounts_code", True)]


KILLED = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, {root!r})
    from tests.integration.migrate_support import opened
    from tests.integration.test_migrate_online import gated

    async def main():
        async with opened(gated(), {dsn!r}) as db:
            await db.get_schema_manager().migrate(online=True)

    asyncio.run(main())
""")


async def test_a_killed_migrators_steps_are_completed_by_the_next_one(
        linkgress_database: str, tmp_path: Path) -> None:
    dsn = linkgress_database
    await _start(dsn)
    await execute(dsn, GATE)
    script = tmp_path / "migrator.py"
    script.write_text(KILLED.format(root=str(Path(__file__).resolve().parents[2]), dsn=dsn))
    blocker = await asyncpg.connect(dsn)
    try:
        await blocker.execute("SELECT pg_advisory_lock(4242)")  # VALIDATE waits for it
        process = await asyncio.create_subprocess_exec(sys.executable, str(script))
        try:
            await _wait_for_lock_wait(dsn)
        finally:
            os.kill(process.pid, signal.SIGKILL)
            await process.wait()
        killed = time.monotonic()
        # The server notices the dead client while VALIDATE still waits (it would otherwise
        # keep the session, and the migration lock, for as long as the gate is held).
        with anyio.fail_after(10):
            while await rows(dsn, MIGRATE_SESSIONS):
                await anyio.sleep(0.1)
        assert time.monotonic() - killed < 10
        await blocker.execute("SELECT pg_advisory_unlock(4242)")
    finally:
        await blocker.close()
    assert await rows(dsn, f"SELECT jsonb_array_length(pending) > 0 FROM {STATE}") == [(True,)]
    async with opened(gated(), dsn) as db:
        sm = db.get_schema_manager()
        assert await sm.migrate() == []
        assert await sm.analyze() == []
    assert await rows(dsn, "SELECT convalidated FROM pg_constraint WHERE "
                           "conname = 'ck_accounts_gate'") == [(True,)]
    assert await _pending(dsn) == [(0,)]
