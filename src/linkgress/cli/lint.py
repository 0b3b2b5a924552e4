"""``linkgress db lint``: exit 1 when the pending plan has a hazard the project does not allow.

The policy is ``[tool.linkgress] allow_hazards = [...]`` plus each ``--allow-hazard CODE``; the
codes are those of :mod:`linkgress.schema.hazards`. Every operation with a hazard outside the
policy is printed with those hazards; exit 0 when there is none (an empty plan included).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from .commands import Env


async def db_lint(env: Env) -> int:
    """Exit 1 (listing them) when a pending operation has a hazard not allowed, else 0."""
    from linkgress.schema.hazards import unallowed

    from .config import hazard_codes

    allowed = {*env.project.allow_hazards,
               *hazard_codes(env.args.allow_hazard or [], "--allow-hazard")}
    async with env.open() as db:
        operations = await env.manager(db, quiet=True).analyze()
    offending = unallowed(operations, allowed)
    if not offending:
        policy = ", ".join(sorted(allowed)) or "none"
        env.out.ok(f"Lint passed: {len(operations)} pending operation(s), no hazard outside "
                   f"the allowed ones ({policy})")
        return 0
    env.out.line(f"Lint failed: {len(offending)} operation(s) with hazards not allowed", "red")
    for op, codes in offending:
        env.out.line(f"  - {op.describe()}: {', '.join(codes)}")
    return 1


def add_lint_command(group: argparse._SubParsersAction[argparse.ArgumentParser],
                     leaf: Callable[..., argparse.ArgumentParser],
                     ) -> None:
    """Register ``db lint`` (``leaf`` is the CLI's subcommand factory)."""
    command: Callable[[Env], Coroutine[None, None, int]] = db_lint
    lint = leaf(group, "lint", command,
                "exit 1 when the pending plan has a hazard not allowed by [tool.linkgress] "
                "allow_hazards")
    lint.add_argument("--allow-hazard", metavar="CODE", action="append",
                      help="also allow this hazard (repeatable): rewrites_table, scans_table, "
                           "blocks_reads, blocks_writes, data_dependent, destructive")
