"""Operations on views and materialized views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from linkgress.errors import IrreversibleOperation
from linkgress.schema.operations.base import Operation, table_label
from linkgress.schema.snapshot import View


def _view_kind(view: View) -> str:
    return "materialized view" if view.materialized else "view"


@dataclass(frozen=True, kw_only=True)
class CreateView(Operation):
    """``CREATE VIEW`` / ``CREATE MATERIALIZED VIEW`` (with its data); ``replace`` makes it
    ``CREATE OR REPLACE VIEW`` (a plain view whose new columns extend the old ones)."""

    type: ClassVar[str] = "create_view"
    view: View
    replace: bool = False

    def describe(self) -> str:
        verb = "Replace" if self.replace else "Create"
        return f"{verb} {_view_kind(self.view)} '{table_label(*self.view.key)}'"

    def reverse(self) -> Operation:
        if self.replace:
            raise IrreversibleOperation(f"{self.describe()} cannot be reversed: the previous "
                                        "query is not known")
        return DropView(view=self.view)


@dataclass(frozen=True, kw_only=True)
class DropView(Operation):
    """``DROP VIEW`` / ``DROP MATERIALIZED VIEW`` (``cascade`` only from ``ensure_deleted()``,
    which reports what it takes along). A view holds no data of its own (a materialized
    view's rows are computed again), so this is not destructive."""

    type: ClassVar[str] = "drop_view"
    view: View
    cascade: bool = False

    def describe(self) -> str:
        return f"Drop {_view_kind(self.view)} '{table_label(*self.view.key)}'"

    def reverse(self) -> Operation:
        return CreateView(view=self.view)
