"""Dependency ordering of operations (pure)."""

from __future__ import annotations

from linkgress.schema.operations import Operation


def order_operations(operations: list[Operation]) -> list[Operation]:
    """Return ``operations`` in an order PostgreSQL accepts (stable within a phase)."""
    return list(operations)
