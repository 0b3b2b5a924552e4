"""The base of every migration operation, and the label helper the ``describe()`` lines share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from linkgress.errors import IrreversibleOperation
from linkgress.schema.hazards import DEFAULT_CONTEXT, HazardContext, hazards_of


def table_label(schema: str, table_name: str) -> str:
    """``table`` in ``public``, else ``schema.table`` (as the seed prints names)."""
    return table_name if schema == "public" else f"{schema}.{table_name}"


@dataclass(frozen=True, kw_only=True)
class Operation:
    """Base of every operation.

    ``hazard_context`` (set by the planner: the server's version, the tables the plan creates)
    is what :attr:`hazards` is derived with; it takes no part in comparisons.
    """

    type: ClassVar[str] = "operation"
    is_destructive: ClassVar[bool] = False
    hazard_context: HazardContext = field(default=DEFAULT_CONTEXT, compare=False, repr=False)

    @property
    def hazards(self) -> tuple[str, ...]:
        """What applying it does to live traffic and rows: codes from ``rewrites_table``,
        ``scans_table``, ``blocks_reads``, ``blocks_writes``, ``data_dependent``,
        ``destructive`` (see :mod:`linkgress.schema.hazards`)."""
        return hazards_of(self, self.hazard_context)

    def describe(self) -> str:
        """One human line, as the seed prints it in the pending-migrations list."""
        raise NotImplementedError

    def reverse(self) -> Operation:
        """The operation that undoes this one."""
        raise IrreversibleOperation(f"{self.describe()} cannot be reversed")

    def __str__(self) -> str:
        return self.describe()

