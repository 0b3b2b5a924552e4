"""One service start in a rolling deploy: ``python -m tests.integration.rolling_worker DSN
V1|V2|V3 [yes|ask]`` runs ``migrate()`` and prints one JSON line: the operations applied, or
the error's class name and message."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from linkgress import LinkgressError, PgClient
from tests.integration.rolling_models import MODELS


async def main(dsn: str, version: str, consent: str) -> int:
    db = MODELS[version](PgClient(dsn=dsn))
    try:
        applied = await db.get_schema_manager(prompt_timeout=60).migrate(
            allow_destructive=consent == "yes")
    except LinkgressError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}), flush=True)
        return 1
    finally:
        await db.dispose()
    print(json.dumps({"applied": [op.describe() for op in applied]}), flush=True)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3
                              else "ask")))
