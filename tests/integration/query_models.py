"""Entities and a context for the query integration tests, plus the data they are seeded with."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from typing import Any

from linkgress import (
    DbContext,
    DbModelConfig,
    Entity,
    PgClient,
    column,
    integer,
    jsonb,
    text,
    timestamptz,
    varchar,
)


class Mood(enum.Enum):
    HAPPY = "happy"
    GRUMPY = "grumpy"


class Author(Entity):
    id: int
    username: str = column(varchar(100), unique=True)
    email: str | None = column(text())
    mood: Mood = column(default=Mood.HAPPY)
    score: int = column(integer(), default=0)
    profile: Any = column(jsonb(), nullable=True)
    created_at: datetime = column(timestamptz(), default_sql="now()")


class Article(Entity):
    id: int
    title: str = column(varchar(200))
    author_id: int = column(references=Author, on_delete="cascade")
    editor_id: int | None = column(references=Author, on_delete="set null")
    views: int = column(default=0)
    published_at: datetime | None = column(timestamptz())


class Remark(Entity):
    id: int
    article_id: int = column(references=Article, on_delete="cascade")
    body: str = column(text())
    likes: int = column(default=0)


class Journal(DbContext):
    authors = DbContext.table(Author)
    articles = DbContext.table(Article)
    remarks = DbContext.table(Remark)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Author).has_many("articles", Article).with_foreign_key("author_id")
        model.entity(Article).has_one("author", Author).with_foreign_key("author_id")
        model.entity(Article).has_one("editor", Author).with_foreign_key("editor_id")
        model.entity(Article).has_many("remarks", Remark).with_foreign_key("article_id")
        model.entity(Remark).has_one("article", Article).with_foreign_key("article_id")


BASE_TIME = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)

#: username, email, mood, score, profile
AUTHORS = [
    ("alice", "alice@example.com", "happy", 10, {"lang": "en", "tags": [1, 2]}),
    ("bob", None, "grumpy", 5, None),
    ("chloë", "chloe@example.com", "happy", 7, {"lang": "fr"}),
    ("dan_100%", "dan@example.com", "grumpy", 0, None),
]


async def seed(db: Journal) -> dict[str, int]:
    """Insert the fixed data set with plain SQL; return author ids by username."""
    client = db.client
    ids: dict[str, int] = {}
    for i, (name, email, mood, score, profile) in enumerate(AUTHORS):
        ids[name] = await client.fetchval(
            "INSERT INTO authors (username, email, mood, score, profile, created_at)"
            " VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING id",
            name, email, mood, score, None if profile is None else _json(profile),
            BASE_TIME + timedelta(days=i))
    # alice: 3 articles, bob: 1 (edited by alice), chloë: 2, dan: none
    articles = [
        ("Hello", "alice", None, 100, 0), ("Second", "alice", "bob", 5, 1),
        ("Third", "alice", None, 50, None), ("Bob's", "bob", "alice", 20, 2),
        ("Ünïcödé ✓", "chloë", None, 0, 3), ("Zeta", "chloë", None, 15, None)]
    for title, author, editor, views, day in articles:
        article_id = await client.fetchval(
            "INSERT INTO articles (title, author_id, editor_id, views, published_at)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            title, ids[author], ids.get(editor or ""), views,
            None if day is None else BASE_TIME + timedelta(days=day))
        for n in range(views // 20):
            await client.execute(
                "INSERT INTO remarks (article_id, body, likes) VALUES ($1, $2, $3)",
                article_id, f"remark {n} on {title}", n)
    return ids


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


async def open_journal(dsn: str) -> Journal:
    """A context on ``dsn`` with the schema created."""
    db = Journal(PgClient(dsn=dsn))
    await db.get_schema_manager().ensure_created()
    return db
