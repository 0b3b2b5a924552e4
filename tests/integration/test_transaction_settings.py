"""``db.transaction(settings=...)``: transaction-local run-time parameters, and the worked
row-level security example of docs/row-level-security.md run as written (as a non-superuser
role the test creates and drops)."""

from __future__ import annotations

import re
import secrets
import sys
import types
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from linkgress import DatabaseError, PgClient, TransactionError
from linkgress.dsn import parse_dsn
from linkgress.schema.quoting import quote_ident
from tests.integration.migrate_support import execute
from tests.integration.mutation_models import Club, Member

PAGE = Path(__file__).resolve().parents[2] / "docs" / "row-level-security.md"
TENANT = "SELECT current_setting('app.tenant_id', true)"


@pytest_asyncio.fixture
async def db(routed_database: str) -> AsyncIterator[Club]:
    """One connection, so "the next user of the connection" is this test's next statement
    (direct; through PgBouncer the settings must not leak to whichever client it serves
    next)."""
    async with Club(PgClient(dsn=routed_database, max_size=1)) as opened:
        await opened.get_schema_manager().ensure_created()
        yield opened


async def test_settings_hold_inside_the_block_only(db: Club) -> None:
    hostile = "4'2; DROP TABLE members; --"
    async with db.transaction(settings={"app.tenant_id": hostile, "app.user": "ann"}) as tx:
        assert await tx.client.fetchval(TENANT) == hostile
        assert await tx.client.fetchval("SELECT current_setting('app.user')") == "ann"
        await db.members.insert(Member(handle="ann"))
    assert await db.members.count() == 1  # committed
    assert await db.client.fetchval(TENANT) in ("", None)  # gone with the transaction


async def test_settings_end_with_a_rolled_back_block_too(db: Club) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction(settings={"app.tenant_id": "7"}):
            raise RuntimeError("boom")
    assert await db.client.fetchval(TENANT) in ("", None)


async def test_a_nested_block_with_settings_is_refused(db: Club) -> None:
    async with db.transaction(settings={"app.tenant_id": "1"}) as outer:
        with pytest.raises(TransactionError, match=r"outermost .*\['app.tenant_id'\]"):
            async with db.transaction(settings={"app.tenant_id": "2"}):
                pass
        async with db.transaction():  # a savepoint without settings is fine
            assert await outer.client.fetchval(TENANT) == "1"


async def test_a_value_that_is_not_a_string_is_refused_before_any_database_work(
        db: Club) -> None:
    with pytest.raises(TransactionError, match=r"settings\['app.tenant_id'\] must be a string"):
        db.transaction(settings={"app.tenant_id": 42})  # type: ignore[dict-item]


async def test_an_unknown_setting_is_a_database_error_and_the_connection_comes_back(
        db: Club) -> None:
    with pytest.raises(DatabaseError, match="no_such_setting") as caught:
        async with db.transaction(settings={"no_such_setting": "1"}):
            pytest.fail("the block must not run")
    assert "set_config" in (caught.value.sql or "")
    # max_size=1: the connection was given back, rolled back.
    assert await db.members.count() == 0


# --- the documented row-level security example ------------------------------------------------


@pytest_asyncio.fixture
async def app_role(linkgress_server_dsn: str) -> AsyncIterator[str]:
    """A uniquely named LOGIN role (roles are cluster-wide), dropped afterwards. Its grants
    live in the test's database: the test revokes them there (DROP OWNED) first."""
    name = f"lg_app_{secrets.token_hex(4)}"
    try:
        yield name
    finally:
        await execute(linkgress_server_dsn, f"DROP ROLE IF EXISTS {quote_ident(name)}")


def _as_role(dsn: str, role: str) -> str:
    return replace(parse_dsn(dsn), user=role, password=None).to_dsn()


def _load_example() -> dict[str, Any]:
    (snippet,) = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"),
                            flags=re.S)
    module = types.ModuleType("linkgress_doc_rls")
    sys.modules[module.__name__] = module  # so the entities' annotations resolve
    exec(compile(snippet, str(PAGE), "exec"), module.__dict__)
    return module.__dict__


async def test_row_level_security_example_runs_as_written(
        linkgress_database: str, app_role: str) -> None:
    example = _load_example()
    try:
        await _run_example(example, linkgress_database, app_role)
    finally:
        del sys.modules["linkgress_doc_rls"]


async def _run_example(example: dict[str, Any], dsn: str, role: str) -> None:
    docs, document = example["Docs"], example["Document"]
    async with docs(PgClient(dsn=dsn)) as owner:
        await owner.get_schema_manager().migrate()
        await owner.get_schema_manager().migrate()  # the hook is idempotent
        await owner.documents.insert(document(tenant_id=1, title="alpha"))
        await owner.documents.insert(document(tenant_id=2, title="beta"))
        await owner.client.execute(f"CREATE ROLE {quote_ident(role)} LOGIN")
        await owner.client.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON documents TO {quote_ident(role)}")
    try:
        async with docs(PgClient(dsn=_as_role(dsn, role))) as db:
            assert await example["titles_of"](db, 1) == ["alpha"]
            assert await example["titles_of"](db, 2) == ["beta"]
            assert await db.documents.to_list() == []  # no tenant: no rows
            await example["add_document"](db, 1, "gamma")
            assert await example["titles_of"](db, 1) == ["alpha", "gamma"]
            with pytest.raises(DatabaseError, match="row-level security") as caught:
                async with db.transaction(settings={"app.tenant_id": "1"}):
                    await db.documents.insert(document(tenant_id=2, title="intruder"))
            assert caught.value.sqlstate == "42501"
            assert await example["titles_of"](db, 2) == ["beta"]
    finally:
        async with docs(PgClient(dsn=dsn)) as owner:
            await owner.client.execute(f"DROP OWNED BY {quote_ident(role)}")
