"""``linkgress db pull``: write the model of an existing database (Prisma's ``db pull``,
Django's ``inspectdb``). Needs a database, not a context: it is how a project starts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .config import UsageError

if TYPE_CHECKING:
    from .commands import Env


async def db_pull(env: Env) -> int:
    """Read the database's schemas and print (or write) the model module describing them."""
    from linkgress.client import PgClient
    from linkgress.dsn import parse_dsn
    from linkgress.schema.introspect import introspect
    from linkgress.schema.pull import render_model

    args = env.args
    target = Path(args.output) if args.output else None
    if target is not None and target.exists() and not args.force:
        raise UsageError(f"{target} exists; pass --force to overwrite it")
    if not args.class_name.isidentifier():
        raise UsageError(f"--class-name {args.class_name!r} is not a Python identifier")
    schemas = args.schema or ["public"]
    client = PgClient(dsn=env.dsn(), min_size=0, max_size=4)
    try:
        schema = await introspect(client, schemas, exclude=args.exclude or ())
    finally:
        await client.close()
    if not schema.tables and not schema.enums:
        env.out.err.write(f"linkgress: no tables or enums in schema(s) {', '.join(schemas)}\n")
        return 1
    source = render_model(schema, context=args.class_name, default_schema=schemas[0],
                          source=f"database {parse_dsn(env.dsn()).database or '?'}")
    if target is None:
        env.out.out.write(source)
        return 0
    target.write_text(source, encoding="utf-8")
    env.out.line(f"Wrote {target}: {len(schema.tables)} table(s), {len(schema.enums)} enum(s), "
                 f"{len(schema.notes)} note(s)")
    return 0
