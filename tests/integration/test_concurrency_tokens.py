"""Optimistic concurrency against real PostgreSQL: two writers read the same row on separate
connections; the first write wins, the second raises ``ConcurrencyError`` and changes nothing.
Inserts start the token at 1 (or its default), every ORM update moves it on, and a deleted row
is a lost update too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from linkgress import (
    ConcurrencyError,
    DbContext,
    DbModelConfig,
    Entity,
    LinkgressError,
    PgClient,
    bigint,
    column,
    text,
)


class Doc(Entity):
    id: int
    title: str = column(text())
    body: str = column(text(), default="")
    version: int = column(concurrency_token=True)


class Page(Entity):
    id: int
    body: str = column(text())
    revision: int = column(bigint(), default=10)


class Wiki(DbContext):
    docs = DbContext.table(Doc)
    pages = DbContext.table(Page)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Page).has_concurrency_token("revision")


@pytest_asyncio.fixture(scope="module")
async def wikis(routed_module_database: str) -> AsyncIterator[tuple[Wiki, Wiki]]:
    """Two writers: contexts with their own clients (their own connections)."""
    first = Wiki(PgClient(dsn=routed_module_database))
    second = Wiki(PgClient(dsn=routed_module_database))
    await first.get_schema_manager().ensure_created()
    try:
        yield first, second
    finally:
        await first.dispose()
        await second.dispose()


@pytest_asyncio.fixture
async def pair(wikis: tuple[Wiki, Wiki]) -> tuple[Wiki, Wiki]:
    await wikis[0].client.execute("TRUNCATE docs, pages RESTART IDENTITY")
    return wikis


async def stored(db: Wiki, doc_id: int) -> tuple[str, int]:
    row = await db.client.fetchrow("SELECT title, version FROM docs WHERE id = $1", doc_id)
    assert row is not None
    return row["title"], row["version"]


async def test_inserts_start_the_token_and_updates_move_it_on(pair: tuple[Wiki, Wiki]) -> None:
    db, _ = pair
    doc = await db.docs.insert(Doc(title="draft"))
    assert doc.version == 1
    doc.title = "final"
    assert await db.docs.update(doc) == 1
    assert doc.version == 2  # the entity follows the row
    assert await stored(db, doc.id) == ("final", 2)
    page = await db.pages.insert(Page(body="p"))
    assert page.revision == 10  # its own default
    assert await db.get_schema_manager().analyze() == []  # DEFAULT 1 round-trips


async def test_bulk_inserts_start_the_token_too(pair: tuple[Wiki, Wiki]) -> None:
    db, _ = pair
    assert await db.docs.insert_many([Doc(title=f"d{i}") for i in range(150)]) == 150  # COPY
    assert await db.pages.insert_many([{"body": f"p{i}"} for i in range(150)]) == 150
    docs = await db.docs.order_by(lambda d: d.id).to_list()
    assert {d.version for d in docs} == {1}
    assert {p.revision for p in await db.pages.to_list()} == {10}
    docs[0].title = "changed"
    assert await db.docs.update(docs[0]) == 1
    assert await stored(db, docs[0].id) == ("changed", 2)


async def test_the_second_writer_gets_a_concurrency_error(pair: tuple[Wiki, Wiki]) -> None:
    first, second = pair
    created = await first.docs.insert(Doc(title="v1"))
    mine = await first.docs.where(lambda d: d.id == created.id).single()
    theirs = await second.docs.where(lambda d: d.id == created.id).single()
    mine.title = "first writer"
    theirs.title = "second writer"
    await first.docs.update(mine)
    with pytest.raises(ConcurrencyError) as caught:
        await second.docs.update(theirs)
    error = caught.value
    assert isinstance(error, LinkgressError)
    assert (error.entity, error.key, error.token) == ("Doc", {"id": created.id}, 1)
    assert "another writer changed or deleted it" in str(error)
    assert theirs.version == 1  # unchanged: nothing was written
    assert await stored(first, created.id) == ("first writer", 2)
    # Read again, redo the change: it goes through.
    theirs = await second.docs.where(lambda d: d.id == created.id).single()
    theirs.title = "second writer"
    await second.docs.update(theirs)
    assert await stored(first, created.id) == ("second writer", 3)


async def test_returning_checks_the_token_too(pair: tuple[Wiki, Wiki]) -> None:
    first, second = pair
    doc = await first.docs.insert(Doc(title="a"))
    stale = await second.docs.where(lambda d: d.id == doc.id).single()
    doc.title = "b"
    rows = await first.docs.update(doc).returning()
    assert [(r.title, r.version) for r in rows] == [("b", 2)] and doc.version == 2
    stale.title = "c"
    with pytest.raises(ConcurrencyError):
        await second.docs.update(stale).returning(lambda d: d.title)
    assert await stored(first, doc.id) == ("b", 2)


async def test_bulk_updates_invalidate_entities_read_before(pair: tuple[Wiki, Wiki]) -> None:
    first, second = pair
    doc = await first.docs.insert(Doc(title="a"))
    await second.docs.where(lambda d: d.id == doc.id).update({"body": "bulk"})
    doc.title = "stale"
    with pytest.raises(ConcurrencyError):
        await first.docs.update(doc)
    assert await stored(first, doc.id) == ("a", 2)


async def test_delete_checks_the_token(pair: tuple[Wiki, Wiki]) -> None:
    first, second = pair
    doc = await first.docs.insert(Doc(title="a"))
    stale = await second.docs.where(lambda d: d.id == doc.id).single()
    doc.title = "b"
    await first.docs.update(doc)
    with pytest.raises(ConcurrencyError):
        await second.docs.delete(stale)
    assert await stored(first, doc.id) == ("b", 2)  # still there
    assert await first.docs.delete(doc) == 1
    doc.title = "gone"
    with pytest.raises(ConcurrencyError):  # a deleted row is a lost update too
        await first.docs.update(doc)


async def test_a_fluent_token_is_checked(pair: tuple[Wiki, Wiki]) -> None:
    first, second = pair
    page = await first.pages.insert(Page(body="a"))
    stale = await second.pages.where(lambda p: p.id == page.id).single()
    page.body = "b"
    await first.pages.update(page)
    assert page.revision == 11
    stale.body = "c"
    with pytest.raises(ConcurrencyError) as caught:
        await second.pages.update(stale)
    assert caught.value.token == 10
    assert (await first.pages.where(lambda p: p.id == page.id).single()).body == "b"


async def test_an_upsert_that_updates_moves_the_token_on(pair: tuple[Wiki, Wiki]) -> None:
    first, _ = pair
    doc = await first.docs.insert(Doc(title="a"))
    stale = await first.docs.where(lambda d: d.id == doc.id).single()
    await first.docs.upsert(Doc(id=doc.id, title="upserted", version=1), conflict=["id"],
                            update=["title", "body"])
    assert await stored(first, doc.id) == ("upserted", 2)
    await first.docs.upsert({"id": doc.id, "title": "x"}, conflict=["id"],
                            update={"title": "bound"})
    assert await stored(first, doc.id) == ("bound", 3)
    await first.docs.upsert({"id": doc.id, "title": "y"}, conflict=["id"])  # DO NOTHING
    assert await stored(first, doc.id) == ("bound", 3)
    stale.title = "late"
    with pytest.raises(ConcurrencyError):
        await first.docs.update(stale)
