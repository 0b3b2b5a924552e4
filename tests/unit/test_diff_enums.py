"""Enums: create, add labels at the right position, recreate, drop (managed only)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from linkgress.model.types import array, enum_type, text
from linkgress.schema import operations as ops
from linkgress.schema.ddl import render
from linkgress.schema.diff.enum_dependents import mentions_type
from linkgress.schema.snapshot import CheckConstraint, EnumType, Index, Schema
from tests.unit.test_diff_support import col, db, notes_of, ops_of, table, with_columns

MOOD = EnumType(schema="public", name="mood", values=("happy", "ok", "sad"))
PEOPLE = table("people", col("mood", enum_type("mood"), nullable=False,
                             default="'ok'::mood"),
               col("moods", array(enum_type("mood"))))


def _with(*values: str, default: str = "'ok'::mood") -> Schema:
    people = replace(PEOPLE, columns=tuple(
        replace(c, default=default) if c.name == "mood" else c for c in PEOPLE.columns))
    return db(people, enums=(replace(MOOD, values=values),))


def test_no_change_and_create() -> None:
    assert ops_of(db(PEOPLE, enums=(MOOD,)), db(PEOPLE, enums=(MOOD,))) == []
    assert ops_of(db(), db(enums=(MOOD,))) == [ops.CreateEnum.of(MOOD)]


ADDED: list[tuple[tuple[str, ...], list[tuple[str, str | None, str | None]]]] = [
    # target labels, [(value, before, after)] for current ("happy", "ok", "sad")
    (("happy", "ok", "sad", "angry"), [("angry", None, "sad")]),
    (("calm", "happy", "ok", "sad"), [("calm", "happy", None)]),
    (("happy", "meh", "ok", "sad"), [("meh", None, "happy")]),
    (("a", "b", "happy", "ok", "x", "y", "sad"),
     [("a", "happy", None), ("b", None, "a"), ("x", None, "ok"), ("y", None, "x")]),
]


@pytest.mark.parametrize(("values", "expected"), ADDED)
def test_added_labels_keep_their_position(
        values: tuple[str, ...], expected: list[tuple[str, str | None, str | None]]) -> None:
    got = ops_of(_with(*MOOD.values), _with(*values))
    assert got == [ops.AddEnumValue(enum_name="mood", value=v, before=b, after=a)
                   for v, b, a in expected]
    assert not any(op.is_destructive for op in got)


def _uses(default: str | None = "'ok'::mood") -> tuple[ops.EnumColumnUse, ...]:
    return (ops.EnumColumnUse(schema="public", table_name="people", column_name="mood",
                              default=default),
            ops.EnumColumnUse(schema="public", table_name="people", column_name="moods",
                              dims=1))


def test_a_removed_label_recreates_the_type_destructively() -> None:
    got = ops_of(_with(*MOOD.values), _with("happy", "ok"))
    assert got == [ops.RecreateEnum(enum_name="mood", old_values=MOOD.values,
                                    values=("happy", "ok"), columns=_uses())]
    assert got[0].is_destructive
    assert got[0].describe() == "Recreate enum 'mood' ('happy', 'ok'), removing 'sad'"


def test_reordered_labels_recreate_the_type_without_loss() -> None:
    [op] = ops_of(_with(*MOOD.values), _with("sad", "ok", "happy"))
    assert isinstance(op, ops.RecreateEnum) and not op.is_destructive


def test_a_new_label_used_as_default_is_still_added_in_place() -> None:
    # Recreating would rewrite every table using the type; migrate() commits the label first.
    got = ops_of(_with(*MOOD.values), _with(*MOOD.values, "meh", default="'meh'::mood"))
    assert [op.type for op in got] == ["add_enum_value", "alter_column"]


def test_recreate_renders_conversion_of_every_column() -> None:
    [op] = ops_of(_with(*MOOD.values), _with("happy", "ok"))
    assert render(op) == [
        'ALTER TYPE "public"."mood" RENAME TO "mood__linkgress_old"',
        """CREATE TYPE "public"."mood" AS ENUM ('happy', 'ok')""",
        'ALTER TABLE "public"."people" ALTER COLUMN "mood" DROP DEFAULT',
        'ALTER TABLE "public"."people" ALTER COLUMN "mood" TYPE "public"."mood" '
        'USING "mood"::text::"public"."mood"',
        """ALTER TABLE "public"."people" ALTER COLUMN "mood" SET DEFAULT 'ok'::mood""",
        'ALTER TABLE "public"."people" ALTER COLUMN "moods" TYPE "public"."mood"[] '
        'USING "moods"::text[]::"public"."mood"[]',
        'DROP TYPE "public"."mood__linkgress_old"']
    assert op.reverse().reverse() == op


def test_recreate_skips_columns_that_are_dropped() -> None:
    current = _with(*MOOD.values)
    people = replace(PEOPLE, columns=PEOPLE.columns[:2])
    target = db(people, enums=(replace(MOOD, values=("happy", "ok")),))
    got = ops_of(current, target, managed=current)
    recreate = next(op for op in got if isinstance(op, ops.RecreateEnum))
    assert recreate.columns == _uses()[:1]
    assert [op.type for op in got] == ["drop_column", "recreate_enum"]


def test_removed_enum_is_dropped_only_when_managed() -> None:
    other = EnumType(schema="public", name="postgis_thing", values=("a",))
    current, target = db(enums=(MOOD, other)), db(enums=(MOOD,))
    assert ops_of(current, target) == []
    assert notes_of(current, target) == ["unmanaged enum 'public.postgis_thing' left alone"]
    assert ops_of(current, target, managed=current) == [
        ops.DropEnum(enum_name="postgis_thing", values=("a",))]


def test_dropped_enum_goes_after_the_column_that_used_it() -> None:
    current = db(with_columns(table("t"), col("m", enum_type("mood"))), enums=(MOOD,))
    target = db(with_columns(table("t"), col("m", text())))
    got = ops_of(current, target, managed=current)
    assert [op.type for op in got] == ["alter_column", "drop_enum"]


# -- checks and indexes around a recreate ------------------------------------------------------


@pytest.mark.parametrize(("expression", "found"), [
    ("(status <> 'done'::mood)", True), ("(status <> 'done'::app.mood)", True),
    ("""(status <> 'done'::"Odd"."mood")""", True), ("(x::mood_log)", False),
    ("(status <> 'done'::text)", False), ("(mood > 3)", False),
])
def test_mentions_type(expression: str, found: bool) -> None:
    assert mentions_type(expression, ["mood"]) is found


CK = CheckConstraint(name="ck_mood", expression="(mood <> 'happy'::mood)")
PARTIAL = Index(name="ix_happy", columns=("id",), where="(mood = 'happy'::mood)")
PLAIN = Index(name="ix_mood", columns=("mood",))
LOWER = Index(name="ix_moods", columns=("(moods[1])",))


def _people_with(*values: str, **kw: object) -> Schema:
    base = _with(*values)
    return replace(base, tables=(replace(base.tables[0], **kw),))  # type: ignore[arg-type]


def test_checks_and_expression_indexes_step_aside_while_the_enum_is_recreated() -> None:
    parts = {"checks": (CK,), "indexes": (PLAIN, PARTIAL, LOWER)}
    got = ops_of(_people_with(*MOOD.values, **parts), _people_with("happy", "ok", **parts))
    assert [op.type for op in got] == [
        "drop_index", "drop_index", "drop_check_constraint", "recreate_enum",
        "create_check_constraint", "create_index", "create_index"]
    assert {op.index.name for op in got if isinstance(op, ops.DropIndex)} == {
        "ix_happy", "ix_moods"}


def test_a_check_the_target_replaces_is_not_rebuilt_twice() -> None:
    new_check = replace(CK, expression="(mood <> 'ok'::mood)")
    got = ops_of(_people_with(*MOOD.values, checks=(CK,)),
                 _people_with("happy", "ok", checks=(new_check,)))
    assert got == [
        ops.DropCheckConstraint(table_name="people", check=CK), got[1],
        ops.CreateCheckConstraint(table_name="people", check=new_check)]


def test_an_unmanaged_check_is_put_back_unchanged_with_a_note() -> None:
    current = _people_with(*MOOD.values, checks=(CK,))
    target = _with("happy", "ok")
    got = ops_of(current, target)
    assert got[0] == ops.DropCheckConstraint(table_name="people", check=CK)
    assert got[-1] == ops.CreateCheckConstraint(table_name="people", check=CK)
    assert notes_of(current, target) == [
        "unmanaged check constraint 'public.people.ck_mood' left alone",
        "unmanaged check constraint 'public.people.ck_mood' dropped and re-created unchanged "
        "around an enum's recreation"]
