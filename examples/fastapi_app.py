"""A FastAPI service that brings its database schema up to date when it starts.

Run it (several workers are fine: the migration lock lets exactly one of them apply changes,
the others wait for it and then find nothing to do)::

    DATABASE_URL=postgresql://postgres@localhost/app uvicorn examples.fastapi_app:app --workers 4

``migrate()`` runs in the lifespan handler, before the first request is served. A plan with
destructive operations (a dropped column, a dropped table) is *not* applied at start-up — there
is no terminal to ask — and the service refuses to start with ``MigrationAborted``; apply such a
plan deliberately (``linkgress db migrate --allow-destructive``) or pass
``allow_destructive=True`` if the service may drop data on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel

from linkgress import DbContext, Entity, PgClient, column, text, timestamptz


class Todo(Entity):
    id: int
    title: str = column(text())
    done: bool = column(default=False)
    created_at: dt.datetime = column(timestamptz(), default_sql="now()")


class TodoDatabase(DbContext):
    todos = DbContext.table(Todo)


class TodoIn(BaseModel):
    title: str


def create_app(client: PgClient | None = None) -> FastAPI:
    """The application; ``client`` defaults to ``PgClient.from_env()`` (``DATABASE_URL``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = TodoDatabase(client if client is not None else PgClient.from_env())
        try:
            await db.get_schema_manager().migrate()
            app.state.db = db
            yield
        finally:
            await db.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/todos", status_code=201)
    async def add_todo(todo: TodoIn, request: Request) -> dict[str, Any]:
        db: TodoDatabase = request.app.state.db
        row = await db.client.fetchrow(
            "INSERT INTO todos (title) VALUES ($1) RETURNING id, title, done", todo.title)
        assert row is not None
        return dict(row)

    @app.get("/todos")
    async def list_todos(request: Request) -> list[dict[str, Any]]:
        db: TodoDatabase = request.app.state.db
        return [dict(r) for r in await db.client.fetch(
            "SELECT id, title, done FROM todos ORDER BY id")]

    return app


app = create_app()
