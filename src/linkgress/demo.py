"""``linkgress demo``: the whole loop on a real database in a few seconds.

Creates the example schema, inserts a few rows, changes the model, shows ``analyze()``'s plan
and migrates — then shows the rows survived. It works in its own database, ``linkgress_demo``,
created when missing and left in place for you to inspect; a rerun starts by removing only the
objects the demo's model manages there.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TextIO

from linkgress.client import PgClient, create_database, dsn_with_database
from linkgress.context import DbContext
from linkgress.model.entity import Entity, column
from linkgress.model.fluent import DbModelConfig
from linkgress.model.types import text, timestamptz, varchar

DEMO_DATABASE = "linkgress_demo"


class PostStatus(enum.Enum):
    """Where a post is in its life."""

    DRAFT = "draft"
    PUBLISHED = "published"


class User(Entity):
    """A user (version 1 of the model)."""

    id: int
    username: str = column(varchar(100))
    email: str = column(text(), unique=True)
    created_at: datetime = column(timestamptz(), default_sql="now()")


class Post(Entity):
    """A post (version 1 of the model)."""

    id: int
    title: str = column(varchar(200))
    user_id: int = column(references=User, on_delete="cascade", index=True)
    views: int = column(default=0)


class DemoDatabase(DbContext):
    """Version 1: users and posts."""

    users = DbContext.table(User)
    posts = DbContext.table(Post)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(User).has_many("posts", Post).with_foreign_key("user_id")
        model.entity(Post).has_one("user", User).with_foreign_key("user_id")


class UserV2(Entity):
    """Version 2: users get an optional phone number."""

    id: int
    username: str = column(varchar(100))
    email: str = column(text(), unique=True)
    phone_number: str | None = column(varchar(20))
    created_at: datetime = column(timestamptz(), default_sql="now()")


class PostV2(Entity):
    """Version 2: posts get a status enum; the title may be longer."""

    id: int
    title: str = column(varchar(300))
    user_id: int = column(references=UserV2, on_delete="cascade", index=True)
    views: int = column(default=0)
    status: PostStatus = column(default=PostStatus.DRAFT)


class DemoDatabaseV2(DbContext):
    """Version 2 of the demo model, over the same tables."""

    users = DbContext.table(UserV2)
    posts = DbContext.table(PostV2)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(PostV2).has_index("ix_posts_status", "status")
        model.entity(UserV2).has_many("posts", PostV2).with_foreign_key("user_id")


async def run_demo(dsn: str, out: TextIO) -> None:
    """Run the demo against the server of ``dsn`` (an admin DSN), writing to ``out``."""
    async with PgClient(dsn=dsn, min_size=0, max_size=1) as admin:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1",
                                      DEMO_DATABASE)
    if not exists:
        await create_database(dsn, DEMO_DATABASE)
    demo_dsn = dsn_with_database(dsn, DEMO_DATABASE)

    async with DemoDatabaseV2(PgClient(dsn=demo_dsn)) as cleanup:
        # only the demo's own objects
        await cleanup.get_schema_manager(quiet=True).ensure_deleted()

    async with DemoDatabase(PgClient(dsn=demo_dsn)) as db:
        created = await db.get_schema_manager(quiet=True).ensure_created()
        out.write(f"1. ensure_created() on database {DEMO_DATABASE!r}:\n")
        out.writelines(f"   {i}. {op.describe()}\n" for i, op in enumerate(created, 1))
        alice = await db.users.insert(User(username="alice", email="alice@example.com"))
        bob = await db.users.insert(User(username="bob", email="bob@example.com"))
        await db.posts.insert_many([Post(title=f"Post {i}", user_id=alice.id, views=i * 10)
                                    for i in range(1, 4)] + [Post(title="Hi", user_id=bob.id)])
        out.write("\n2. Inserted 2 users and 4 posts.\n")

    async with DemoDatabaseV2(PgClient(dsn=demo_dsn)) as db2:
        manager = db2.get_schema_manager(quiet=True)
        plan = await manager.analyze()
        out.write("\n3. The model changed; analyze() plans:\n")
        out.writelines(f"   {i}. {op.describe()}\n" for i, op in enumerate(plan, 1))
        applied = await manager.migrate()
        out.write(f"\n4. migrate() applied {len(applied)} operation(s) in one transaction; "
                  f"analyze() now plans {len(await manager.analyze())}.\n")
        rows = await (db2.users.order_by(lambda u: u.username)
                      .select(lambda u: {"name": u.username, "posts": u.posts.count()})
                      .to_list())
        out.write("\n5. The data survived (one query, no N+1):\n")
        out.writelines(f"   {r['name']}: {r['posts']} post(s)\n" for r in rows)
        top = await (db2.posts.where(lambda p: p.views > 10)
                     .order_by(lambda p: p.views, descending=True).to_list())
        out.write("\n6. Posts with more than 10 views: "
                  + ", ".join(f"{p.title} ({p.views}, {p.status.value})" for p in top) + "\n")
