"""The state of one ``migrate()`` call (:class:`MigrationRun`: its options, what was consented
to and logged) and what one locked transaction of it did (:class:`MigrationPass`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from linkgress.errors import MigrationError
from linkgress.schema.confirm import destructive
from linkgress.schema.contract import split_destructive
from linkgress.schema.diff.views import is_rebuild
from linkgress.schema.operations import CreateIndex, Operation

if TYPE_CHECKING:
    from linkgress.schema.confirm import Confirm
    from linkgress.schema.planning import Planned
    from linkgress.schema.snapshot import Schema

__all__ = ["MigrationPass", "MigrationRun"]


@dataclass
class MigrationPass:
    """What one locked transaction of ``migrate()`` did."""

    applied: list[Operation] = field(default_factory=list)
    deferred: list[CreateIndex] = field(default_factory=list)
    plan_again: bool = False
    superseded: Planned | None = None
    run_online: bool = False  # steps of migrate(online=True) are recorded, to run now


@dataclass
class MigrationRun:
    """One ``migrate()`` call: its options, what was consented to and what was logged."""

    allow_destructive: bool
    confirm: Confirm | None
    manage_all: bool
    consented: set[str] = field(default_factory=set)
    shown: list[str] | None = None  # the plan logged last
    normalized: Schema | None = None  # the model's normalisation, reused under the lock
    mode: str = "all"  # "all", "expand" (defer_destructive=True) or "contract"
    online: bool = False

    def shape(self, plan: Sequence[Operation]) -> tuple[list[Operation], list[Operation]]:
        """(the operations to apply, the destructive ones deferred) for this mode."""
        if self.mode == "expand":
            return split_destructive(plan)
        if self.mode == "contract":
            pending = [op for op in plan
                       if not op.is_destructive and not is_rebuild(op, list(plan))]
            if pending:
                raise MigrationError(
                    f"contract() applies only deferred destructive operations, and "
                    f"{len(pending)} other operation(s) are pending (first: "
                    f"'{pending[0].describe()}'): run migrate() first; nothing was changed")
        return list(plan), []

    def needs_consent(self, operations: Sequence[Operation]) -> bool:
        """Whether ``operations`` hold a destructive one not consented to yet."""
        fresh = {op.describe() for op in destructive(operations)} - self.consented
        return bool(fresh) and not self.allow_destructive
