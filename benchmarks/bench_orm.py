"""The ORM against raw asyncpg and SQLAlchemy 2's async ORM, on the same tables, in one process.

Scenarios (the numbers of issue 6):

1. 10,000 single-row inserts in one transaction (each returning the generated id)
2. bulk insert of 10,000 rows
3. select 10,000 rows as entities
4. 2,000 primary-key lookups
5. a filtered, ordered, limited query run 500 times
6. 500 users with ~10 posts each, loaded with their posts
7. 1,000 single-row updates and one bulk update (in one transaction)
8. ``insert_many`` of 10,000 rows against raw ``copy_records_to_table`` (both COPY)
9. load 1,000 rows as entities and save each (in one transaction)
10. a join of 10,000 posts with their users (issue 15)
11. a recursive CTE over a 10,000-row hierarchy (issue 15)

and, after the timed scenarios, the memory 10,000 entities retain against 10,000 records
(``tracemalloc``, median of 3).

Every repeat runs each implementation once per scenario, in rotating order (interleaved), after
an untimed warm-up; the report shows medians and ratios to raw asyncpg on one connection.
"asyncpg (pool)" is raw asyncpg borrowing a pooled connection per statement (``pool.fetch``),
for the read scenarios. Import times come from ``python -X importtime`` (median of 5 runs).

Runs against ``DATABASE_URL`` (an admin DSN: it creates and drops its own database), else
whatever :func:`linkgress.testing.postgres_server` provides. Needs the ``bench`` extra::

    pip install -e '.[bench]'
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python benchmarks/bench_orm.py
    python benchmarks/bench_orm.py --repeats 3 --only 4 --profile linkgress   # pyinstrument
"""

# Query lambdas run when the query is built (inside the loop iteration), so B023's late-binding
# concern does not apply to them.
# ruff: noqa: B023

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import ForeignKey, String, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

from linkgress import (
    DbContext,
    DbModelConfig,
    Entity,
    PgClient,
    column,
    recursive_cte,
    text,
    varchar,
)
from linkgress.testing import postgres_server, temporary_database

USERS = 10_000
POSTS_PER_USER = 10
USERS_WITH_POSTS = 500
INSERTS = 10_000
LOOKUPS = 2_000
FILTERED = 500
UPDATES = 1_000
SAVED = 1_000
JOINED_USERS = 1_000  # users 501..1,000 get posts too: 10,000 posts to join
NODES = 10_000

USER_COLUMNS = "id, username, email, score, active, created_at"
POST_COLUMNS = "id, user_id, title, views, created_at"

# --- linkgress model ------------------------------------------------------------------------


class User(Entity):
    id: int
    username: str = column(varchar(100))
    email: str = column(text())
    score: int = column(default=0)
    active: bool = column(default=True)
    created_at: datetime = column(default_sql="now()")


class Post(Entity):
    id: int
    user_id: int = column(references=User, on_delete="cascade", index=True)
    title: str = column(varchar(200))
    views: int = column(default=0)
    created_at: datetime = column(default_sql="now()")


class Signup(Entity):
    """Same shape as User; the insert scenarios write here (emptied before each run)."""

    id: int
    username: str = column(varchar(100))
    email: str = column(text())
    score: int = column(default=0)
    active: bool = column(default=True)
    created_at: datetime = column(default_sql="now()")


class Node(Entity):
    """A hierarchy: node i's parent is i // 2 (node 1 is the root)."""

    id: int
    parent_id: int | None = column(references="Node", index=True)
    name: str = column(text())


class Bench(DbContext):
    users = DbContext.table(User)
    posts = DbContext.table(Post)
    signups = DbContext.table(Signup)
    nodes = DbContext.table(Node)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(User).has_many("posts", Post).with_foreign_key("user_id")
        model.entity(Post).has_one("user", User).with_foreign_key("user_id")


# --- SQLAlchemy model (the same tables) -----------------------------------------------------


class Base(DeclarativeBase):
    pass


class SAUser(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    email: Mapped[str]
    score: Mapped[int] = mapped_column(server_default="0")
    active: Mapped[bool] = mapped_column(server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default="now()")
    posts: Mapped[list[SAPost]] = relationship(back_populates="user", order_by="SAPost.id")


class SAPost(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    views: Mapped[int] = mapped_column(server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default="now()")
    user: Mapped[SAUser] = relationship(back_populates="posts")


class SANode(Base):
    __tablename__ = "nodes"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id"))
    name: Mapped[str]


class SASignup(Base):
    __tablename__ = "signups"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    email: Mapped[str]
    score: Mapped[int] = mapped_column(server_default="0")
    active: Mapped[bool] = mapped_column(server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default="now()")


# --- data -------------------------------------------------------------------------------------


def signup_rows() -> list[tuple[str, str, int]]:
    return [(f"new user {i}", f"new{i}@example.com", i % 100) for i in range(INSERTS)]


def lookup_ids() -> list[int]:
    step = USERS // LOOKUPS
    return [1 + (i * step + i % step) % USERS for i in range(LOOKUPS)]


def filtered_args() -> list[tuple[int, int]]:
    return [(1 + (i * 7) % USERS_WITH_POSTS, (i * 13) % 50) for i in range(FILTERED)]


def update_args() -> list[tuple[int, int]]:
    posts = USERS_WITH_POSTS * POSTS_PER_USER
    return [(1 + (i * 37) % posts, i) for i in range(UPDATES)]


async def load_base_data(conn: asyncpg.Connection[Any]) -> None:
    await conn.copy_records_to_table(
        "users", columns=["username", "email", "score"],
        records=[(f"user {i}", f"user{i}@example.com", i % 1000) for i in range(USERS)])
    await conn.copy_records_to_table(
        "posts", columns=["user_id", "title", "views"],
        records=[(u, f"post {p} of user {u}", (u * 31 + p * 17) % 100)
                 for u in range(1, JOINED_USERS + 1) for p in range(POSTS_PER_USER)])
    await conn.copy_records_to_table(
        "nodes", columns=["id", "parent_id", "name"],
        records=[(i, i // 2 or None, f"node {i}") for i in range(1, NODES + 1)])
    for table in ("users", "posts", "nodes"):
        await conn.execute(f"VACUUM ANALYZE {table}")


# --- implementations --------------------------------------------------------------------------


class Raw:
    """Hand-written SQL on one asyncpg connection (the baseline)."""

    name = "asyncpg"

    def __init__(self, conn: asyncpg.Connection[Any]) -> None:
        self.conn = conn

    async def prepare(self, scenario: int) -> Any:
        return signup_rows()

    async def s1(self, rows: list[tuple[str, str, int]]) -> Any:
        async with self.conn.transaction():
            for username, email, _ in rows:
                await self.conn.fetchval(
                    "INSERT INTO signups (username, email) VALUES ($1, $2) RETURNING id",
                    username, email)

    async def s2(self, rows: list[tuple[str, str, int]]) -> Any:
        await self.conn.executemany(
            "INSERT INTO signups (username, email, score) VALUES ($1, $2, $3)", rows)

    async def s3(self, _: Any) -> Any:
        return await self.conn.fetch(f"SELECT {USER_COLUMNS} FROM users")

    async def s4(self, _: Any) -> Any:
        sql = f"SELECT {USER_COLUMNS} FROM users WHERE id = $1"
        return [await self.conn.fetchrow(sql, i) for i in lookup_ids()]

    async def s5(self, _: Any) -> Any:
        sql = (f"SELECT {POST_COLUMNS} FROM posts WHERE user_id = $1 AND views > $2"
               " ORDER BY views DESC LIMIT 5")
        return [await self.conn.fetch(sql, u, v) for u, v in filtered_args()]

    async def s6(self, _: Any) -> Any:
        users = await self.conn.fetch(
            f"SELECT {USER_COLUMNS} FROM users WHERE id <= $1 ORDER BY id", USERS_WITH_POSTS)
        posts = await self.conn.fetch(
            f"SELECT {POST_COLUMNS} FROM posts WHERE user_id = ANY($1::int[]) ORDER BY id",
            [u["id"] for u in users])
        by_user: dict[int, list[Any]] = {u["id"]: [] for u in users}
        for p in posts:
            by_user[p["user_id"]].append(p)
        return [(u, by_user[u["id"]]) for u in users]

    async def s7(self, _: Any) -> Any:
        async with self.conn.transaction():
            for post_id, views in update_args():
                await self.conn.execute("UPDATE posts SET views = $1 WHERE id = $2",
                                        views, post_id)
            await self.conn.execute(
                "UPDATE posts SET views = views + 1 WHERE user_id <= $1", USERS_WITH_POSTS // 2)

    async def s8(self, rows: list[tuple[str, str, int]]) -> Any:
        await self.conn.copy_records_to_table(
            "signups", columns=["username", "email", "score"], records=rows)

    async def s9(self, _: Any) -> Any:
        async with self.conn.transaction():
            posts = await self.conn.fetch(
                f"SELECT {POST_COLUMNS} FROM posts WHERE id <= $1 ORDER BY id", SAVED)
            for p in posts:
                await self.conn.execute(
                    "UPDATE posts SET user_id = $2, title = $3, views = $4, created_at = $5 "
                    "WHERE id = $1", p["id"], p["user_id"], p["title"], p["views"] + 1,
                    p["created_at"])


    async def s10(self, _: Any) -> Any:
        return await self.conn.fetch(JOIN_SQL)

    async def s11(self, _: Any) -> Any:
        return await self.conn.fetch(TREE_SQL)


JOIN_SQL = (
    "SELECT p.id, p.user_id, p.title, p.views, p.created_at, u.id, u.username, u.email, "
    "u.score, u.active, u.created_at FROM posts AS p JOIN users AS u ON p.user_id = u.id")
TREE_SQL = (
    "WITH RECURSIVE tree(id, name, depth) AS ("
    "SELECT id, name, 0 FROM nodes WHERE parent_id IS NULL UNION ALL "
    "SELECT n.id, n.name, t.depth + 1 FROM nodes AS n JOIN tree AS t ON n.parent_id = t.id) "
    "SELECT id, name, depth FROM tree")


class RawPool(Raw):
    """Raw asyncpg, a pooled connection per statement (reads only)."""

    name = "asyncpg (pool)"
    scenarios = (3, 4, 5, 6)

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self.conn = pool  # type: ignore[assignment]  # same fetch/fetchrow API


class Linkgress:
    name = "linkgress"

    def __init__(self, db: Bench) -> None:
        self.db = db

    async def prepare(self, scenario: int) -> Any:
        if scenario in (1, 2, 8):
            return [Signup(username=u, email=e, score=s) for u, e, s in signup_rows()]
        return None

    async def s1(self, rows: list[Signup]) -> Any:
        db = self.db
        async with db.transaction():
            for row in rows:
                await db.signups.insert(row)

    async def s2(self, rows: list[Signup]) -> Any:
        await self.db.signups.insert_many(rows)

    async def s3(self, _: Any) -> Any:
        return await self.db.users.to_list()

    async def s4(self, _: Any) -> Any:
        users = self.db.users
        return [await users.where(lambda u: u.id == i).first_or_none() for i in lookup_ids()]

    async def s5(self, _: Any) -> Any:
        posts = self.db.posts
        return [await posts.where(lambda p: (p.user_id == u) & (p.views > v))
                .order_by(lambda p: p.views, descending=True).limit(5).to_list()
                for u, v in filtered_args()]

    async def s6(self, _: Any) -> Any:
        return await (self.db.users.where(lambda u: u.id <= USERS_WITH_POSTS)
                      .order_by(lambda u: u.id)
                      .select(lambda u: (u, u.posts.order_by(lambda p: p.id).to_list()))
                      .to_list())

    async def s7(self, _: Any) -> Any:
        db = self.db
        async with db.transaction():
            for post_id, views in update_args():
                await db.posts.where(lambda p: p.id == post_id).update({"views": views})
            await db.posts.where(lambda p: p.user_id <= USERS_WITH_POSTS // 2).update(
                lambda p: {"views": p.views + 1})

    async def s8(self, rows: list[Signup]) -> Any:
        await self.db.signups.insert_many(rows)

    async def s9(self, _: Any) -> Any:
        db = self.db
        async with db.transaction():
            posts = await db.posts.where(lambda p: p.id <= SAVED).order_by(lambda p: p.id) \
                .to_list()
            for post in posts:
                post.views += 1
                await db.posts.update(post)

    async def s10(self, _: Any) -> Any:
        db = self.db
        return await db.posts.join(db.users, lambda p, u: p.user_id == u.id).to_list()

    async def s11(self, _: Any) -> Any:
        nodes = self.db.nodes
        tree = recursive_cte(
            "tree",
            nodes.where(lambda n: n.parent_id == None).select(  # noqa: E711
                lambda n: {"id": n.id, "name": n.name, "depth": 0}),
            lambda t: nodes.join(t, lambda n, p: n.parent_id == p.id).select(
                lambda n, p: {"id": n.id, "name": n.name, "depth": p.depth + 1}))
        return await tree.to_list()


class SQLAlchemy:
    name = "SQLAlchemy ORM"

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def prepare(self, scenario: int) -> Any:
        if scenario == 1:
            return [SASignup(username=u, email=e) for u, e, _ in signup_rows()]
        if scenario in (2, 8):
            return [{"username": u, "email": e, "score": s} for u, e, s in signup_rows()]
        return None

    async def s1(self, rows: list[SASignup]) -> Any:
        async with self.sessions() as s, s.begin():
            for row in rows:
                s.add(row)
                await s.flush()

    async def s2(self, rows: list[dict[str, Any]]) -> Any:
        async with self.sessions() as s, s.begin():
            await s.execute(insert(SASignup), rows)

    async def s3(self, _: Any) -> Any:
        async with self.sessions() as s:
            return (await s.execute(select(SAUser))).scalars().all()

    async def s4(self, _: Any) -> Any:
        async with self.sessions() as s:
            return [(await s.execute(select(SAUser).where(SAUser.id == i))).scalar_one_or_none()
                    for i in lookup_ids()]

    async def s5(self, _: Any) -> Any:
        async with self.sessions() as s:
            return [(await s.execute(
                select(SAPost).where(SAPost.user_id == u, SAPost.views > v)
                .order_by(SAPost.views.desc()).limit(5))).scalars().all()
                for u, v in filtered_args()]

    async def s6(self, _: Any) -> Any:
        async with self.sessions() as s:
            return (await s.execute(
                select(SAUser).where(SAUser.id <= USERS_WITH_POSTS).order_by(SAUser.id)
                .options(selectinload(SAUser.posts)))).scalars().all()

    async def s7(self, _: Any) -> Any:
        async with self.sessions() as s, s.begin():
            for post_id, views in update_args():
                await s.execute(update(SAPost).where(SAPost.id == post_id).values(views=views))
            await s.execute(update(SAPost).where(SAPost.user_id <= USERS_WITH_POSTS // 2)
                            .values(views=SAPost.views + 1))

    async def s8(self, rows: list[dict[str, Any]]) -> Any:
        await self.s2(rows)

    async def s9(self, _: Any) -> Any:
        async with self.sessions() as s, s.begin():
            posts = (await s.execute(
                select(SAPost).where(SAPost.id <= SAVED).order_by(SAPost.id))).scalars().all()
            for post in posts:
                post.views += 1
                await s.flush()

    async def s10(self, _: Any) -> Any:
        async with self.sessions() as s:
            return (await s.execute(
                select(SAPost, SAUser).join(SAUser, SAPost.user_id == SAUser.id))).all()

    async def s11(self, _: Any) -> Any:
        top = select(SANode.id, SANode.name, literal(0).label("depth")).where(
            SANode.parent_id.is_(None)).cte("tree", recursive=True)
        tree = top.union_all(select(SANode.id, SANode.name, top.c.depth + 1).join(
            top, SANode.parent_id == top.c.id))
        async with self.sessions() as s:
            return (await s.execute(select(tree))).mappings().all()


SCENARIOS = {
    1: f"{INSERTS:,} single-row inserts, one transaction",
    2: f"bulk insert of {INSERTS:,} rows",
    3: f"select {USERS:,} rows as entities",
    4: f"{LOOKUPS:,} primary-key lookups",
    5: f"filtered, ordered, limited query x {FILTERED}",
    6: f"{USERS_WITH_POSTS} users with their ~{POSTS_PER_USER} posts each",
    7: f"{UPDATES:,} single-row updates + 1 bulk update",
    8: f"insert_many of {INSERTS:,} rows (asyncpg: copy_records_to_table)",
    9: f"load {SAVED:,} rows and save each, one transaction",
    10: f"join of {JOINED_USERS * POSTS_PER_USER:,} posts with their users",
    11: f"recursive CTE over a {NODES:,}-row hierarchy",
}


# --- running ----------------------------------------------------------------------------------


async def time_one(impl: Any, scenario: int, reset: Callable[[], Awaitable[None]]) -> float:
    if scenario in (1, 2, 8):
        await reset()
    data = await impl.prepare(scenario)
    run = getattr(impl, f"s{scenario}")
    cpu = time.process_time()
    start = time.perf_counter()
    await run(data)
    end = time.perf_counter()
    CPU.setdefault((scenario, impl.name), []).append(time.process_time() - cpu)
    return end - start


# (scenario, implementation) -> this process's CPU time per timed run (the client side's cost;
# unlike wall time, hardly moved by other work on a busy machine).
CPU: dict[tuple[int, str], list[float]] = {}


async def retained(impl: Any, runs: int = 3) -> float:
    """Median bytes the result of scenario 3 keeps alive (``tracemalloc``)."""
    samples = []
    for _ in range(runs):
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        result = await impl.s3(None)
        # Until this task next suspends, asyncio's running callback (the task's wakeup, holding
        # the driver's finished future) keeps the fetched records alive: let go of it first,
        # so that what is measured is what the result itself keeps.
        await asyncio.sleep(0)
        gc.collect()
        samples.append(tracemalloc.get_traced_memory()[0] - before)
        tracemalloc.stop()
        del result
    return statistics.median(samples)


MEMORY: dict[str, float] = {}


async def run_benchmark(dsn: str, repeats: int, only: list[int], profile: str | None,
                        memory: bool = True, without_sqlalchemy: bool = False
                        ) -> dict[int, dict[str, float]]:
    db = Bench(PgClient(dsn=dsn, min_size=1, max_size=10))
    await db.get_schema_manager().ensure_created()
    conn = await asyncpg.connect(dsn)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10)
    engine = create_async_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
                                 pool_size=10)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        await load_base_data(conn)
        impls: list[Any] = [Raw(conn), RawPool(pool), Linkgress(db)]
        if not without_sqlalchemy:
            impls.append(SQLAlchemy(sessions))

        async def reset() -> None:
            await conn.execute("TRUNCATE signups RESTART IDENTITY")

        if profile is not None:
            await profile_scenarios(next(i for i in impls if i.name == profile), only, reset)
            return {}
        results: dict[int, dict[str, float]] = {}
        for scenario in only:
            members = [i for i in impls if scenario in getattr(i, "scenarios", SCENARIOS)]
            for impl in members:  # warm-up: caches, prepared statements, pools
                await time_one(impl, scenario, reset)
            times: dict[str, list[float]] = {i.name: [] for i in members}
            for rep in range(repeats):
                order = members[rep % len(members):] + members[:rep % len(members)]
                for impl in order:
                    times[impl.name].append(await time_one(impl, scenario, reset))
            medians = {name: statistics.median(ts) for name, ts in times.items()}
            # Ratios are taken per repeat (same moment, same machine load), then the median.
            for name, ts in times.items():
                medians[f"{name}/asyncpg"] = statistics.median(
                    t / base for t, base in zip(ts, times["asyncpg"], strict=True))
            results[scenario] = medians
            print_row(scenario, medians, file=sys.stderr)
        if memory:
            MEMORY.update({i.name: await retained(i) for i in impls if i.name != "asyncpg (pool)"})
        return results
    finally:
        await conn.close()
        await pool.close()
        await engine.dispose()
        await db.dispose()


async def profile_scenarios(impl: Any, only: list[int],
                            reset: Callable[[], Awaitable[None]]) -> None:
    from pyinstrument import Profiler

    for scenario in only:
        await time_one(impl, scenario, reset)  # warm-up
        if scenario in (1, 2, 8):
            await reset()
        data = await impl.prepare(scenario)
        profiler = Profiler(async_mode="enabled")
        with profiler:
            await getattr(impl, f"s{scenario}")(data)
        print(f"\n=== {impl.name}, scenario {scenario}: {SCENARIOS[scenario]}")
        print(profiler.output_text(unicode=True, color=False, show_all=False))


def print_row(scenario: int, medians: dict[str, float], file: Any = sys.stdout) -> None:
    shown = ", ".join(f"{name} {ms(t)}" for name, t in medians.items() if "/" not in name)
    print(f"({scenario}) {SCENARIOS[scenario]}: {shown}", file=file)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def markdown(results: dict[int, dict[str, float]]) -> str:
    """Median times, and in parentheses the median of the per-repeat ratios to asyncpg."""
    names = ["asyncpg", "asyncpg (pool)", "linkgress", "SQLAlchemy ORM"]
    lines = ["| scenario | " + " | ".join(names) + " | SQLAlchemy / linkgress |",
             "|---" * (len(names) + 2) + "|"]
    for scenario, medians in results.items():
        cells = [f"{ms(medians[n])} ({medians[n + '/asyncpg']:.2f}x)" if n in medians else "—"
                 for n in names]
        cells[2] = f"**{cells[2]}**"
        speedup = medians.get("SQLAlchemy ORM", float("nan")) / medians["linkgress"]
        lines.append(f"| ({scenario}) {SCENARIOS[scenario]} | " + " | ".join(cells)
                     + f" | {speedup:.1f}x |")
    return "\n".join(lines)


def cpu_markdown(results: dict[int, dict[str, float]]) -> str:
    """This process's CPU time (median of the timed runs; the warm-up is left out)."""
    names = ["asyncpg", "linkgress", "SQLAlchemy ORM"]
    lines = ["| scenario (client CPU time) | " + " | ".join(names) + " |",
             "|---" * (len(names) + 1) + "|"]
    for scenario in results:
        base = statistics.median(CPU[scenario, "asyncpg"][1:])
        cells = []
        for name in names:
            times = CPU.get((scenario, name))
            cpu = None if times is None else statistics.median(times[1:])
            cells.append("—" if cpu is None else f"{ms(cpu)} ({cpu / base:.2f}x)")
        lines.append(f"| ({scenario}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def import_time(modules: list[str], runs: int = 5) -> float:
    """Median time (ms) to import ``modules`` in a fresh interpreter, from ``-X importtime``:
    the cumulative times of its top-level (not nested) entries for those modules."""
    names = "|".join(re.escape(m) for m in modules)
    pattern = re.compile(rf"^import time:\s+\d+ \|\s+(\d+) \| ({names})$", re.M)
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import " + ", ".join(modules)],
            capture_output=True, text=True, check=True).stderr
        samples.append(sum(int(m.group(1)) for m in pattern.finditer(out)) / 1000)
    return statistics.median(samples)


def import_times() -> str:
    rows = [
        ("`import linkgress` (includes asyncpg)", import_time(["linkgress"])),
        ("`import asyncpg`", import_time(["asyncpg"])),
        ("`import sqlalchemy.ext.asyncio, sqlalchemy.orm` (without asyncpg)",
         import_time(["sqlalchemy.ext.asyncio", "sqlalchemy.orm"])),
    ]
    return "\n".join(["| import | time |", "|---|---|"]
                     + [f"| {name} | {t:.0f} ms |" for name, t in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", type=int, nargs="*", default=list(SCENARIOS))
    parser.add_argument("--profile", choices=["asyncpg", "linkgress", "SQLAlchemy ORM"],
                        help="profile the scenarios of one implementation with pyinstrument")
    parser.add_argument("--no-import-time", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-sqlalchemy", action="store_true",
                        help="leave SQLAlchemy out (quicker runs for linkgress against asyncpg)")
    args = parser.parse_args()
    with postgres_server() as admin_dsn, temporary_database(admin_dsn) as dsn:
        results = asyncio.run(run_benchmark(dsn, args.repeats, args.only, args.profile,
                                            not args.no_memory, args.no_sqlalchemy))
    if args.profile:
        return
    print(f"Medians of {args.repeats} interleaved repeats; Python "
          f"{sys.version.split()[0]}, asyncpg {asyncpg.__version__}, "
          f"SQLAlchemy {__import__('sqlalchemy').__version__}, {os.cpu_count()} CPUs.\n")
    print(markdown(results))
    print()
    print(cpu_markdown(results))
    if MEMORY:
        print()
        print("| retained by 10,000 rows | MiB | / records |\n|---|---|---|")
        for name, size in MEMORY.items():
            print(f"| {name} | {size / 2**20:.1f} | {size / MEMORY['asyncpg']:.2f}x |")
    if not args.no_import_time:
        print()
        print(import_times())


if __name__ == "__main__":
    main()
