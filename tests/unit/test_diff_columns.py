"""Columns: add, drop (managed only), alter, lossy detection, renames."""

from __future__ import annotations

from dataclasses import replace

import pytest

from linkgress.model.types import (
    ColumnType,
    array,
    bigint,
    boolean,
    char,
    date,
    double_precision,
    enum_type,
    integer,
    json,
    jsonb,
    numeric,
    real,
    smallint,
    text,
    timestamp,
    timestamptz,
    varchar,
)
from linkgress.schema import operations as ops
from linkgress.schema.ddl import render_all
from linkgress.schema.diff.casts import is_lossy, using_expression
from linkgress.schema.snapshot import Column, ForeignKey, Index, UniqueConstraint
from tests.unit.test_diff_support import ID, col, db, notes_of, ops_of, table, with_columns

NAME = col("name", varchar(50), nullable=False)
USERS = table("users", NAME)


def test_no_change_gives_no_operations() -> None:
    assert ops_of(db(USERS), db(USERS)) == []
    assert ops_of(db(USERS), db(USERS), managed=db(USERS), manage_all=True) == []


def test_added_column() -> None:
    phone = col("phone", varchar(20))
    assert ops_of(db(USERS), db(with_columns(USERS, phone))) == [
        ops.AddColumn(table_name="users", column=phone)]


def test_not_null_column_without_default_is_added_with_a_warning_note() -> None:
    score = col("score", integer(), nullable=False)
    notes = notes_of(db(USERS), db(with_columns(USERS, score)))
    assert notes == ["column 'public.users.score' is added NOT NULL without a default: "
                     "this fails if the table already has rows"]


def test_removed_column_is_dropped_only_when_managed() -> None:
    old = col("legacy", integer())
    current = db(with_columns(USERS, old))
    assert ops_of(current, db(USERS)) == []
    assert notes_of(current, db(USERS)) == ["unmanaged column 'public.users.legacy' left alone"]
    dropped = [ops.DropColumn(table_name="users", column=old)]
    assert ops_of(current, db(USERS), managed=current) == dropped
    assert ops_of(current, db(USERS), manage_all=True) == dropped
    # Managed means recorded: a record of the table without that column does not count.
    assert ops_of(current, db(USERS), managed=db(USERS)) == []


ALTERS: list[tuple[str, Column, Column, str | None, bool]] = [
    # (id, old, new, using, lossy)
    ("widen varchar", col("c", varchar(10)), col("c", varchar(20)), None, False),
    ("narrow varchar", col("c", varchar(20)), col("c", varchar(10)), None, True),
    ("varchar to text", col("c", varchar(20)), col("c", text()), None, False),
    ("text to varchar(n)", col("c", text()), col("c", varchar(20)), None, True),
    ("int to bigint", col("c", integer()), col("c", bigint()), None, False),
    ("bigint to int", col("c", bigint()), col("c", integer()), None, True),
    ("float to int", col("c", double_precision()), col("c", integer()), None, True),
    ("numeric scale down", col("c", numeric(10, 2)), col("c", numeric(10, 1)), None, True),
    ("numeric widen", col("c", numeric(10, 2)), col("c", numeric(12, 2)), None, False),
    ("enum to text", col("c", enum_type("mood")), col("c", text()),
     '"c"::text::text', False),
    ("text to enum", col("c", text()), col("c", enum_type("mood")),
     '"c"::text::"public"."mood"', True),
    ("set not null", col("c"), col("c", nullable=False), None, False),
    ("drop not null", col("c", nullable=False), col("c"), None, False),
    ("set default", col("c"), col("c", default="'x'::text"), None, False),
    ("drop default", col("c", default="'x'::text"), col("c"), None, False),
    ("add identity", col("c", integer(), nullable=False),
     col("c", integer(), nullable=False, identity="always"), None, False),
    ("drop identity", col("c", integer(), nullable=False, identity="by default"),
     col("c", integer(), nullable=False), None, False),
    ("comment", col("c"), col("c", comment="hello"), None, False),
]


@pytest.mark.parametrize(("old", "new", "using", "lossy"), [a[1:] for a in ALTERS],
                         ids=[a[0] for a in ALTERS])
def test_alter_column(old: Column, new: Column, using: str | None, lossy: bool) -> None:
    got = ops_of(db(with_columns(USERS, old)), db(with_columns(USERS, new)))
    assert got == [ops.AlterColumn(table_name="users", old=old, new=new, using=using,
                                   lossy=lossy)]
    assert got[0].is_destructive is lossy


LOSSY: list[tuple[ColumnType, ColumnType, bool]] = [
    (varchar(10), varchar(), False), (varchar(), varchar(10), True),
    (char(5), char(3), True), (char(3), char(5), False), (char(3), text(), False),
    (varchar(10), char(10), True), (text(), varchar(), False),
    (smallint(), integer(), False), (integer(), smallint(), True),
    (integer(), numeric(), False), (integer(), numeric(12, 2), False),
    (integer(), numeric(8, 0), True), (bigint(), numeric(12, 0), True),
    (numeric(), numeric(10, 2), True), (numeric(10, 2), numeric(), False),
    (numeric(10, 2), numeric(11, 3), False), (numeric(10, 2), numeric(10, 3), True),
    (integer(), real(), True), (smallint(), real(), False),
    (integer(), double_precision(), False), (bigint(), double_precision(), True),
    (real(), double_precision(), False), (double_precision(), real(), True),
    (real(), integer(), True), (integer(), text(), True), (boolean(), integer(), True),
    (timestamp(), timestamptz(), True), (date(), timestamp(), False),
    (timestamp(), date(), True), (json(), jsonb(), True), (jsonb(), json(), True),
    (integer(), array(integer()), True), (array(varchar(5)), array(varchar(9)), False),
    (array(varchar(9)), array(varchar(5)), True), (enum_type("a"), enum_type("b"), True),
    (enum_type("a"), varchar(), False), (enum_type("a"), varchar(3), True),
]


@pytest.mark.parametrize(("old", "new", "lossy"), LOSSY, ids=lambda v: getattr(v, "sql", v))
def test_lossy_detection(old: ColumnType, new: ColumnType, lossy: bool) -> None:
    assert is_lossy(old, new) is lossy


def test_enum_casts_go_through_text_and_keep_array_dimensions() -> None:
    mood = enum_type("mood", schema="app")
    assert using_expression("c", array(mood), array(text())) == '"c"::text[]::text[]'
    assert using_expression("c", text(), mood) == '"c"::text::"app"."mood"'
    assert using_expression("c", integer(), bigint()) is None


def test_alter_column_renders_the_using_cast() -> None:
    old, new = col("c", enum_type("mood")), col("c", text())
    [op] = ops_of(db(with_columns(USERS, old)), db(with_columns(USERS, new)))
    assert render_all([op]) == [
        'ALTER TABLE "public"."users" ALTER COLUMN "c" TYPE text USING "c"::text::text']


def test_a_comment_written_by_someone_else_is_kept_unless_managed() -> None:
    commented = col("c", comment="from the DBA")
    current, target = db(with_columns(USERS, commented)), db(with_columns(USERS, col("c")))
    assert ops_of(current, target) == []
    cleared = [ops.AlterColumn(table_name="users", old=commented, new=col("c"))]
    assert ops_of(current, target, managed=current) == cleared
    assert ops_of(current, target, manage_all=True) == cleared


def test_rename_hint_renames_instead_of_drop_and_add() -> None:
    old = col("fullname", varchar(50))
    new = col("display_name", varchar(80), renamed_from="fullname")
    got = ops_of(db(with_columns(USERS, old)), db(with_columns(USERS, new)))
    renamed = replace(old, name="display_name")
    assert got == [
        ops.RenameColumn(table_name="users", column_name="fullname", new_name="display_name"),
        ops.AlterColumn(table_name="users", old=renamed, new=new)]
    assert not any(op.is_destructive for op in got)


def test_rename_hint_is_ignored_once_applied_or_when_the_old_column_is_gone() -> None:
    new = col("display_name", varchar(50), renamed_from="fullname")
    target = db(with_columns(USERS, new))
    assert ops_of(db(with_columns(USERS, replace(new, renamed_from=None))), target) == []
    assert ops_of(db(USERS), target) == [ops.AddColumn(table_name="users", column=new)]


def test_rename_carries_keys_indexes_and_references_along() -> None:
    code = col("code", varchar(10), nullable=False)
    users = replace(with_columns(USERS, code),
                    uniques=(UniqueConstraint(name="users_code_key", columns=("code",)),),
                    indexes=(Index(name="ix_users_code", columns=("code", "id")),))
    fk = ForeignKey(name="orders_code_fkey", columns=("user_code",), ref_schema="public",
                    ref_table="users", ref_columns=("code",))
    orders = table("orders", col("user_code", varchar(10)), foreign_keys=(fk,))
    sku = replace(code, name="sku", renamed_from="code")
    target_users = replace(
        users, columns=(ID, NAME, sku),
        uniques=(UniqueConstraint(name="users_code_key", columns=("sku",)),),
        indexes=(Index(name="ix_users_code", columns=("sku", "id")),))
    target_orders = replace(orders, foreign_keys=(replace(fk, ref_columns=("sku",)),))
    got = ops_of(db(users, orders), db(target_users, target_orders))
    assert got == [ops.RenameColumn(table_name="users", column_name="code", new_name="sku")]


def test_one_removed_and_one_added_column_of_a_type_suggests_the_hint() -> None:
    old, new = col("fullname", varchar(50)), col("display_name", varchar(50))
    current, target = db(with_columns(USERS, old)), db(with_columns(USERS, new))
    result_ops = ops_of(current, target, managed=current)
    assert result_ops == [ops.DropColumn(table_name="users", column=old),
                          ops.AddColumn(table_name="users", column=new)]
    assert result_ops[0].is_destructive
    assert notes_of(current, target, managed=current) == [
        "table 'public.users': column 'fullname' is removed and 'display_name' added with the "
        "same type; if it was renamed, declare column(renamed_from='fullname') on "
        "'display_name' to keep its data"]


def test_no_rename_suggestion_for_different_types() -> None:
    current = db(with_columns(USERS, col("a", integer())))
    target = db(with_columns(USERS, col("b", text())))
    assert not any("renamed_from" in n for n in notes_of(current, target, managed=current))


def test_setting_not_null_is_not_destructive_but_noted() -> None:
    current, target = db(with_columns(USERS, col("c"))), db(with_columns(USERS, col(
        "c", nullable=False)))
    [op] = ops_of(current, target)
    assert not op.is_destructive
    assert notes_of(current, target) == [
        "column 'public.users.c' becomes NOT NULL: this fails if it holds NULLs"]
