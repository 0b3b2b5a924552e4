"""The online form of a plan (``migrate(online=True)``): golden SQL for what runs in the
transaction and the steps after it, what stays as it is, and the pending record's JSON (no
database)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from linkgress.errors import MigrationError
from linkgress.model.types import integer, text
from linkgress.schema import operations as ops
from linkgress.schema.ddl import render
from linkgress.schema.hazards import in_context
from linkgress.schema.online import (
    OnlineForm,
    OnlineStep,
    not_null_check_name,
    online_plan,
    touched_tables,
)
from linkgress.schema.online_steps import wanted
from linkgress.schema.snapshot import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Schema,
    Table,
    UniqueConstraint,
)

EMAIL = Column(name="email", type=text())
FK = ForeignKey(name="fk_orders_user", columns=("user_id",), ref_schema="public",
                ref_table="users", ref_columns=("id",))
CREATE_INDEX = ops.CreateIndex(table_name="users", index=Index(name="ix_users_email",
                                                               columns=("email",)))
ADD_FK = ops.CreateForeignKey(table_name="orders", foreign_key=FK)
ADD_CHECK = ops.CreateCheckConstraint(
    table_name="users", check=CheckConstraint(name="ck_email", expression="email <> ''"))
SET_NOT_NULL = ops.AlterColumn(table_name="users", old=EMAIL, new=replace(EMAIL, nullable=False))
ADD_UNIQUE = ops.CreateUniqueConstraint(
    table_name="users", unique=UniqueConstraint(name="uq_users_email", columns=("email",)))


def test_each_form_in_the_transaction_and_after_the_commit() -> None:
    plan = online_plan([CREATE_INDEX, ADD_FK, ADD_CHECK, SET_NOT_NULL, ADD_UNIQUE])
    assert [sql for op in plan.in_transaction for sql in render(op)] == [
        'ALTER TABLE "public"."orders" ADD CONSTRAINT "fk_orders_user" FOREIGN KEY ("user_id") '
        'REFERENCES "public"."users" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION NOT VALID',
        'ALTER TABLE "public"."users" ADD CONSTRAINT "ck_email" CHECK (email <> \'\') '
        "NOT VALID",
        'ALTER TABLE "public"."users" ADD CONSTRAINT "email__linkgress_nn" CHECK '
        '("email" IS NOT NULL) NOT VALID',
    ]
    assert [(s.kind, s.table_name, s.name, s.column, s.sql) for s in plan.after_commit] == [
        ("index", "users", "ix_users_email", None,
         'CREATE INDEX CONCURRENTLY IF NOT EXISTS "ix_users_email" ON "public"."users" '
         'USING btree ("email")'),
        ("validate", "orders", "fk_orders_user", None, None),
        ("validate", "users", "ck_email", None, None),
        ("not_null", "users", "email__linkgress_nn", "email", None),
        ("unique", "users", "uq_users_email", None,
         'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "uq_users_email" ON "public"."users" '
         'USING btree ("email")'),
    ]
    assert all(isinstance(op, OnlineForm) for op in plan.in_transaction)
    assert plan.in_transaction[0].describe() == f"{ADD_FK.describe()} (online)"


def test_not_null_keeps_the_other_changes_of_the_column_in_the_transaction() -> None:
    op = replace(SET_NOT_NULL, new=replace(SET_NOT_NULL.new, default="'x'"))
    (form,) = online_plan([op]).in_transaction
    assert render(form) == [
        'ALTER TABLE "public"."users" ALTER COLUMN "email" SET DEFAULT \'x\'',
        'ALTER TABLE "public"."users" ADD CONSTRAINT "email__linkgress_nn" CHECK '
        '("email" IS NOT NULL) NOT VALID',
    ]


def test_what_stays_in_the_transaction() -> None:
    new_table = ops.CreateTable(table=Table(schema="public", name="users", columns=(EMAIL,)))
    as_is = [new_table, CREATE_INDEX, ADD_CHECK, SET_NOT_NULL, ADD_UNIQUE]
    assert online_plan(as_is).in_transaction == as_is  # a table the plan creates
    existing = [ADD_FK, ADD_UNIQUE]
    assert online_plan(existing, offline_tables=[("public", "orders"), ("public", "users")]
                       ).in_transaction == existing  # partitioned tables, partitions
    identity = ops.AlterColumn(table_name="users", old=Column(name="id", type=integer()),
                               new=Column(name="id", type=integer(), nullable=False,
                                          identity="always"))
    assert online_plan([identity]).in_transaction == [identity]
    key = replace(ADD_UNIQUE, unique=UniqueConstraint(name="uq_users_id", columns=("id",)))
    plan = online_plan([key, ADD_FK])  # the foreign key needs the unique key at once
    assert plan.in_transaction[0] == key
    assert [s.kind for s in plan.after_commit] == ["validate"]


def test_other_operations_pass_through() -> None:
    add = ops.AddColumn(table_name="users", column=EMAIL)
    drop = ops.DropIndex(table_name="users", index=CREATE_INDEX.index)
    assert online_plan([drop, add]).in_transaction == [drop, add]
    assert touched_tables([drop, add, ADD_FK, CREATE_INDEX]) == [("public", "orders"),
                                                                 ("public", "users")]


@pytest.mark.parametrize("column", ["email", "x" * 63, "é" * 40])
def test_the_temporary_check_name_fits_an_identifier(column: str) -> None:
    name = not_null_check_name(column)
    assert len(name.encode()) <= 63 and name.endswith("__linkgress_nn")
    assert name != not_null_check_name(column[:-1] + "y")


def test_steps_round_trip_through_json() -> None:
    steps = online_plan([CREATE_INDEX, SET_NOT_NULL]).after_commit
    assert [OnlineStep.from_json(s.to_json()) for s in steps] == steps


@pytest.mark.parametrize("value", [{"kind": "explode", "schema": "public", "table": "t",
                                    "name": "n"}, {"kind": "index"}, "nonsense"])
def test_an_unreadable_pending_step_is_a_clear_error(value: object) -> None:
    with pytest.raises(MigrationError, match="pending online step linkgress cannot read"):
        OnlineStep.from_json(value)


def test_which_steps_a_model_still_wants() -> None:
    users = Table(schema="public", name="users", columns=(replace(EMAIL, nullable=False),),
                  indexes=(CREATE_INDEX.index,), uniques=(ADD_UNIQUE.unique,),
                  checks=(ADD_CHECK.check,))
    orders = Table(schema="public", name="orders", columns=(), foreign_keys=(FK,))
    steps = online_plan([CREATE_INDEX, ADD_FK, ADD_CHECK, SET_NOT_NULL, ADD_UNIQUE]).after_commit
    assert [wanted(s, Schema(tables=(users, orders))) for s in steps] == [True] * 5
    bare = Table(schema="public", name="users", columns=(EMAIL,))
    assert [wanted(s, Schema(tables=(bare,))) for s in steps] == [False] * 5


def test_a_form_keeps_the_hazard_context_its_operation_was_planned_with() -> None:
    planned = in_context([ADD_CHECK, SET_NOT_NULL], server_version=12)
    forms = online_plan(planned).in_transaction
    assert [form.hazard_context for form in forms] == [op.hazard_context for op in planned]
    assert forms[0].hazard_context.server_version == 12
