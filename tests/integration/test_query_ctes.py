"""CTEs against real PostgreSQL: a CTE as a source and joined, several in one statement, the
materialized flag, a recursive CTE over a hierarchy, hostile values and names."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from linkgress import DbContext, Entity, PgClient, column, cte, recursive_cte, text
from linkgress.errors import QueryBuildError
from tests.integration.query_models import Article, Journal, open_journal, seed


class Category(Entity):
    id: int
    name: str = column(text())
    parent_id: int | None = column(references="Category")


class Catalog(DbContext):
    categories = DbContext.table(Category)


# root
# ├── books ── fiction ── crime
# └── music
TREE = [("root", None), ("books", "root"), ("music", "root"), ("fiction", "books"),
        ("crime", "fiction")]


@pytest_asyncio.fixture(scope="module")
async def db(routed_module_database: str) -> AsyncIterator[Journal]:
    journal = await open_journal(routed_module_database)
    await seed(journal)
    try:
        yield journal
    finally:
        await journal.dispose()


@pytest_asyncio.fixture(scope="module")
async def catalog(db: Journal) -> AsyncIterator[Catalog]:
    catalog = Catalog(PgClient(dsn=db.client.dsn))
    await catalog.get_schema_manager().ensure_created()
    ids: dict[str, int] = {}
    for name, parent in TREE:
        ids[name] = await catalog.client.fetchval(
            "INSERT INTO categories (name, parent_id) VALUES ($1, $2) RETURNING id",
            name, ids.get(parent or ""))
    try:
        yield catalog
    finally:
        await catalog.dispose()


async def test_cte_as_a_source_returns_entities(db: Journal) -> None:
    busy = cte("busy", db.articles.where(lambda p: p.views >= 20))
    rows = await busy.order_by(lambda p: p.views.desc()).to_list()
    assert [type(r) for r in rows] == [Article] * 3
    assert [r.title for r in rows] == ["Hello", "Third", "Bob's"]
    assert await busy.where(lambda p: p.title != "Hello").count() == 2


@pytest.mark.parametrize("materialized", [None, True, False])
async def test_cte_of_a_dict_joined_to_a_table(db: Journal, materialized: bool | None) -> None:
    stats = cte("stats", db.articles.group_by(lambda p: p.author_id).select(
        lambda g: {"author_id": g.key, "views": g.sum(lambda p: p.views)}),
        materialized=materialized)
    rows = await (db.authors.left_join(stats, lambda a, s: s.author_id == a.id)
                  .select(lambda a, s: (a.username, s.views))
                  .order_by(lambda a, s: a.username).to_list())
    assert rows == [("alice", 155), ("bob", 20), ("chloë", 15), ("dan_100%", None)]
    assert await stats.order_by(lambda s: s.views).select(lambda s: s.views).to_list() == [
        15, 20, 155]


async def test_two_ctes_in_one_statement(db: Journal) -> None:
    happy = cte("happy", db.authors.where(lambda a: a.score >= 7))
    busy = cte("busy", db.articles.where(lambda p: p.views >= 15))
    rows = await (busy.join(happy, lambda p, a: p.author_id == a.id)
                  .select(lambda p, a: (a.username, p.title))
                  .order_by(lambda p, a: p.title).to_list())
    assert rows == [("alice", "Hello"), ("alice", "Third"), ("chloë", "Zeta")]


async def test_recursive_cte_over_a_hierarchy(catalog: Catalog) -> None:
    start = "books"
    tree = recursive_cte(
        "tree",
        catalog.categories.where(lambda c: c.name == start).select(
            lambda c: {"id": c.id, "name": c.name, "depth": 0}),
        lambda t: catalog.categories.join(t, lambda c, p: c.parent_id == p.id)
        .select(lambda c, p: {"id": c.id, "name": c.name, "depth": p.depth + 1}))
    rows = await tree.order_by(lambda t: t.depth).select(
        lambda t: (t.name, t.depth)).to_list()
    assert rows == [("books", 0), ("fiction", 1), ("crime", 2)]
    everything = recursive_cte(
        "everything", catalog.categories.where(lambda c: c.parent_id == None),  # noqa: E711
        lambda t: catalog.categories.join(t, lambda c, p: c.parent_id == p.id)
        .select(lambda c, p: c), union=True)
    assert sorted(c.name for c in await everything.to_list()) == sorted(n for n, _ in TREE)


async def test_hostile_values_stay_data_and_hostile_names_are_refused(db: Journal) -> None:
    hostile = "'; DROP TABLE articles; --"
    named = cte("named", db.articles.where(lambda p: p.title == hostile))
    assert await named.to_list() == []
    with pytest.raises(QueryBuildError, match="cte name"):
        cte('x" AS (SELECT 1); DROP TABLE articles; --', db.articles)
    assert await db.articles.count() == 6


async def test_update_filtered_through_a_cte(db: Journal) -> None:
    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        async with db.transaction():
            quiet = cte("quiet", db.articles.where(lambda p: p.views < 10))
            changed = await db.articles.where(
                lambda p: p.id.in_(quiet.select(lambda q: q.id))).update({"views": 10})
            assert changed == 2  # "Second" (5) and "Ünïcödé ✓" (0)
            assert await db.articles.where(lambda p: p.views < 10).count() == 0
            raise Undo  # roll back
    assert await db.articles.where(lambda p: p.views < 10).count() == 2


async def test_a_whole_row_of_a_cte_of_dicts_reads_as_a_dict(db: Journal) -> None:
    stats = cte("stats", db.articles.group_by(lambda p: p.author_id).select(
        lambda g: {"author_id": g.key, "views": g.sum(lambda p: p.views)}))
    rows = await (db.authors.left_join(stats, lambda a, s: s.author_id == a.id)
                  .select(lambda a, s: {"name": a.username, "stats": s})
                  .order_by(lambda a, s: a.username).to_list())
    alice_id = rows[0]["stats"]["author_id"]
    assert rows[0] == {"name": "alice", "stats": {"author_id": alice_id, "views": 155}}
    assert rows[3] == {"name": "dan_100%", "stats": None}
    pairs = await db.authors.join(stats, lambda a, s: s.author_id == a.id).to_list()
    assert sorted(s["views"] for _, s in pairs) == [15, 20, 155]
