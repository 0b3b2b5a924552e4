"""The pure half of comparing constant defaults by value (issue 10, bug 7)."""

from __future__ import annotations

from linkgress import double_precision, integer, text
from linkgress.schema.introspect.constants import (
    Candidate,
    candidates,
    same_by_table,
    with_defaults,
)
from linkgress.schema.snapshot import Column, Schema, Table


def _schema(*columns: Column) -> Schema:
    return Schema(schemas=("public",), tables=(Table(schema="public", name="t",
                                                      columns=columns),))


def test_only_defaults_printed_differently_on_the_same_type_are_candidates() -> None:
    current = _schema(Column(name="a", type=double_precision(), default="'5.2'::double precision"),
                      Column(name="b", type=integer(), default="2"),
                      Column(name="c", type=integer(), default="(1 + 1)"),
                      Column(name="d", type=text(), default="'x'::text"),
                      Column(name="e", type=integer()))
    target = _schema(Column(name="a", type=double_precision(), default="5.2"),
                     Column(name="b", type=integer(), default="2"),
                     Column(name="c", type=double_precision(), default="2"),
                     Column(name="d", type=text(), default=None),
                     Column(name="e", type=integer(), default="1"))
    assert candidates(current, target) == [Candidate(
        ("public", "t", "a"), "double precision", "'5.2'::double precision", "5.2")]


def test_a_renamed_column_is_compared_with_its_old_name() -> None:
    current = _schema(Column(name="old", type=integer(), default="(1 + 1)"))
    target = _schema(Column(name="new", type=integer(), default="2", renamed_from="old"))
    assert [c.key for c in candidates(current, target)] == [("public", "t", "new")]


def test_the_transaction_timestamp_spellings_are_one_function() -> None:
    def pair(old: str, new: str) -> Candidate:
        return Candidate(("public", "t", "a"), "timestamp with time zone", old, new)
    assert same_by_table(pair("now()", "CURRENT_TIMESTAMP"))
    assert same_by_table(pair("transaction_timestamp()", "now()"))
    assert not same_by_table(pair("now()", "clock_timestamp()"))
    assert not same_by_table(pair("now()", "statement_timestamp()"))


def test_equal_defaults_take_the_database_printing_and_nothing_else_changes() -> None:
    target = _schema(Column(name="a", type=integer(), default="2"),
                     Column(name="b", type=integer(), default="3"))
    got = with_defaults(target, {("public", "t", "a"): "(1 + 1)"})
    assert [c.default for c in got.tables[0].columns] == ["(1 + 1)", "3"]
    assert with_defaults(target, {}) is target
