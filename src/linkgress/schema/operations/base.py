"""The base of every migration operation, and the label helper the ``describe()`` lines share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from linkgress.errors import IrreversibleOperation


def table_label(schema: str, table_name: str) -> str:
    return table_name if schema == "public" else f"{schema}.{table_name}"


@dataclass(frozen=True, kw_only=True)
class Operation:
    """Base of every operation."""

    type: ClassVar[str] = "operation"
    is_destructive: ClassVar[bool] = False

    def describe(self) -> str:
        """One human line, as the seed prints it in the pending-migrations list."""
        raise NotImplementedError

    def reverse(self) -> Operation:
        """The operation that undoes this one."""
        raise IrreversibleOperation(f"{self.describe()} cannot be reversed")

    def __str__(self) -> str:
        return self.describe()

