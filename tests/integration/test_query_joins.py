"""Explicit joins against real PostgreSQL: inner and left joins (None for the missing side),
several joins, a joined filtered query, grouping after a join, hostile values."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.integration.query_models import Article, Author, Journal, open_journal, seed


@pytest_asyncio.fixture(scope="module")
async def db(routed_module_database: str) -> AsyncIterator[Journal]:
    journal = await open_journal(routed_module_database)
    await seed(journal)
    try:
        yield journal
    finally:
        await journal.dispose()


async def test_inner_join_returns_entity_pairs(db: Journal) -> None:
    rows = await (db.articles.join(db.authors, lambda p, a: p.author_id == a.id)
                  .where(lambda p, a: a.username == "bob").to_list())
    assert len(rows) == 1
    article, author = rows[0]
    assert isinstance(article, Article) and isinstance(author, Author)
    assert (article.title, author.username) == ("Bob's", "bob")


async def test_left_join_reads_missing_side_as_none(db: Journal) -> None:
    rows = await (db.articles.left_join(db.authors, lambda p, a: p.editor_id == a.id)
                  .order_by(lambda p, a: p.title).to_list())
    editors = {article.title: None if editor is None else editor.username
               for article, editor in rows}
    assert editors["Second"] == "bob" and editors["Bob's"] == "alice"
    assert editors["Hello"] is None and editors["Zeta"] is None
    columns = await (db.articles.left_join(db.authors, lambda p, a: p.editor_id == a.id)
                     .select(lambda p, a: {"title": p.title, "editor": a.username,
                                           "mood": a.mood})
                     .where(lambda p, a: p.title == "Hello").to_list())
    assert columns == [{"title": "Hello", "editor": None, "mood": None}]


async def test_multi_join_with_self_join(db: Journal) -> None:
    # every article with its author and its editor (two occurrences of authors)
    rows = await (db.articles.join(db.authors, lambda p, a: p.author_id == a.id)
                  .join(db.authors, lambda p, a, e: p.editor_id == e.id)
                  .select(lambda p, a, e: (p.title, a.username, e.username))
                  .order_by(lambda p, a, e: p.title).to_list())
    assert rows == [("Bob's", "bob", "alice"), ("Second", "alice", "bob")]


async def test_joined_filtered_query(db: Journal) -> None:
    minimum = 6
    rows = await (db.authors.left_join(db.articles.where(lambda p: p.views >= 20),
                                       lambda a, p: p.author_id == a.id)
                  .select(lambda a, p: (a.username, p.title))
                  .order_by(lambda a, p: (a.username, p.title)).to_list())
    assert rows == [("alice", "Hello"), ("alice", "Third"), ("bob", "Bob's"),
                    ("chloë", None), ("dan_100%", None)]
    count = await (db.articles.join(db.authors.where(lambda a: a.score > minimum),
                                    lambda p, a: p.author_id == a.id).count())
    assert count == 5  # alice's 3 and chloë's 2


async def test_group_by_after_join(db: Journal) -> None:
    rows = await (db.articles.join(db.authors, lambda p, a: p.author_id == a.id)
                  .group_by(lambda p, a: a.username)
                  .select(lambda g: {"name": g.key, "views": g.sum(lambda p, a: p.views)})
                  .order_by(lambda g: g.key).to_list())
    assert rows == [{"name": "alice", "views": 155}, {"name": "bob", "views": 20},
                    {"name": "chloë", "views": 15}]


async def test_first_and_exists_on_a_join(db: Journal) -> None:
    joined = db.articles.join(db.authors, lambda p, a: p.author_id == a.id)
    first = await joined.order_by(lambda p, a: p.views.desc()).select(
        lambda p, a: a.username).first()
    assert first == "alice"
    assert await joined.where(lambda p, a: a.username == "dan_100%").exists() is False


async def test_hostile_value_in_join_condition_stays_data(db: Journal) -> None:
    hostile = "'; DROP TABLE authors; --"
    rows = await db.articles.join(
        db.authors, lambda p, a: (p.author_id == a.id) & (a.username == hostile)).to_list()
    assert rows == []
    assert await db.authors.count() == 4


async def test_navigation_from_a_left_joined_source_keeps_the_unmatched_rows(
        db: Journal) -> None:
    rows = await (db.authors.left_join(db.articles, lambda a, p: p.editor_id == a.id)
                  .select(lambda a, p: (a.username, p.author.username))
                  .order_by(lambda a, p: a.username).to_list())
    assert rows == [("alice", "bob"), ("bob", "alice"), ("chloë", None), ("dan_100%", None)]


async def test_stream_and_union_of_joined_queries(db: Journal) -> None:
    joined = db.articles.join(db.authors, lambda p, a: p.author_id == a.id)
    streamed = [(p.title, a.username) async for p, a in
                joined.where(lambda p, a: a.username == "chloë").order_by(
                    lambda p, a: p.title).stream()]
    assert streamed == [("Zeta", "chloë"), ("Ünïcödé ✓", "chloë")]
    names = joined.where(lambda p, a: p.views > 60).select(lambda p, a: a.username).union(
        joined.where(lambda p, a: p.views == 20).select(lambda p, a: a.username))
    assert sorted(await names.to_list()) == ["alice", "bob"]


async def test_a_joined_row_met_on_many_rows_is_one_object(db: Journal) -> None:
    # alice wrote three articles: the three rows share her entity; the articles stay apart
    rows = await (db.articles.join(db.authors, lambda p, a: p.author_id == a.id)
                  .where(lambda p, a: a.username == "alice").order_by(lambda p, a: p.id)
                  .to_list())
    assert len(rows) == 3
    authors = {id(author) for _, author in rows}
    assert len(authors) == 1 and rows[0][1].username == "alice"
    assert len({id(article) for article, _ in rows}) == 3
    # in a projection, and through a navigation, alike; a missing left-joined row stays None
    picked = await (db.articles.left_join(db.authors, lambda p, a: p.editor_id == a.id)
                    .select(lambda p, a: (p.title, a, p.author))
                    .order_by(lambda p, a: p.title).to_list())
    by_title = {title: (editor, author) for title, editor, author in picked}
    assert by_title["Hello"][0] is None
    assert by_title["Hello"][1] is by_title["Second"][1]  # alice, through the navigation
    assert by_title["Second"][0].username == "bob"
    # the same row reached as editor and as author is one object too (one table, one key)
    assert by_title["Bob's"][0] is by_title["Hello"][1]


async def test_shared_entities_do_not_cross_results(db: Journal) -> None:
    joined = db.articles.join(db.authors, lambda p, a: p.author_id == a.id).where(
        lambda p, a: a.username == "alice")
    first, second = await joined.to_list(), await joined.to_list()
    assert first[0][1] == second[0][1] and first[0][1] is not second[0][1]
    streamed = [row async for row in joined.order_by(lambda p, a: p.id).stream()]
    assert streamed == first  # compared by value
