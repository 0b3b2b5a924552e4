"""Rolling deploys: old and new versions of a service call ``migrate()`` side by side.

Old code never reverts new schema (the history of applied models), consent is never asked
while the migration lock is held, and DDL that meets a busy table is retried. Worker processes
are ``python -m tests.integration.rolling_worker`` (see :mod:`tests.integration.rolling_models`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pty
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from linkgress import (
    MigrationAborted,
    MigrationError,
    MigrationLockTimeout,
    Operation,
    SchemaAheadError,
)
from linkgress.schema.executor import MIGRATION_LOCK_KEY
from tests.integration.catalog import dump
from tests.integration.migrate_support import execute, opened, rows
from tests.integration.rolling_models import ShopV1, ShopV2, ShopV2B, ShopV3

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


async def worker(dsn: str, version: str, consent: str) -> dict[str, Any]:
    """Run one service start in its own process; its JSON line."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.rolling_worker", dsn, version, consent,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=ENV, cwd=ROOT)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert out, err.decode()
    result: dict[str, Any] = json.loads(out.decode().splitlines()[-1])
    return result


async def columns(dsn: str) -> set[tuple[str, str]]:
    return {(t, c) for t, c in await rows(
        dsn, "SELECT table_name::text, column_name::text FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name IN ('customers', 'reviews')")}


async def test_a_superseded_model_changes_nothing_and_warns(
        linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    async with opened(ShopV1, linkgress_database) as v1:
        await v1.get_schema_manager().migrate()
    async with opened(ShopV2, linkgress_database) as v2:
        assert await v2.get_schema_manager().migrate()
    before = await dump(linkgress_database)
    caplog.set_level(logging.WARNING, "linkgress.migrate")
    async with opened(ShopV1, linkgress_database) as v1:
        sm = v1.get_schema_manager()
        assert await sm.migrate(allow_destructive=True) == []
        assert await sm.analyze() == []
        assert "superseded" in (await sm.analyze_full()).notes[0]
    assert "superseded by a newer one" in caplog.text
    assert await dump(linkgress_database) == before  # V2's column and table are still there
    async with opened(ShopV2, linkgress_database) as v2:  # the newest model is still current
        assert await v2.get_schema_manager().migrate() == []


async def test_schema_ahead_error_names_what_the_old_model_misses(
        linkgress_database: str) -> None:
    async with opened(ShopV2, linkgress_database) as v2:
        await v2.get_schema_manager().migrate()
    async with opened(ShopV3, linkgress_database) as v3:
        assert await v3.get_schema_manager().migrate(allow_destructive=True)  # drops name
    before = await dump(linkgress_database)
    async with opened(ShopV2, linkgress_database) as v2:
        with pytest.raises(SchemaAheadError, match=r"column customers\.name") as info:
            await v2.get_schema_manager().migrate(allow_destructive=True)
    assert "nothing was changed" in str(info.value)
    assert await dump(linkgress_database) == before
    async with opened(ShopV2, linkgress_database) as v2:  # a deliberate rollback
        sm = v2.get_schema_manager()
        await sm.forget_history()
        assert "Add column 'customers.name' (VARCHAR(100))" in [
            op.describe() for op in await sm.migrate()]


async def test_a_state_table_from_before_the_history_is_upgraded(
        linkgress_database: str) -> None:
    async with opened(ShopV1, linkgress_database) as v1:
        await v1.get_schema_manager().migrate()
    # As an older linkgress left it: no history column.
    await execute(linkgress_database,
                  "ALTER TABLE public.__linkgress_schema_state DROP COLUMN history")
    async with opened(ShopV1, linkgress_database) as v1:  # the recorded model: current
        assert await v1.get_schema_manager().migrate() == []
    await execute(linkgress_database,
                  "ALTER TABLE public.__linkgress_schema_state DROP COLUMN history")
    async with opened(ShopV2, linkgress_database) as v2:
        assert await v2.get_schema_manager().migrate()
    history = json.loads((await rows(
        linkgress_database, "SELECT history::text FROM public.__linkgress_schema_state"))[0][0])
    assert len(history) == 2 and history[0]["model"] is None  # seeded from the old record
    async with opened(ShopV1, linkgress_database) as v1:
        assert await v1.get_schema_manager().migrate(allow_destructive=True) == []
    assert ("customers", "phone") in await columns(linkgress_database)


async def test_rolling_deploy_storm_never_flip_flops(linkgress_database: str) -> None:
    """4 processes of V1 and 4 of V2 start together, several rounds, with and without
    consent: V2's expand is applied exactly once, V1 never applies anything and nothing V2
    needs is ever dropped (its 50 rows stay)."""
    dsn = linkgress_database
    async with opened(ShopV1, dsn) as v1:
        await v1.get_schema_manager().migrate()
    expands = 0
    for round_no, consent in enumerate(["yes", "ask", "yes"]):
        results = await asyncio.gather(*(worker(dsn, version, consent)
                                         for _ in range(4) for version in ("V1", "V2")))
        assert all("applied" in r for r in results), results
        old = results[0::2]
        new = results[1::2]
        assert all(r["applied"] == [] for r in old), old
        expands += sum(bool(r["applied"]) for r in new)
        assert {("customers", "phone"), ("reviews", "body")} <= await columns(dsn)
        if round_no == 0:
            await execute(dsn, "INSERT INTO customers (name, phone) "
                          "SELECT 'c' || i, '555' FROM generate_series(1, 50) i")
            await execute(dsn, "INSERT INTO reviews (customer_id, body) "
                          "SELECT id, 'fine' FROM customers")
    assert expands == 1
    assert await rows(dsn, "SELECT count(phone) FROM customers") == [(50,)]
    assert await rows(dsn, "SELECT count(*) FROM reviews") == [(50,)]


# -- consent is never asked while holding the lock ------------------------------------------

async def lock_is_free(dsn: str) -> bool:
    """Whether another session could take the migration lock right now."""
    conn = await asyncpg.connect(dsn)
    try:
        got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", MIGRATION_LOCK_KEY)
        if got:
            await conn.fetchval("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        return bool(got)
    finally:
        await conn.close()


async def test_consent_is_asked_before_the_lock_and_again_when_the_plan_grew(
        linkgress_database: str) -> None:
    dsn = linkgress_database
    async with opened(ShopV2, dsn) as v2:
        await v2.get_schema_manager().migrate()
    plans: list[list[str]] = []

    async def confirm(operations: list[Operation]) -> bool:
        assert await lock_is_free(dsn)
        plans.append([op.describe() for op in operations])
        if len(plans) == 1:  # another service version migrates meanwhile
            async with opened(ShopV2B, dsn) as v2b:
                assert await v2b.get_schema_manager().migrate()
        return True

    async with opened(ShopV3, dsn) as v3:
        applied = await v3.get_schema_manager().migrate(confirm=confirm)
    assert len(plans) == 2
    assert not any("nickname" in line for line in plans[0])
    assert "Drop column 'customers.nickname'" in plans[1]
    assert {op.describe() for op in applied} >= {"Drop column 'customers.nickname'",
                                                 "Drop column 'customers.name'"}


def _read_until(fd: int, marker: bytes, seconds: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen


async def test_sigterm_during_the_prompt_aborts_with_nothing_applied(
        linkgress_database: str) -> None:
    dsn = linkgress_database
    async with opened(ShopV2, dsn) as v2:
        await v2.get_schema_manager().migrate()
    before = await dump(dsn)
    master, slave = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.rolling_worker", dsn, "V3", "ask",
        stdin=slave, stdout=asyncio.subprocess.PIPE, stderr=slave, env=ENV, cwd=ROOT)
    os.close(slave)
    try:
        shown = await asyncio.to_thread(_read_until, master, b"(y/N)", 60)
        assert b"Do you want to continue? (y/N)" in shown, shown
        # While a person is being asked, the lock is free and other migrators go ahead.
        assert await lock_is_free(dsn)
        async with opened(ShopV2, dsn) as v2:
            assert await v2.get_schema_manager(lock_wait_timeout=2).migrate() == []
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 1
    result = json.loads(out.decode().splitlines()[-1])
    assert result["error"] == "MigrationAborted" and "SIGTERM" in result["message"]
    assert await dump(dsn) == before
    async with opened(ShopV3, dsn) as v3:  # V3 was never applied: it is still new
        assert "Drop column 'customers.name'" in [
            op.describe() for op in await v3.get_schema_manager().analyze()]


# -- lock discipline -------------------------------------------------------------------------

async def hold_table(dsn: str, seconds: float, started: asyncio.Event) -> None:
    """A long reader: ACCESS SHARE on customers for ``seconds``."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.fetch("SELECT * FROM customers")
            started.set()
            await asyncio.sleep(seconds)
    finally:
        await conn.close()


async def test_ddl_blocked_by_a_reader_is_retried_until_it_goes(
        linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    dsn = linkgress_database
    async with opened(ShopV1, dsn) as v1:
        await v1.get_schema_manager().migrate()
    caplog.set_level(logging.INFO, "linkgress.migrate")
    started = asyncio.Event()
    reader = asyncio.create_task(hold_table(dsn, 2.0, started))
    await started.wait()
    async with opened(ShopV2, dsn) as v2:
        sm = v2.get_schema_manager(lock_timeout=0.3, lock_retries=8)
        applied = await sm.migrate()
    await reader
    assert "Add column 'customers.phone' (VARCHAR(30))" in [op.describe() for op in applied]
    assert "retrying the migration" in caplog.text
    assert ("customers", "phone") in await columns(dsn)


async def test_without_retries_the_lock_timeout_is_a_migration_error(
        linkgress_database: str) -> None:
    dsn = linkgress_database
    async with opened(ShopV1, dsn) as v1:
        await v1.get_schema_manager().migrate()
    started = asyncio.Event()
    reader = asyncio.create_task(hold_table(dsn, 1.5, started))
    await started.wait()
    async with opened(ShopV2, dsn) as v2:
        with pytest.raises(MigrationError, match="lock timeout") as info:
            await v2.get_schema_manager(lock_timeout=0.2, lock_retries=0).migrate()
    await reader
    assert not isinstance(info.value, MigrationLockTimeout)
    assert ("customers", "phone") not in await columns(dsn)


async def test_a_waiting_migrator_polls_instead_of_blocking(linkgress_database: str) -> None:
    dsn = linkgress_database
    holder = await asyncpg.connect(dsn)
    try:
        tr = holder.transaction()
        await tr.start()
        await holder.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        async with opened(ShopV1, dsn) as v1:
            waiting = asyncio.create_task(v1.get_schema_manager(lock_wait_timeout=20).migrate())
            await asyncio.sleep(1.0)
            assert not waiting.done()
            # Nobody queues on the lock, and the waiter keeps no transaction open.
            assert await rows(dsn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                              "AND NOT granted") == [(0,)]
            assert await rows(dsn, "SELECT count(*) FROM pg_stat_activity WHERE pid <> $1 "
                              "AND datname = current_database() "
                              "AND now() - xact_start > interval '0.5 s'",
                              holder.get_server_pid()) == [(0,)]
            await tr.commit()
            assert [op.describe() for op in await asyncio.wait_for(waiting, 20)] == [
                "Create table 'customers'"]
    finally:
        await holder.close()


# -- expand / contract -----------------------------------------------------------------------

async def test_expand_defers_drops_until_contract(linkgress_database: str,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    dsn = linkgress_database
    monkeypatch.setattr(sys, "stdin", None)  # a non-TTY: no consent unless given
    async with opened(ShopV2, dsn) as v2:
        await v2.get_schema_manager().migrate()
    await execute(dsn, "INSERT INTO customers (name) VALUES ('kept')")
    caplog.set_level(logging.INFO, "linkgress.migrate")
    async with opened(ShopV3, dsn) as v3:
        sm = v3.get_schema_manager()
        applied = await sm.migrate(defer_destructive=True)  # needs no consent
        assert [op.describe() for op in applied] == [
            "Alter column 'customers.name' (drop NOT NULL)"]
        assert "Deferred until contract():\n  - Drop column 'customers.name'" in caplog.text
        assert [op.describe() for op in await sm.analyze()] == ["Drop column 'customers.name'"]
        assert await sm.migrate(defer_destructive=True) == []  # another pod of V3
        await execute(dsn, "INSERT INTO customers (phone) VALUES ('555')")  # V3's insert
        async with opened(ShopV2, dsn) as v2:  # the old pods still start
            assert await v2.get_schema_manager().migrate() == []
        with pytest.raises(MigrationAborted):
            await sm.contract()
        assert ("customers", "name") in await columns(dsn)
        contracted = await sm.contract(allow_destructive=True)
        assert [op.describe() for op in contracted] == ["Drop column 'customers.name'"]
        assert await sm.analyze() == [] and await sm.contract() == []
    assert ("customers", "name") not in await columns(dsn)


async def test_contract_refuses_while_other_operations_are_pending(
        linkgress_database: str) -> None:
    async with opened(ShopV1, linkgress_database) as v1:
        await v1.get_schema_manager().migrate()
    before = await dump(linkgress_database)
    async with opened(ShopV3, linkgress_database) as v3:
        with pytest.raises(MigrationError, match=r"run migrate\(\) first"):
            await v3.get_schema_manager().contract(allow_destructive=True)
    assert await dump(linkgress_database) == before
