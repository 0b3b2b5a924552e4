"""Primary keys, unique and check constraints, indexes and foreign keys."""

from __future__ import annotations

from dataclasses import replace

import pytest

from linkgress.model.types import bigint, integer, varchar
from linkgress.schema import operations as ops
from linkgress.schema.snapshot import (
    CheckConstraint,
    ForeignKey,
    Index,
    PrimaryKey,
    Table,
    UniqueConstraint,
)
from tests.unit.test_diff_support import col, db, notes_of, ops_of, table

UQ = UniqueConstraint(name="users_email_key", columns=("email",))
CK = CheckConstraint(name="users_email_check", expression="(email <> ''::text)")
IX = Index(name="ix_users_email", columns=("email",))
USERS = table("users", col("email", nullable=False), col("team", integer()),
              uniques=(UQ,), checks=(CK,), indexes=(IX,))
FK = ForeignKey(name="users_team_fkey", columns=("team",), ref_schema="public",
                ref_table="teams", ref_columns=("id",))
TEAMS = table("teams")


def _t(**kw: object) -> Table:
    return replace(USERS, **kw)  # type: ignore[arg-type]


# (id, part, current definition, target definition, expected op types)
CHANGES: list[tuple[str, Table, Table, list[str]]] = [
    ("unique added", _t(uniques=()), USERS, ["create_unique_constraint"]),
    ("unique changed", _t(uniques=(replace(UQ, columns=("email", "id")),)), USERS,
     ["drop_unique_constraint", "create_unique_constraint"]),
    ("unique nulls not distinct", _t(uniques=(replace(UQ, nulls_not_distinct=True),)), USERS,
     ["drop_unique_constraint", "create_unique_constraint"]),
    ("check added", _t(checks=()), USERS, ["create_check_constraint"]),
    ("check changed", _t(checks=(replace(CK, expression="(length(email) > 3)"),)), USERS,
     ["drop_check_constraint", "create_check_constraint"]),
    ("index added", _t(indexes=()), USERS, ["create_index"]),
    ("index unique", _t(indexes=(replace(IX, unique=True),)), USERS,
     ["drop_index", "create_index"]),
    ("index method", _t(indexes=(replace(IX, method="hash"),)), USERS,
     ["drop_index", "create_index"]),
    ("index predicate", _t(indexes=(replace(IX, where="(team IS NOT NULL)"),)), USERS,
     ["drop_index", "create_index"]),
    ("index columns", _t(indexes=(replace(IX, columns=("(lower(email))",)),)), USERS,
     ["drop_index", "create_index"]),
    ("pk added", _t(primary_key=None), USERS, ["add_primary_key"]),
    ("pk columns", _t(primary_key=PrimaryKey(name="users_pkey", columns=("id", "email"))),
     USERS, ["drop_primary_key", "add_primary_key"]),
    ("fk added", USERS, _t(foreign_keys=(FK,)), ["create_foreign_key"]),
    ("fk action", _t(foreign_keys=(FK,)), _t(foreign_keys=(replace(FK, on_delete="CASCADE"),)),
     ["drop_foreign_key", "create_foreign_key"]),
    ("fk target", _t(foreign_keys=(FK,)),
     _t(foreign_keys=(replace(FK, ref_table="groups"),)),
     ["drop_foreign_key", "create_foreign_key"]),
]


@pytest.mark.parametrize(("current", "target", "types"), [c[1:] for c in CHANGES],
                         ids=[c[0] for c in CHANGES])
def test_changes(current: Table, target: Table, types: list[str]) -> None:
    got = ops_of(db(current, TEAMS), db(target, TEAMS))
    assert [op.type for op in got] == types
    assert got[-1] == _creating(target, got[-1])
    if len(got) == 2:  # the drop carries the old definition: its reverse restores it
        assert got[0].reverse() == _creating(current, got[0].reverse())


def _creating(target: Table, op: ops.Operation) -> ops.Operation:
    items = {"create_unique_constraint": ("unique", target.uniques),
             "create_check_constraint": ("check", target.checks),
             "create_index": ("index", target.indexes),
             "add_primary_key": ("primary_key", (target.primary_key,)),
             "create_foreign_key": ("foreign_key", target.foreign_keys)}
    field, values = items[op.type]
    return type(op)(schema="public", table_name="users", **{field: values[0]})


REMOVED: list[tuple[str, Table, str]] = [
    ("unique", _t(uniques=()), "unique constraint 'public.users.users_email_key'"),
    ("check", _t(checks=()), "check constraint 'public.users.users_email_check'"),
    ("index", _t(indexes=()), "index 'public.users.ix_users_email'"),
    ("pk", _t(primary_key=None), "primary key 'public.users.users_pkey'"),
]


@pytest.mark.parametrize(("target", "what"), [r[1:] for r in REMOVED],
                         ids=[r[0] for r in REMOVED])
def test_removed_parts_are_dropped_only_when_managed(target: Table, what: str) -> None:
    current = db(USERS)
    assert ops_of(current, db(target)) == []
    assert notes_of(current, db(target)) == [f"unmanaged {what} left alone"]
    [drop] = ops_of(current, db(target), managed=current)
    assert drop.type.startswith("drop_")
    assert ops_of(current, db(target), manage_all=True) == [drop]


def test_removed_foreign_key_is_dropped_only_when_managed() -> None:
    current = db(_t(foreign_keys=(FK,)), TEAMS)
    assert ops_of(current, db(USERS, TEAMS)) == []
    assert ops_of(current, db(USERS, TEAMS), managed=current) == [
        ops.DropForeignKey(table_name="users", foreign_key=FK)]


def test_unmanaged_dba_index_on_an_adopted_table_survives() -> None:
    dba = Index(name="ix_dba_slow_query", columns=("team", "email"))
    current = db(_t(indexes=(IX, dba)))
    assert ops_of(current, db(USERS), managed=db(USERS)) == []
    assert notes_of(current, db(USERS), managed=db(USERS)) == [
        "unmanaged index 'public.users.ix_dba_slow_query' left alone"]


def test_concurrent_index_replacement_drops_without_concurrently() -> None:
    current = db(_t(indexes=(replace(IX, concurrently=True, method="hash"),)))
    target = db(_t(indexes=(replace(IX, concurrently=True),)))
    drop, create = ops_of(current, target)
    assert isinstance(drop, ops.DropIndex) and not drop.index.concurrently
    assert isinstance(create, ops.CreateIndex) and create.index.concurrently


# -- foreign keys around column type changes and key replacement ------------------------------

REF = ForeignKey(name="orders_user_id_fkey", columns=("user_id",), ref_schema="public",
                 ref_table="users", ref_columns=("id",))
ORDERS = table("orders", col("user_id", integer()), foreign_keys=(REF,))
PLAIN_USERS = table("users", col("name"))


def _bigint_id(t: Table) -> Table:
    return replace(t, columns=tuple(replace(c, type=bigint()) if c.name == "id" else c
                                    for c in t.columns))


def test_retyping_a_referenced_column_drops_and_recreates_the_foreign_key() -> None:
    current = db(PLAIN_USERS, ORDERS)
    target = db(_bigint_id(PLAIN_USERS), ORDERS)
    got = ops_of(current, target)
    assert [op.type for op in got] == ["drop_foreign_key", "alter_column",
                                       "create_foreign_key"]
    assert got[0] == ops.DropForeignKey(table_name="orders", foreign_key=REF)
    assert got[2] == ops.CreateForeignKey(table_name="orders", foreign_key=REF)


def test_retyping_a_referencing_column_drops_and_recreates_the_foreign_key() -> None:
    orders = replace(ORDERS, columns=(ORDERS.columns[0], col("user_id", bigint())))
    got = ops_of(db(PLAIN_USERS, ORDERS), db(PLAIN_USERS, orders))
    assert [op.type for op in got] == ["drop_foreign_key", "alter_column",
                                       "create_foreign_key"]


def test_a_changed_foreign_key_on_a_retyped_column_is_not_handled_twice() -> None:
    orders = replace(ORDERS, columns=(ORDERS.columns[0], col("user_id", bigint())),
                     foreign_keys=(replace(REF, on_delete="CASCADE"),))
    got = ops_of(db(PLAIN_USERS, ORDERS), db(PLAIN_USERS, orders))
    assert [op.type for op in got] == ["drop_foreign_key", "alter_column",
                                       "create_foreign_key"]


def test_replacing_a_referenced_primary_key_rebuilds_the_foreign_key() -> None:
    users = replace(PLAIN_USERS, primary_key=PrimaryKey(name="users_pk", columns=("id",)))
    got = ops_of(db(PLAIN_USERS, ORDERS), db(users, ORDERS))
    assert [op.type for op in got] == ["drop_foreign_key", "drop_primary_key",
                                       "add_primary_key", "create_foreign_key"]


def test_an_unmanaged_foreign_key_is_put_back_unchanged_with_a_note() -> None:
    current = db(PLAIN_USERS, ORDERS)
    target = db(_bigint_id(PLAIN_USERS))
    got = ops_of(current, target)
    assert got[0] == ops.DropForeignKey(table_name="orders", foreign_key=REF)
    assert got[-1] == ops.CreateForeignKey(table_name="orders", foreign_key=REF)
    assert "unmanaged foreign key 'public.orders.orders_user_id_fkey' dropped and " \
           "re-created unchanged around a change of the columns it involves" in \
           notes_of(current, target)


def test_an_unrelated_type_change_leaves_foreign_keys_alone() -> None:
    users = replace(PLAIN_USERS, columns=(PLAIN_USERS.columns[0], col("name", varchar(9))))
    got = ops_of(db(PLAIN_USERS, ORDERS), db(users, ORDERS))
    assert [op.type for op in got] == ["alter_column"]
