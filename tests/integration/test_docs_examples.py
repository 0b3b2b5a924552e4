"""The docs run as written: a page's first code block defines the model, the others run in order
inside one async function with ``db`` open on a fresh database."""

from __future__ import annotations

import re
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

from linkgress import PgClient

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize(("page", "min_steps"), [("querying.md", 8), ("mutations.md", 10),
                                                    ("json-arrays.md", 6), ("joins.md", 8)])
async def test_doc_examples_run(page: str, min_steps: int, routed_database: str) -> None:
    path = DOCS / page
    model, *steps = _blocks(path)
    assert len(steps) >= min_steps
    module = types.ModuleType(f"linkgress_doc_{path.stem}")
    sys.modules[module.__name__] = module  # so the entities' annotations resolve
    namespace: dict[str, Any] = module.__dict__
    exec(compile(model, str(path), "exec"), namespace)
    body = "".join(textwrap.indent(step, "    ") for step in steps)
    exec(compile(f"async def _doc_main(db):\n{body}", str(path), "exec"), namespace)
    db = namespace["Blog"](PgClient(dsn=routed_database))
    try:
        await db.get_schema_manager().ensure_created()
        await namespace["_doc_main"](db)
    finally:
        await db.dispose()
        del sys.modules[module.__name__]
