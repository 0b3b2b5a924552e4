"""docs/mutations.md runs as written: its first code block defines the model, the others run in
order inside one async function with ``db`` open on a fresh database."""

from __future__ import annotations

import re
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

from linkgress import PgClient

DOC = Path(__file__).resolve().parents[2] / "docs" / "mutations.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


async def test_mutations_doc_examples_run(linkgress_database: str) -> None:
    model, *steps = _blocks()
    assert len(steps) >= 10
    module = types.ModuleType("linkgress_mutations_doc")
    sys.modules[module.__name__] = module  # so the entities' annotations resolve
    namespace: dict[str, Any] = module.__dict__
    exec(compile(model, str(DOC), "exec"), namespace)
    body = "".join(textwrap.indent(step, "    ") for step in steps)
    exec(compile(f"async def _doc_main(db):\n{body}", str(DOC), "exec"), namespace)
    db = namespace["Blog"](PgClient(dsn=linkgress_database))
    try:
        await db.get_schema_manager().ensure_created()
        await namespace["_doc_main"](db)
    finally:
        await db.dispose()
        del sys.modules[module.__name__]
