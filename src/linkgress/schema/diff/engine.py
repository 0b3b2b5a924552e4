"""Drives the per-kind differs (filled in as they land)."""

from __future__ import annotations

from linkgress.schema.operations import Operation
from linkgress.schema.snapshot import Schema


def run_diff(current: Schema, target: Schema, *, managed: Schema | None,
             manage_all: bool) -> tuple[list[Operation], list[str]]:
    """Unordered operations and notes for ``current`` -> ``target``."""
    raise NotImplementedError("the differ is being written (issue 4, part B)")
