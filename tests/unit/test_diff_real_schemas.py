"""Pure parts of issue 10's fixes: notes, serial columns, deferrable foreign keys."""

from __future__ import annotations

from linkgress.schema.diff import diff
from linkgress.schema.snapshot import Schema


def test_introspection_notes_are_part_of_the_result_without_internal_markers() -> None:
    current = Schema(notes=("index 'ix' on t has INCLUDE columns", "linkgress:model-sha256=ab"))
    result = diff(current, Schema())
    assert result.notes == ["index 'ix' on t has INCLUDE columns"]
