"""Navigations against real PostgreSQL: references become joins, collections become correlated
subqueries / nested arrays — all in one statement, with values typed as their columns."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
import pytest_asyncio

from linkgress.errors import QueryBuildError
from tests.integration.query_models import (
    BASE_TIME,
    Article,
    Author,
    Journal,
    Mood,
    open_journal,
    seed,
)


@pytest_asyncio.fixture(scope="module")
async def db(routed_module_database: str) -> AsyncIterator[Journal]:
    journal = await open_journal(routed_module_database)
    await seed(journal)
    try:
        yield journal
    finally:
        await journal.dispose()


class Statements(logging.Handler):
    """Collects the statements logged to ``linkgress.sql``."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.sql.append(record.getMessage())


@pytest.fixture
def statements(db: Journal) -> AsyncIterator[Statements]:
    handler = Statements()
    logger = logging.getLogger("linkgress.sql")
    old_level, old_flag = logger.level, db.client._log_queries
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    db.client._log_queries = True
    try:
        yield handler  # type: ignore[misc]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        db.client._log_queries = old_flag


async def test_required_reference_in_projection_and_where(db: Journal) -> None:
    rows = await (db.articles
                  .where(lambda p: p.author.username == "alice")
                  .order_by(lambda p: p.title)
                  .select(lambda p: {"title": p.title, "by": p.author.username,
                                     "mood": p.author.mood})
                  .to_list())
    assert rows == [{"title": "Hello", "by": "alice", "mood": Mood.HAPPY},
                    {"title": "Second", "by": "alice", "mood": Mood.HAPPY},
                    {"title": "Third", "by": "alice", "mood": Mood.HAPPY}]
    sql, _ = db.articles.select(lambda p: p.author.username).sql()
    assert " JOIN " in sql and "LEFT JOIN" not in sql


async def test_optional_reference_is_a_left_join(db: Journal) -> None:
    query = db.articles.order_by(lambda p: p.title).select(
        lambda p: (p.title, p.editor.username, p.editor))
    sql, _ = query.sql()
    assert "LEFT JOIN" in sql
    rows = await query.to_list()
    assert len(rows) == 6  # articles without an editor are kept
    by_title = {title: (editor_name, editor) for title, editor_name, editor in rows}
    assert by_title["Hello"] == (None, None)
    name, editor = by_title["Second"]
    assert name == "bob"
    assert isinstance(editor, Author) and editor.username == "bob" and editor.mood is Mood.GRUMPY


async def test_reference_read_twice_is_joined_once(db: Journal) -> None:
    sql, _ = db.articles.where(lambda p: p.author.score > 1).select(
        lambda p: {"a": p.author.username, "b": p.author.email}).sql()
    assert sql.count("JOIN") == 1


async def test_entity_and_its_reference(db: Journal) -> None:
    pairs = await db.articles.where(lambda p: p.title == "Bob's").select(
        lambda p: {"article": p, "author": p.author}).to_list()
    assert len(pairs) == 1
    assert isinstance(pairs[0]["article"], Article)
    assert pairs[0]["author"].username == "bob"


async def test_collection_projection_in_one_statement(
        db: Journal, statements: Statements) -> None:
    stats = await (db.authors
                   .order_by(lambda u: u.username)
                   .select(lambda u: {
                       "name": u.username,
                       "post_count": u.articles.count(),
                       "views": u.articles.sum(lambda p: p.views),
                       "popular": u.articles.any(lambda p: p.views >= 50),
                       "top": u.articles.where(lambda p: p.views > 10)
                                .order_by(lambda p: p.views, descending=True)
                                .select(lambda p: {"title": p.title,
                                                   "at": p.published_at})
                                .to_list()})
                   .to_list())
    assert len(statements.sql) == 1  # one round trip: no N+1
    assert stats[0] == {"name": "alice", "post_count": 3, "views": 155, "popular": True,
                        "top": [{"title": "Hello", "at": BASE_TIME},
                                {"title": "Third", "at": None}]}
    assert isinstance(stats[0]["top"][0]["at"], datetime)
    assert stats[1]["name"] == "bob" and stats[1]["top"] == [{"title": "Bob's",
                                                            "at": stats[1]["top"][0]["at"]}]
    dan = stats[3]
    assert dan == {"name": "dan_100%", "post_count": 0, "views": None, "popular": False,
                   "top": []}


async def test_nested_collections_and_entities(db: Journal, statements: Statements) -> None:
    rows = await (db.authors
                  .where(lambda u: u.username == "alice")
                  .select(lambda u: {
                      "articles": u.articles.order_by(lambda p: p.title).select(
                          lambda p: {"title": p.title,
                                     "remarks": p.remarks.order_by(lambda r: r.likes)
                                                 .select(lambda r: r.body).to_list(),
                                     "editor": p.editor.username}).to_list(),
                      "entities": u.articles.order_by(lambda p: p.id).limit(2).to_list()})
                  .to_list())
    assert len(statements.sql) == 1
    [alice] = rows
    assert [a["title"] for a in alice["articles"]] == ["Hello", "Second", "Third"]
    assert alice["articles"][0]["remarks"] == [f"remark {n} on Hello" for n in range(5)]
    assert alice["articles"][1] == {"title": "Second", "remarks": [], "editor": "bob"}
    assert alice["articles"][2]["editor"] is None
    entities = alice["entities"]
    assert [type(e) for e in entities] == [Article, Article]
    assert entities[0].title == "Hello" and entities[0].published_at == BASE_TIME


async def test_collection_aggregates_with_filters_and_paging(db: Journal) -> None:
    rows = await db.authors.order_by(lambda u: u.username).select(lambda u: (
        u.articles.where(lambda p: p.views > 10).count(),
        u.articles.max(lambda p: p.views),
        u.articles.order_by(lambda p: p.views, descending=True).limit(2).sum(
            lambda p: p.views),
        u.articles.exists(),
    )).to_list()
    assert rows == [(2, 100, 150, True), (1, 20, 20, True), (1, 15, 15, True),
                    (0, None, None, False)]


async def test_collections_in_where(db: Journal) -> None:
    with_popular = await db.authors.where(
        lambda u: u.articles.any(lambda p: p.views >= 50)).select(lambda u: u.username).to_list()
    assert with_popular == ["alice"]
    prolific = await db.authors.where(lambda u: u.articles.count() >= 2).order_by(
        lambda u: u.username).select(lambda u: u.username).to_list()
    assert prolific == ["alice", "chloë"]
    without = await db.authors.where(lambda u: ~u.articles.any()).select(
        lambda u: u.username).to_list()
    assert without == ["dan_100%"]


async def test_outer_columns_inside_a_collection(db: Journal) -> None:
    rows = await db.authors.where(lambda u: u.username == "bob").select(
        lambda u: u.articles.where(lambda p: p.editor_id != u.id).select(
            lambda p: p.title).to_list()).to_list()
    assert rows == [["Bob's"]]


async def test_navigation_errors_name_the_attribute(db: Journal) -> None:
    with pytest.raises(QueryBuildError, match="comments"):
        db.authors.select(lambda u: u.comments.count())
    with pytest.raises(QueryBuildError, match="views"):
        db.authors.select(lambda u: u.articles.where(lambda p: p.views == "many").count())
    with pytest.raises(QueryBuildError, match="collection"):
        db.authors.where(lambda u: u.articles)


async def test_enums_json_and_optional_entities_inside_nested_rows(db: Journal) -> None:
    rows = await db.authors.where(lambda u: u.username == "alice").select(
        lambda u: u.articles.order_by(lambda p: p.title).select(
            lambda p: (p.title, p.author.mood, p.author.profile, p.editor)).to_list()).to_list()
    [articles] = rows
    assert articles[0] == ("Hello", Mood.HAPPY, {"lang": "en", "tags": [1, 2]}, None)
    title, mood, _, editor = articles[1]
    assert (title, mood) == ("Second", Mood.HAPPY)
    assert isinstance(editor, Author) and editor.mood is Mood.GRUMPY and editor.profile is None
