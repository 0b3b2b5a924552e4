"""JSONB, arrays, flags, window functions, coalesce and full-text search against real
PostgreSQL: the rows a user would check, typed results, hostile keys and values kept as data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from linkgress.errors import DatabaseError
from linkgress.query import Expr, func
from tests.integration.typed_models import HOSTILE, Perm, Product, Shop, open_shop


@pytest_asyncio.fixture(scope="module")
async def db(routed_module_database: str) -> AsyncIterator[Shop]:
    shop = await open_shop(routed_module_database)
    try:
        yield shop
    finally:
        await shop.dispose()


async def names(db: Shop, predicate: Any) -> list[str]:
    rows = await db.products.where(predicate).order_by(lambda p: p.id).select(
        lambda p: p.name).to_list()
    return list(rows)


@pytest.mark.parametrize(("predicate", "expected"), [
    (lambda p: p.attrs["color"] == "red", ["Python ORM guide", "Teapot"]),
    (lambda p: p.attrs["color"] != "red", ["Rust book"]),
    (lambda p: p.attrs["size"]["w"] > 5, ["Python ORM guide"]),
    (lambda p: p.attrs["stock"] > 3, ["Python ORM guide", "Teapot"]),
    (lambda p: p.attrs["stock"] < 0.5, ["Rust book"]),
    (lambda p: p.attrs["stock"] > p.price, []),
    (lambda p: p.attrs["new"] == False, ["Rust book"]),  # noqa: E712
    (lambda p: p.attrs["color"] == None, ["Coffee mug"]),  # noqa: E711
    (lambda p: p.attrs["size"] == {"h": 20, "w": 10}, ["Python ORM guide"]),
    (lambda p: p.attrs.contains({"color": "blue"}), ["Rust book"]),
    (lambda p: p.attrs.contains({"size": {"w": 10}}), ["Python ORM guide"]),
    (lambda p: p.attrs.has_key("size"), ["Python ORM guide"]),
    (lambda p: p.attrs["color"].as_text().startswith("r"), ["Python ORM guide", "Teapot"]),
    (lambda p: p.reviews[0]["stars"] >= 4, ["Python ORM guide"]),
    (lambda p: p.reviews.contains([{"by": "cy"}]), ["Rust book"]),
    (lambda p: p.attrs["stock"].in_([0, 12]), ["Rust book", "Teapot"]),
    (lambda p: p.attrs["color"].in_(["blue", "green"]), ["Rust book"]),
    (lambda p: p.attrs["stock"].between(1, 10), ["Python ORM guide"]),
])
async def test_jsonb_filters(db: Shop, predicate: Any, expected: list[str]) -> None:
    assert await names(db, predicate) == expected


async def test_hostile_json_keys_and_values_are_data(db: Shop) -> None:
    assert await names(db, lambda p: p.attrs.has_key(HOSTILE)) == ["Python ORM guide"]
    assert await names(db, lambda p: p.attrs[HOSTILE] == "hostile") == ["Python ORM guide"]
    assert await names(db, lambda p: p.attrs.contains({HOSTILE: HOSTILE})) == []
    assert await names(db, lambda p: p.attrs["x"] == HOSTILE) == []
    assert await db.products.count() == 4  # the table is still there


async def test_extractions_read_back_decoded(db: Shop) -> None:
    rows = await db.products.order_by(lambda p: p.id).select(lambda p: {
        "size": p.attrs["size"], "color": p.attrs["color"].as_text(),
        "first": p.reviews[0], "stock": p.attrs["stock"]}).to_list()
    assert rows[0] == {"size": {"h": 20, "w": 10}, "color": "red",
                       "first": {"by": "ann", "stars": 5}, "stock": 5}
    assert rows[2] == {"size": None, "color": None, "first": None, "stock": None}
    guide = await db.products.where(lambda p: p.id == 1).first()
    assert guide.attrs is not None and guide.attrs["size"] == {"w": 10, "h": 20}
    assert guide.reviews == [{"stars": 5, "by": "ann"}, {"stars": 3, "by": "bo"}]


@pytest.mark.parametrize(("predicate", "expected"), [
    (lambda p: p.tags.contains(["python"]), ["Python ORM guide"]),
    (lambda p: p.tags.contains(["python", "rust"]), []),
    (lambda p: p.tags.contains([]), ["Python ORM guide", "Rust book", "Coffee mug", "Teapot"]),
    (lambda p: p.tags.overlaps(["rust", "tea"]), ["Rust book", "Teapot"]),
    (lambda p: p.tags.any_eq("tea"), ["Teapot"]),
    (lambda p: p.category.in_(p.tags), ["Teapot"]),
    (lambda p: func.array_length(p.tags, 1) == 2, ["Python ORM guide", "Teapot"]),
    (lambda p: func.cardinality(p.tags) == 0, ["Coffee mug"]),
    (lambda p: p.tags.any_eq(HOSTILE) | p.tags.overlaps([HOSTILE]), []),
])
async def test_array_filters(db: Shop, predicate: Any, expected: list[str]) -> None:
    assert await names(db, predicate) == expected


@pytest.mark.parametrize(("predicate", "expected"), [
    (lambda p: p.perms.has_flag(Perm.WRITE), ["Python ORM guide"]),
    (lambda p: p.perms.has_all(Perm.READ | Perm.WRITE), ["Python ORM guide"]),
    (lambda p: p.perms.has_any(Perm.WRITE | Perm.ADMIN), ["Python ORM guide", "Coffee mug"]),
    (lambda p: p.perms.has_none(Perm.ADMIN), ["Python ORM guide", "Rust book", "Teapot"]),
    (lambda p: ~p.perms.has_flag(Perm.READ), ["Teapot"]),
    (lambda p: p.perms == Perm.READ, ["Rust book"]),
])
async def test_flag_filters(db: Shop, predicate: Any, expected: list[str]) -> None:
    assert await names(db, predicate) == expected


async def test_flags_read_back_as_flags_and_write_as_integers(db: Shop) -> None:
    perms = await db.products.order_by(lambda p: p.id).select(lambda p: p.perms).to_list()
    assert perms == [Perm.READ | Perm.WRITE, Perm.READ, Perm.READ | Perm.ADMIN, Perm(0)]
    assert all(isinstance(p, Perm) for p in perms)
    column_type = await db.client.fetchval(
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'products' "
        "AND column_name = 'perms'")
    assert column_type == "integer"
    assert await db.get_schema_manager().analyze() == []  # no ENUM type, no drift
    async with db.transaction():
        await db.products.where(lambda p: p.name == "Teapot").update({"perms": Perm.ADMIN})
        teapot = await db.products.where(lambda p: p.perms.has_flag(Perm.ADMIN)).order_by(
            lambda p: p.id).select(lambda p: (p.name, p.perms)).to_list()
        assert teapot == [("Coffee mug", Perm.READ | Perm.ADMIN), ("Teapot", Perm.ADMIN)]
        await db.products.where(lambda p: p.name == "Teapot").update({"perms": Perm(0)})


async def test_window_functions(db: Shop) -> None:
    rows = await db.products.order_by(lambda p: p.id).select(lambda p: {
        "name": p.name,
        "rank": func.row_number().over(partition_by=p.category, order_by=p.price.desc()),
        "category_total": func.sum(p.price).over(partition_by=p.category),
        "moving": func.sum(p.price).over(order_by=p.id).rows_between(-1, 0),
        "running": func.count().over(order_by=p.id).rows_between(None, 0),
    }).to_list()
    assert rows == [
        {"name": "Python ORM guide", "rank": 2, "category_total": 75, "moving": 30,
         "running": 1},
        {"name": "Rust book", "rank": 1, "category_total": 75, "moving": 75, "running": 2},
        {"name": "Coffee mug", "rank": 2, "category_total": 37, "moving": 57, "running": 3},
        {"name": "Teapot", "rank": 1, "category_total": 37, "moving": 37, "running": 4},
    ]
    near = await db.products.order_by(lambda p: p.id).select(
        lambda p: func.sum(p.price).over(order_by=p.price).range_between(-15, 0)).to_list()
    assert near == [55, 75, 12, 37]  # prices within 15 below each one's
    previous = await db.products.order_by(lambda p: p.id).select(lambda p: (
        func.lag(p.name, 1, "-").over(order_by=p.id),
        func.ntile(2).over(order_by=p.id))).to_list()
    assert previous == [("-", 1), ("Python ORM guide", 1), ("Rust book", 2),
                        ("Coffee mug", 2)]
    cheapest = await db.products.order_by(lambda p: (func.rank().over(
        partition_by=lambda q: q.category, order_by=lambda q: q.price), p.id)).select(
        lambda p: p.name).limit(2).to_list()
    assert cheapest == ["Python ORM guide", "Coffee mug"]


async def test_coalesce_is_typed_from_its_arguments(db: Shop) -> None:
    rows = await db.products.order_by(lambda p: p.id).select(lambda p: (
        func.coalesce(func.array_length(p.tags, 1), 0),
        func.coalesce(p.attrs["color"].as_text(), "none"))).to_list()
    assert rows == [(2, "red"), (1, "blue"), (0, "none"), (2, "red")]
    assert await names(db, lambda p: func.coalesce(func.array_length(p.tags, 1), 0) < 1) == [
        "Coffee mug"]


@pytest.mark.parametrize(("predicate", "expected"), [
    (lambda p: p.search.matches("python & orm", config="english"), ["Python ORM guide"]),
    (lambda p: p.search.matches("programs", config="english"), ["Rust book"]),
    (lambda p: p.search.matches("coffee | teapot"), ["Coffee mug", "Teapot"]),
    (lambda p: p.description.matches("tea", config="english"), ["Coffee mug", "Teapot"]),
    (lambda p: p.name.matches("rust book", config="simple", mode="plain"), ["Rust book"]),
    (lambda p: p.search.matches('"async orm" -rust', config="english", mode="web"),
     ["Python ORM guide"]),
    (lambda p: p.search.matches(HOSTILE, config="english", mode="web"), []),
])
async def test_full_text_search(db: Shop, predicate: Any, expected: list[str]) -> None:
    assert await names(db, predicate) == expected


async def test_full_text_ranking_orders_results(db: Shop) -> None:
    ranked = await db.products.where(
        lambda p: p.search.matches("tea | mug", config="english")).order_by(
        lambda p: func.ts_rank(p.search, func.to_tsquery("english", "tea | mug")).desc()
    ).select(lambda p: p.name).to_list()
    assert ranked == ["Coffee mug", "Teapot"]


async def test_malformed_tsquery_is_a_database_error(db: Shop) -> None:
    with pytest.raises(DatabaseError):
        await db.products.where(lambda p: p.search.matches(HOSTILE, config="english")).to_list()
    assert await db.products.count() == 4


async def test_inserted_entities_keep_their_json_arrays_and_flags(db: Shop) -> None:
    async with db.transaction():
        made = await db.products.insert(Product(
            name="Kettle", category="kitchen", price=40, description="boils water",
            attrs={HOSTILE: [1, {"x": None}]}, tags=[HOSTILE], perms=Perm.WRITE))
        back = await db.products.where(lambda p: p.id == made.id).first()
        assert back.attrs == {HOSTILE: [1, {"x": None}]}
        assert back.tags == [HOSTILE] and back.perms is Perm.WRITE
        assert await names(db, lambda p: p.attrs[HOSTILE][1].has_key("x")) == ["Kettle"]
        await db.products.where(lambda p: p.id == made.id).delete()


async def test_repeated_lambdas_bind_each_calls_values(db: Shop) -> None:
    # The same lambda code with other closure values (a replayed plan where one applies).
    async def searched(word: str) -> list[str]:
        return await names(db, lambda p: p.search.matches(word, config="english"))

    async def tagged(word: str) -> list[str]:
        return await names(db, lambda p: p.tags.any_eq(word))

    async def colored(color: str) -> list[str]:
        return await names(db, lambda p: p.attrs["color"] == color)

    async def flagged(flag: Perm) -> int:
        return await db.products.where(lambda p: p.perms.has_flag(flag)).count()

    for _ in range(2):
        assert await searched("python") == ["Python ORM guide"]
        assert await searched("tea") == ["Coffee mug", "Teapot"]
        assert await searched("rust") == ["Rust book"]
        assert await tagged("tea") == ["Teapot"]
        assert await tagged("rust") == ["Rust book"]
        assert await colored("red") == ["Python ORM guide", "Teapot"]
        assert await colored("blue") == ["Rust book"]
        assert [await flagged(f) for f in (Perm.WRITE, Perm.ADMIN, Perm.READ)] == [1, 1, 3]


async def test_window_over_a_grouped_query(db: Shop) -> None:
    rows = await db.products.group_by(lambda p: p.category).order_by(
        lambda g: g.key).select(lambda g: {
            "category": g.key, "total": g.sum(lambda p: p.price),
            "place": func.rank().over(order_by=lambda g: g.sum(lambda p: p.price).desc()),
            "share": g.sum(lambda p: p.price) * 100 / func.sum(
                g.sum(lambda p: p.price)).over()}).to_list()
    assert [(r["category"], r["total"], r["place"]) for r in rows] == [
        ("books", 75, 1), ("kitchen", 37, 2)]
    assert [int(r["share"]) for r in rows] == [66, 33]


# Helpers typed with Expr: a type checker checks their method names (tests/unit/test_expr_typing).
def red_and_stocked(attrs: Expr) -> Expr:
    return attrs["color"].as_text().startswith("r") & attrs.has_key("stock")


def writable(perms: Expr) -> Expr:
    return perms.has_any(Perm.WRITE | Perm.ADMIN) & ~perms.has_none(Perm.READ)


def tagged(tags: Expr) -> Expr:
    return tags.overlaps(["tea", "rust"]) | tags.any_eq("orm")


async def test_category_methods_through_typed_helpers(db: Shop) -> None:
    assert await names(db, lambda p: red_and_stocked(p.attrs)) == [
        "Python ORM guide", "Teapot"]
    assert await names(db, lambda p: writable(p.perms)) == ["Python ORM guide", "Coffee mug"]
    assert await names(db, lambda p: tagged(p.tags)) == [
        "Python ORM guide", "Rust book", "Teapot"]
    assert await names(db, lambda p: p.description.matches("tea", config="english")) == [
        "Coffee mug", "Teapot"]
