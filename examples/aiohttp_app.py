"""An aiohttp service that brings its database schema up to date in ``on_startup``.

Run it::

    DATABASE_URL=postgresql://postgres@localhost/app python examples/aiohttp_app.py

``migrate()`` is awaited before the server accepts connections. With several processes
starting at once, the migration lock lets one apply the changes; the others wait for its commit
and find nothing to do. Destructive plans are refused at start-up (``MigrationAborted``) unless
``allow_destructive=True`` is passed.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from linkgress import DbContext, Entity, PgClient, column, text, timestamptz


class Todo(Entity):
    id: int
    title: str = column(text())
    done: bool = column(default=False)
    created_at: dt.datetime = column(timestamptz(), default_sql="now()")


class TodoDatabase(DbContext):
    todos = DbContext.table(Todo)


DB = web.AppKey("db", TodoDatabase)


async def add_todo(request: web.Request) -> web.Response:
    """``POST /todos`` with ``{"title": ...}``."""
    payload = await request.json()
    row = await request.app[DB].client.fetchrow(
        "INSERT INTO todos (title) VALUES ($1) RETURNING id, title, done", str(payload["title"]))
    assert row is not None
    return web.json_response(dict(row), status=201)


async def list_todos(request: web.Request) -> web.Response:
    """``GET /todos``."""
    records = await request.app[DB].client.fetch("SELECT id, title, done FROM todos ORDER BY id")
    return web.json_response([dict(r) for r in records])


def create_app(client: PgClient | None = None) -> web.Application:
    """The application; ``client`` defaults to ``PgClient.from_env()`` (``DATABASE_URL``)."""
    app = web.Application()

    async def on_startup(app: web.Application) -> None:
        db = TodoDatabase(client if client is not None else PgClient.from_env())
        app[DB] = db
        await db.get_schema_manager().migrate()

    async def on_cleanup(app: web.Application) -> None:
        await app[DB].dispose()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_post("/todos", add_todo)
    app.router.add_get("/todos", list_todos)
    return app


if __name__ == "__main__":
    web.run_app(create_app(), port=8080)
