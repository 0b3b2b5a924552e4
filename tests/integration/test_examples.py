"""The FastAPI and aiohttp examples start against a fresh database, migrate it, and serve."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from linkgress import PgClient
from linkgress.testing import MigrationStepsFactory
from tests.integration.migrate_support import rows

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

TODO_COLUMNS = [("id", "integer", "NO"), ("title", "text", "NO"), ("done", "boolean", "NO"),
                ("created_at", "timestamp with time zone", "NO")]
COLUMNS_SQL = ("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
               "WHERE table_name = 'todos' ORDER BY ordinal_position")


def _load(name: str) -> ModuleType:
    module_name = f"linkgress_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # so the entities' annotations resolve
    spec.loader.exec_module(module)
    return module


async def test_fastapi_example(linkgress_database: str) -> None:
    pytest.importorskip("fastapi")
    from asgi_lifespan import LifespanManager

    app = _load("fastapi_app").create_app(PgClient(dsn=linkgress_database))
    async with LifespanManager(app) as manager:
        assert await rows(linkgress_database, COLUMNS_SQL) == TODO_COLUMNS
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            created = await http.post("/todos", json={"title": "write docs"})
            assert created.status_code == 201
            assert created.json() == {"id": 1, "title": "write docs", "done": False}
            listed = await http.get("/todos")
            assert listed.json() == [{"id": 1, "title": "write docs", "done": False}]


async def test_aiohttp_example(linkgress_database: str) -> None:
    pytest.importorskip("aiohttp")
    from aiohttp.test_utils import TestClient, TestServer

    app = _load("aiohttp_app").create_app(PgClient(dsn=linkgress_database))
    async with TestClient(TestServer(app)) as http:
        assert await rows(linkgress_database, COLUMNS_SQL) == TODO_COLUMNS
        created = await http.post("/todos", json={"title": "ship it"})
        assert created.status == 201
        assert await created.json() == {"id": 1, "title": "ship it", "done": False}
        listed = await http.get("/todos")
        assert await listed.json() == [{"id": 1, "title": "ship it", "done": False}]


async def test_example_migrations_pass_check_migrations(linkgress_database: str) -> None:
    pytest.importorskip("fastapi")
    from linkgress.testing import check_migrations

    context = _load("fastapi_app").TodoDatabase
    applied = await check_migrations(context, EXAMPLES / "migrations", linkgress_database)
    assert applied == [p.stem for p in sorted((EXAMPLES / "migrations").glob("*.py"))]


async def test_example_data_migration_step_by_step(
        linkgress_migration_steps: MigrationStepsFactory) -> None:
    pytest.importorskip("fastapi")
    context = _load("fastapi_app").TodoDatabase
    async with linkgress_migration_steps(context, EXAMPLES / "migrations") as steps:
        assert await steps.migrate_to("20261207_230616_create_todos") == [
            "20261207_230616_create_todos"]
        await steps.db.client.executemany("INSERT INTO todos (title) VALUES ($1)",
                                          [("  ship it ",), ("done",)])
        assert await steps.migrate_to("20261208_090000_trim_todo_titles") == [
            "20261208_090000_trim_todo_titles"]
        titles = await steps.db.client.fetch("SELECT title FROM todos ORDER BY id")
        assert [row["title"] for row in titles] == ["ship it", "done"]
