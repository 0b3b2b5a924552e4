"""docs/concurrency.md runs as written: its first code block defines the model (the context
``Shop``), the others run in order inside one async function with ``db`` open on a fresh
database — workers running concurrently on separate connections included."""

from __future__ import annotations

import asyncio
import re
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

from linkgress import PgClient

PAGE = Path(__file__).resolve().parents[2] / "docs" / "concurrency.md"


async def test_concurrency_page_runs(routed_database: str) -> None:
    model, *steps = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"),
                               flags=re.S)
    assert len(steps) >= 3
    module = types.ModuleType("linkgress_doc_concurrency")
    sys.modules[module.__name__] = module  # so the entities' annotations resolve
    namespace: dict[str, Any] = module.__dict__
    exec(compile(model, str(PAGE), "exec"), namespace)
    body = "".join(textwrap.indent(step, "    ") for step in steps)
    exec(compile(f"async def _doc_main(db):\n{body}", str(PAGE), "exec"), namespace)
    db = namespace["Shop"](PgClient(dsn=routed_database))
    try:
        await db.get_schema_manager().ensure_created()
        await asyncio.wait_for(namespace["_doc_main"](db), 60)
    finally:
        await db.dispose()
        del sys.modules[module.__name__]
